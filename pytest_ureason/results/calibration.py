"""Calibration: how often each judge gives the right verdict on images with ground truth.

The goldens (``goldens/calibration/``, made by its ``generate.py``) are images with labelled
checks: an assertion and the verdict a correct judge gives. :func:`calibrate` runs every check
whose judge is configured (object assertions: the detector; ``text``: OCR; ``vqa``: the
``--judge`` model; ``clip``: CLIP when it has weights) and reports per assertion type and
judge the accuracy, the false-pass rate (checks built to fail that passed) and the false-fail
rate (checks built to pass that failed), each with a 95% Wilson interval, and the judge's
latency per image. ``pytest --calibrate`` uses it as a gate (:func:`gate_run`); results are
cached by judge version and manifest content.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_ureason.judge.assertions import (
    AssertionSpec,
    Observation,
    evaluate,
    get_assertion,
    object_labels,
)
from pytest_ureason.judge.detect import (
    OBJECT_DETECTORS,
    OCR_BACKENDS,
    DetectorUnavailable,
    detector_version,
)
from pytest_ureason.judge.judges import JudgeConfig, Judges, shared

DEFAULT_GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "calibration"
OBJECT_TYPES = ("count", "present", "absent", "color", "relation")


class CalibrationError(ValueError):
    """The goldens are missing or malformed (the message names the file and line)."""


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assertion: str
    params: dict[str, Any]
    expected: bool


class _Golden(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    image: str = Field(pattern=r"^images/[A-Za-z0-9._-]+$")
    checks: list[_Check]


@dataclass(frozen=True)
class Golden:
    """One golden image and its validated checks (assertion name, params, expected)."""

    id: str
    path: Path
    checks: tuple[tuple[str, Any, bool], ...]
    meta: dict[str, str] = field(default_factory=dict)


def load_goldens(folder: str | Path = DEFAULT_GOLDENS) -> list[Golden]:
    """Read ``manifest.jsonl`` of a goldens folder.

    Raises:
        CalibrationError: missing folder, malformed line, unknown assertion, bad params.
    """
    manifest = Path(folder) / "manifest.jsonl"
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CalibrationError(f"{manifest}: cannot read the goldens manifest: {exc}") from None
    out: list[Golden] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{manifest}:{number}"
        try:
            row = _Golden.model_validate_json(line)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in err["loc"]) or "line"
            raise CalibrationError(f"{where}: field {loc}: {err['msg']}") from None
        checks = []
        for i, check in enumerate(row.checks):
            try:
                kind = get_assertion(check.assertion)
                params = kind.params.model_validate(check.params)
            except KeyError as exc:
                raise CalibrationError(f"{where}: checks.{i}: {exc.args[0]}") from None
            except ValidationError as exc:
                msg = exc.errors(include_url=False)[0]["msg"]
                raise CalibrationError(f"{where}: checks.{i}.params: {msg}") from None
            checks.append((kind.name, params, check.expected))
        path = Path(folder) / row.image
        if not path.is_file():
            raise CalibrationError(f"{where}: field image: no such file {path}")
        extra = row.model_extra or {}
        meta = {k: str(v) for k, v in extra.items() if isinstance(v, str | int)}
        out.append(Golden(row.id, path, tuple(checks), meta))
    if not out:
        raise CalibrationError(f"{manifest}: no goldens")
    return out


@dataclass
class Cell:
    """Tallies of one (assertion type, judge) pair."""

    positives: int = 0  # checks a correct judge passes
    negatives: int = 0  # checks a correct judge fails
    false_fails: int = 0
    false_passes: int = 0
    ms: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Counts, rates with 95% Wilson intervals, and median latency per image."""
        from pytest_ureason.results.summary import wilson

        n = self.positives + self.negatives
        wrong = self.false_fails + self.false_passes

        def rate(k: int, total: int) -> list[float] | None:
            return [k / total, *wilson(k, total)] if total else None

        return {
            "checks": n,
            "accuracy": rate(n - wrong, n),
            "false_pass": rate(self.false_passes, self.negatives),
            "false_fail": rate(self.false_fails, self.positives),
            "ms_per_image": statistics.median(self.ms) if self.ms else None,
        }


