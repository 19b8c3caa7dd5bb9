"""One store shared by many hosts: real processes write the same keys at once while another
reads them; every read must see a complete, valid record (pytest_ureason.run.store's atomic
writes)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PIL import Image
    from pytest_ureason.run.store import Store, StoredEvidence

    root, me, rounds, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    store = Store(root)
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    # A large, noisy image per writer: its PNG takes many write() calls.
    image = Image.effect_noise((256, 256), 40 + me).convert("RGB")
    text = f"writer {me} " * 20_000
    for n in range(rounds):
        for k in range(3):
            key = f"{k:02d}" + "ab" * 31
            store.put_image(key, image, {"writer": me, "round": n, "pad": "x" * 50_000})
            store.put_text(key, text, {"writer": me, "round": n})
            boxes = {"writer": me, "boxes": [[me] * 4] * 5000}
            StoredEvidence(store, key).save("classical-v1", boxes)
    """
)

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from PIL import Image

    root, stop = Path(sys.argv[1]), Path(sys.argv[2])
    reads, bad = 0, []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        last = stop.exists()  # one more full pass after the writers have finished
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue  # the writers' temporary files are never a record
            try:
                if path.suffix == ".png":
                    with Image.open(path) as im:
                        im.load()
                        assert im.size == (256, 256), im.size
                else:
                    record = json.loads(path.read_bytes())
                    assert isinstance(record["writer"], int), record
                    if "text" in record:
                        assert record["text"] == f"writer {record['writer']} " * 20_000
                    if "boxes" in record:
                        assert len(record["boxes"]) == 5000
                    if "pad" in record:
                        assert len(record["pad"]) == 50_000
                reads += 1
            except FileNotFoundError:
                pass  # not yet written
            except Exception as exc:
                bad.append(f"{path.name}: {type(exc).__name__}: {exc}"[:300])
        if last:
            break
    print(json.dumps({"reads": reads, "bad": bad[:20], "nbad": len(bad)}))
    """
)


def test_concurrent_writers_of_the_same_keys_never_expose_a_partial_record(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    go, stop = tmp_path / "go", tmp_path / "stop"
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "reader.py").write_text(READER)
    python = sys.executable
    reader = subprocess.Popen(
        [python, str(tmp_path / "reader.py"), str(root), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    writers = [
        subprocess.Popen([python, str(tmp_path / "writer.py"), str(root), str(i), "3", str(go)])
        for i in range(4)
    ]
    try:
        time.sleep(0.5)  # let the interpreters start, then release them together
        go.touch()
        codes = [w.wait(timeout=120) for w in writers]
        stop.touch()
        out, _ = reader.communicate(timeout=120)
    finally:
        procs: list[subprocess.Popen[Any]] = [*writers, reader]
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert codes == [0, 0, 0, 0]
    seen = json.loads(out)
    assert seen["nbad"] == 0, seen["bad"]
    assert seen["reads"] > 0, seen
    # Nothing half-written is left behind, and each key holds one writer's complete record.
    assert not [p for p in root.rglob(".*") if p.is_file()]
    images = sorted(root.glob("images/*/*.png"))
    texts = sorted(root.glob("texts/*/*.json"))
    evidence = sorted(root.glob("evidence/*/*.json"))
    assert len(images) == len(texts) == len(evidence) == 3
    for path in texts:
        record = json.loads(path.read_text())
        assert record["round"] == 2 and record["text"] == f"writer {record['writer']} " * 20_000
