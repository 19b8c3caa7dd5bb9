"""One GPU per xdist worker: ``pytest --model janus-pro`` on one GPU against two, same instances.

Saves a Janus-Pro-shaped checkpoint (the real 1B configuration, random weights: speed does not
depend on weight values) in the Hugging Face layout, then runs the plugin as a user would, in a
subprocess, loading from ``--model-path``:

1. a warm-up run on a small suite (fills the compile cache, so neither timed run pays the full
   ``torch.compile`` cost alone);
2. ``-p xdist -n 1 --gpus A`` on the suite;
3. ``-p xdist -n 2 --gpus A,B`` on the same suite, each worker pinned to its own GPU by the plugin.

Each timed run gets a fresh store, so every image is generated. It prints wall time, images/s
and the ratio.

    python benchmarks/janus_gpus.py --size 1b --images 512 --batch 64 --gpus 0,1   # 2 GPUs
    python benchmarks/janus_gpus.py --size tiny --images 8 --batch 4 --gpus 0,1    # CPU smoke
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def save_checkpoint(size: str, folder: Path) -> Path:
    """Build the model on the first GPU (or CPU) and save it with its processor."""
    import torch
    from janus_throughput import build  # the same model the single-GPU benchmark builds

    cuda = torch.cuda.is_available()
    model, processor = build(size, "cuda:0" if cuda else "cpu", "bfloat16" if cuda else "float32")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    del model
    return folder


def write_suite(folder: Path, count: int, seed: int) -> Path:
    path = folder / "suites" / "bench.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"suite: bench/arithmetic\nversion: 1\ntask: arithmetic\ninstances:\n"
        f"  - {{generator: arithmetic, count: {count}, seed: {seed}}}\n"
    )
    return path.parent


def run_pytest(
    suites: Path, checkpoint: Path, gpus: str, workers: int, batch: int, out: Path, extra: list[str]
) -> dict[str, float]:
    summary = out / "summary.json"
    args = [
        sys.executable, "-m", "pytest", str(suites),
        "-p", "xdist", "-n", str(workers), f"--gpus={gpus}",
        "--model", "janus-pro", f"--model-path={checkpoint}", "--condition", "direct",
        "--detector", "classical",  # random weights: judging is not what is compared
        "--batch-size", str(batch), f"--store={out / 'store'}", f"--ureason-json={summary}",
        "-q", "--tb=no", "-p", "no:cacheprovider", f"--rootdir={suites.parent}", *extra,
    ]  # fmt: skip
    if "ureason" not in {ep.name for ep in entry_points(group="pytest11")}:
        args += ["-p", "pytest_ureason.plugin"]  # a source tree: load the plugin by module
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=suites.parent)
    wall = time.perf_counter() - start
    (out / "log.txt").write_text(proc.stdout + proc.stderr)
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-4:])[-1500:]
    print(f"  exit {proc.returncode}, {wall:.1f} s\n{tail}", flush=True)
    data = json.loads(summary.read_text()) if summary.exists() else {}
    t = data.get("throughput", {})
    return {"wall": wall, "images": float(t.get("images", 0)), "gen": t.get("generate_seconds", 0)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1b", choices=["1b", "tiny"])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--gpus", default="0,1")
    ap.add_argument("--work", default="/tmp/janus_gpus")
    ap.add_argument("--model-arg", action="append", default=[])
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    extra = [f"--model-arg={a}" for a in args.model_arg]
    first, *_ = args.gpus.split(",")

    t0 = time.perf_counter()
    checkpoint = save_checkpoint(args.size, work / "checkpoint")
    print(f"checkpoint saved in {time.perf_counter() - t0:.1f} s", flush=True)
    runs = {}
    warm = write_suite(work / "warm", 2 * args.batch, 3)
    print("warm-up, both GPUs (fills the compile cache):", flush=True)
    run_pytest(warm, checkpoint, args.gpus, 2, args.batch, work / "warm", extra)
    suites = write_suite(work / "timed", args.images, 7)
    for name, gpus, workers in (
        ("1 GPU", first, 1),
        (f"{args.gpus.count(',') + 1} GPUs", args.gpus, args.gpus.count(",") + 1),
    ):
        out = work / name.replace(" ", "")
        out.mkdir(exist_ok=True)
        print(f"{name}: -n {workers} --gpus {gpus}", flush=True)
        runs[name] = run_pytest(suites, checkpoint, gpus, workers, args.batch, out, extra)
    base = next(iter(runs.values()))
    print("\n| run | wall s | images | images/s (wall) | vs 1 GPU |\n|---|---|---|---|---|")
    for name, r in runs.items():
        rate = r["images"] / r["wall"] if r["wall"] else 0.0
        ratio = base["wall"] / r["wall"] if r["wall"] else 0.0
        print(f"| {name} | {r['wall']:.1f} | {r['images']:.0f} | {rate:.2f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