def _judge_of(name: str, judges: Judges) -> str | None:
    """The judge that calibrates assertion type ``name``, None when it is not configured."""
    cfg = judges.config
    if name in OBJECT_TYPES:
        return judges.detector_name
    if name == "text":
        return cfg.ocr
    if name == "vqa":
        return f"vqa:{cfg.judge}" if cfg.judge else None
    if name == "clip":
        return f"clip:{cfg.clip_model}" if cfg.clip_weights else None
    return None


def calibrate(
    judges: Judges,
    goldens: list[Golden],
    types: tuple[str, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """Run the goldens' checks with ``judges``; JSON-ready results per type and judge (and
    per value of the goldens' field ``by``, e.g. ``perturbation`` or ``renderer``)."""
    from PIL import Image

    cells: dict[tuple[str, str], Cell] = {}
    per_image: dict[tuple[str, str], list[float]] = {}  # (family, judge) -> ms per image
    for i, golden in enumerate(goldens):
        if progress is not None:
            progress(i, len(goldens))
        with Image.open(golden.path) as img:
            image = img.convert("RGB")
        obs = Observation(image, judges=judges)
        checks = [c for c in golden.checks if types is None or c[0] in types]
        specs = tuple(AssertionSpec(n, p) for n, p, _ in checks)
        spent: dict[tuple[str, str], float] = {}
        labels = object_labels(specs)
        if labels and judges.detector().open_vocabulary:  # one detector pass for every label
            start = time.perf_counter()
            obs.prefetch(labels)
            key = ("objects", judges.detector_name)
            if by is not None:
                key = ("objects", f"{key[1]}/{golden.meta.get(by, '-')}")
            spent[key] = 1000 * (time.perf_counter() - start)
        for name, params, expected in checks:
            judge = _judge_of(name, judges)
            if judge is None:
                continue
            if by is not None:
                judge = f"{judge}/{golden.meta.get(by, '-')}"
            start = time.perf_counter()
            passed = evaluate(name, params, obs).passed
            key = ("objects" if name in OBJECT_TYPES else name, judge)
            spent[key] = spent.get(key, 0.0) + 1000 * (time.perf_counter() - start)
            cell = cells.setdefault((name, judge), Cell())
            if expected:
                cell.positives += 1
                cell.false_fails += not passed
            else:
                cell.negatives += 1
                cell.false_passes += passed
        for key, ms in spent.items():
            per_image.setdefault(key, []).append(ms)
    rows = []
    for (name, judge), cell in sorted(cells.items()):
        cell.ms = per_image.get(("objects" if name in OBJECT_TYPES else name, judge), [])
        rows.append({"assertion": name, "judge": judge, **cell.to_json()})
    return {"images": len(goldens), "by": by, "rows": rows}


def cmd_calibrate(args: Any) -> int:
    """``ureason calibrate``: print the calibration table (and write it as JSON)."""
    import sys

    options: dict[str, str] = {}
    for pair in args.judge_arg or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            print(
                f"ureason calibrate: --judge-arg must be KEY=VALUE, got {pair!r}", file=sys.stderr
            )
            return 2
        options[key.strip()] = value.strip()
    config = JudgeConfig(
        detector=args.detector,
        detector_path=args.detector_path,
        device=args.device,
        ocr=args.ocr,
        clip_model=args.clip_model,
        clip_weights=args.clip_weights,
        judge=args.judge,
        judge_path=args.judge_path,
        judge_args=tuple(sorted(options.items())),
    )
    try:
        goldens = load_goldens(args.goldens)
        judges = Judges(config)
        judges.detector()
        if args.limit:
            goldens = goldens[: args.limit]
        types = tuple(args.type) if args.type else None

        def progress(i: int, n: int) -> None:
            if i % 20 == 0:
                print(f"  {i}/{n} images", file=sys.stderr, flush=True)

        result = calibrate(judges, goldens, types, progress, by=args.by)
    except (CalibrationError, DetectorUnavailable) as exc:
        print(f"ureason calibrate: {exc}", file=sys.stderr)
        return 2
    print(f"detector {judges.detector_name} ({judges.detector_reason}); {len(goldens)} images")
    for line in format_table(result):
        print(line)
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
        except OSError as exc:
            print(f"ureason calibrate: cannot write --json {args.json}: {exc}", file=sys.stderr)
            return 2
        print(f"written to {args.json}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``ureason calibrate`` on the CLI's subparsers."""
    p = sub.add_parser("calibrate", help="measure the judges' accuracy on the goldens")
    p.add_argument("--detector", default="auto", choices=OBJECT_DETECTORS)
    p.add_argument("--detector-path", default=None, help="local detector weights folder")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: GPU if any)")
    p.add_argument("--ocr", default="rapidocr", choices=OCR_BACKENDS)
    p.add_argument("--clip-model", default="ViT-B-16")
    p.add_argument("--clip-weights", default=None, help="open_clip checkpoint file or 'random'")
    p.add_argument("--judge", default=None, help="model adapter answering vqa checks")
    p.add_argument("--judge-path", default=None)
    p.add_argument("--judge-arg", action="append", default=None, help="KEY=VALUE (repeatable)")
    p.add_argument("--goldens", default=str(DEFAULT_GOLDENS), help="goldens folder")
    p.add_argument("--type", action="append", help="only this assertion type (repeatable)")
    p.add_argument("--by", default=None, help="split rows by a goldens field: perturbation, ...")
    p.add_argument("--limit", type=int, default=0, help="only the first N images")
    p.add_argument("--json", default=None, help="also write the results here")
    p.set_defaults(fn=cmd_calibrate)


def _pct(value: list[float] | None) -> str:
    if value is None:
        return "-"
    return f"{100 * value[0]:5.1f} [{100 * value[1]:.0f}-{100 * value[2]:.0f}]"


def format_table(result: dict[str, Any]) -> list[str]:
    """The calibration table: one row per assertion type and judge."""
    head = (
        f"{'assertion':<10}{'judge':<28}{'checks':>7}  {'accuracy %':<17}"
        f"{'false pass %':<17}{'false fail %':<17}{'ms/image':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        ms = f"{r['ms_per_image']:9.1f}" if r["ms_per_image"] is not None else f"{'-':>9}"
        lines.append(
            f"{r['assertion']:<10}{r['judge'][:27]:<28}{r['checks']:>7}  "
            f"{_pct(r['accuracy']):<17}{_pct(r['false_pass']):<17}{_pct(r['false_fail']):<17}{ms}"
        )
    lines.append("intervals: 95% Wilson; ms/image: median time of the judge's pass over one image")
    return lines


def cache_key(judges: Judges, folder: Path) -> str:
    """Key of a calibration result: the judge configuration, judge versions (detector and CLIP
    weights by content) and the manifest's content."""
    parts = [repr(judges.config)]
    digest = hashlib.sha256((folder / "manifest.jsonl").read_bytes())
    if judges.detector_name != "classical":
        parts.append(judges.detector().version)
    else:
        parts.append(detector_version("classical"))
    if judges.config.clip_weights is not None:  # CLIP by content, not by file name
        from pytest_ureason.judge.detect.clip import clip_identity

        parts.append(clip_identity(judges.config.clip_model, judges.config.clip_weights).version)
    digest.update("\x00".join(parts).encode())
    return digest.hexdigest()[:24]


def gate_run(config: JudgeConfig, floor: float, store: Path, folder: Path | None = None) -> None:
    """Refuse to start a run whose judges calibrate below ``floor`` on any assertion type.

    Raises:
        pytest.UsageError: naming each assertion type and judge below the floor, or bad goldens.
    """
    import pytest

    folder = folder or DEFAULT_GOLDENS
    judges = shared(config)
    try:
        goldens = load_goldens(folder)
        path = store / "calibration" / f"{cache_key(judges, folder)}.json"
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = calibrate(judges, goldens)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    except (CalibrationError, DetectorUnavailable) as exc:
        raise pytest.UsageError(f"--calibrate: {exc}") from None
    low = [
        f"{r['assertion']} by {r['judge']}: accuracy {100 * r['accuracy'][0]:.1f}%"
        for r in result["rows"]
        if r["accuracy"] is not None and r["accuracy"][0] < floor
    ]
    if low:
        raise pytest.UsageError(
            f"--calibrate: judges below the accuracy floor {100 * floor:.0f}% "
            f"(ureason_accuracy_floor) on {folder}: " + "; ".join(low)
        )
