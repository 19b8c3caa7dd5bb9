"""Calibration goldens, ``ureason calibrate`` and the ``--calibrate`` gate."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from pytest_ureason.cli.main import main
from pytest_ureason.judge.judges import JudgeConfig, Judges
from pytest_ureason.results.calibration import (
    DEFAULT_GOLDENS,
    CalibrationError,
    calibrate,
    format_table,
    load_goldens,
)

GOLDENS = load_goldens()


def test_goldens_cover_every_assertion_type() -> None:
    kinds = Counter(name for g in GOLDENS for name, _, _ in g.checks)
    assert sum(kinds.values()) >= 500
    for kind in ("count", "present", "absent", "color", "relation", "text", "vqa", "clip"):
        assert kinds[kind] >= 20, kind
    expected = Counter(exp for g in GOLDENS for _, _, exp in g.checks)
    assert expected[False] >= 0.3 * sum(expected.values())  # false passes are measured too
    perturbations = {g.meta["perturbation"] for g in GOLDENS}
    assert perturbations == {"none", "noise", "blur", "jpeg", "scale", "gradient"}
    assert {g.meta["renderer"] for g in GOLDENS} == {"grid", "scatter", "text"}
    assert len({g.meta.get("font") for g in GOLDENS if g.meta["renderer"] == "text"}) >= 4
    size = sum(p.stat().st_size for p in DEFAULT_GOLDENS.rglob("*") if p.is_file())
    assert size < 6_000_000


def test_classical_is_exact_on_clean_renders() -> None:
    clean = [
        g for g in GOLDENS if g.meta["perturbation"] == "none" and g.meta["renderer"] != "text"
    ]
    result = calibrate(Judges(JudgeConfig("classical")), clean, ("count", "color", "relation"))
    rows = {r["assertion"]: r for r in result["rows"]}
    assert set(rows) == {"count", "color", "relation"}
    for row in rows.values():
        assert row["accuracy"][0] == 1.0 and row["checks"] > 20
        assert row["accuracy"][1] < 1.0  # a Wilson interval, not a point


def _mini(tmp_path: Path, n: int, corrupt: str | None = None) -> Path:
    """A goldens folder with the first ``n`` object images of the shipped set."""
    lines = (DEFAULT_GOLDENS / "manifest.jsonl").read_text().splitlines()
    rows = [json.loads(ln) for ln in lines if '"renderer": "text"' not in ln][:n]
    (tmp_path / "images").mkdir(parents=True)
    for row in rows:
        shutil.copy(DEFAULT_GOLDENS / row["image"], tmp_path / row["image"])
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    if corrupt is not None:
        text += corrupt + "\n"
    (tmp_path / "manifest.jsonl").write_text(text)
    return tmp_path


def test_malformed_manifest_names_file_line_and_field(tmp_path: Path) -> None:
    folder = _mini(tmp_path, 2, '{"id": "x", "image": "../etc/passwd", "checks": []}')
    with pytest.raises(CalibrationError, match=r"manifest.jsonl:3: field image"):
        load_goldens(folder)
    bad = (
        '{"id": "x", "image": "images/a.png", "checks": [{"assertion": "count", '
        '"params": {"object": "unicorn", "value": 1}, "expected": true}]}'
    )
    (tmp_path / "manifest.jsonl").write_text(bad + "\n")
    with pytest.raises(CalibrationError, match=r":1: checks.0.params: .*unknown object"):
        load_goldens(tmp_path)
    with pytest.raises(CalibrationError, match="cannot read"):
        load_goldens(tmp_path / "nowhere")


def test_cli_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cal.json"
    code = main(["calibrate", "--detector", "classical", "--limit", "12", "--type", "count",
                 "--type", "absent", "--judge", "reference", "--type", "vqa",
                 "--json", str(out)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "detector classical (--detector classical); 12 images" in text
    assert "false pass %" in text and "vqa:reference" in text
    rows = json.loads(out.read_text())["rows"]
    assert {r["assertion"] for r in rows} == {"count", "absent", "vqa"}
    assert all(r["ms_per_image"] > 0 for r in rows)
    assert main(["calibrate", "--goldens", str(tmp_path / "none")]) == 2
    assert "cannot read the goldens manifest" in capsys.readouterr().err


def test_tiny_open_vocabulary_detector_calibrates(tmp_path: Path) -> None:
    """Wiring only: random weights give meaningless accuracy, but every check is run."""
    pytest.importorskip("transformers")
    from pytest_ureason.judge.detect.tiny import save_detector

    weights = save_detector("owlv2", tmp_path / "owlv2")
    judges = Judges(JudgeConfig("auto", detector_path=str(weights), device="cpu"))
    result = calibrate(judges, GOLDENS[:3], ("count", "present", "color"))
    assert {r["judge"] for r in result["rows"]} == {"owlv2"}
    assert sum(r["checks"] for r in result["rows"]) == sum(
        1 for g in GOLDENS[:3] for n, _, _ in g.checks if n in ("count", "present", "color")
    )
    assert any("owlv2" in line for line in format_table(result))


def test_calibrate_gate_refuses_a_run_below_the_floor(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    goldens = _mini(tmp_path / "g", 6)
    # Mislabel one count check: the classical detector now disagrees with it, once.
    lines = (goldens / "manifest.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["checks"][0]["expected"] = not first["checks"][0]["expected"]
    lines[0] = json.dumps(first)
    (goldens / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    pytester.mkdir("suites")

    def run(floor: str) -> pytest.RunResult:
        pytester.makeini(
            f"[pytest]\nureason_store = .store\nureason_accuracy_floor = {floor}\n"
            f"ureason_calibration_goldens = {goldens}\n"
        )
        return pytester.runpytest(
            "suites", "--model", "reference", "--detector", "classical", "--calibrate",
            "-p", "no:cacheprovider",
        )  # fmt: skip

    run("1.01").stderr.fnmatch_lines(["*ureason_accuracy_floor must be between 0 and 1*"])
    refused = run("0.99")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(
        ["*--calibrate: judges below the accuracy floor 99%*count by classical: accuracy 9*"]
    )
    assert "present by classical" not in refused.stderr.str()  # only the types below it
    assert run("0.9").ret == pytest.ExitCode.NO_TESTS_COLLECTED  # calibrated, then ran
    cached = list((pytester.path / ".store" / "calibration").glob("*.json"))
    assert len(cached) == 1  # later runs reused the first measurement
    # Under xdist the controller calibrates on the CPU (the workers own the GPUs): another key.
    pytester.makeini(
        f"[pytest]\nureason_store = .store\nureason_accuracy_floor = 0.9\n"
        f"ureason_calibration_goldens = {goldens}\n"
    )
    distributed = pytester.runpytest_subprocess(
        "suites", "--model", "reference", "--detector", "classical", "--calibrate",
        "-p", "no:cacheprovider", "-p", "xdist", "-n", "1",
    )  # fmt: skip
    assert distributed.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    keys = {p.name for p in (pytester.path / ".store" / "calibration").glob("*.json")}
    assert len(keys) == 2 and cached[0].name in keys


def test_cached_calibration_is_keyed_by_clip_weights_content(tmp_path: Path) -> None:
    """A CLIP checkpoint replaced in place (same name and size) invalidates a cached
    calibration."""
    from pytest_ureason.results.calibration import cache_key

    ckpt = tmp_path / "clip.pt"
    ckpt.write_bytes(b"\x01" * 100)

    def key(path: Path) -> str:
        return cache_key(Judges(JudgeConfig("classical", clip_weights=str(path))), DEFAULT_GOLDENS)

    first = key(ckpt)
    ckpt.write_bytes(b"\x02" * 100)
    assert key(ckpt) != first
    assert key(ckpt) == key(ckpt)
