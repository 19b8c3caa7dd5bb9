"""The calibration table of every judge that runs on this machine, in one run.

Judges: the classical detector, rapidocr and tesseract (text), the reference adapter as VQA
judge, and, as a wiring check only (random weights: their accuracy means nothing), tiny OWLv2
and Grounding DINO checkpoints built offline. Prints one table per configuration and writes
everything to ``--out`` (JSON) so the numbers can be re-read without rerunning.

    python benchmarks/calibration.py [--out benchmarks/results/calibration.json] [--by perturbation]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_ureason.judge.judges import JudgeConfig, Judges
from pytest_ureason.results.calibration import calibrate, format_table, load_goldens

OBJECTS = ("count", "present", "absent", "color", "relation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--by", default=None, help="split rows by a goldens field")
    parser.add_argument("--skip-tiny", action="store_true", help="no tiny open-vocabulary runs")
    args = parser.parse_args()
    goldens = load_goldens()
    tmp = Path(tempfile.mkdtemp())
    runs: list[tuple[str, JudgeConfig, tuple[str, ...] | None]] = [
        (
            "classical + rapidocr + vqa:reference",
            JudgeConfig("classical", judge="reference"),
            (*OBJECTS, "text", "vqa"),
        ),
    ]
    if shutil.which("tesseract"):
        runs.append(("tesseract", JudgeConfig("classical", ocr="tesseract"), ("text",)))
    if not args.skip_tiny:
        from pytest_ureason.judge.detect.tiny import save_detector

        for name in ("owlv2", "grounding-dino"):
            path = save_detector(name, tmp / name)
            runs.append(
                (
                    f"{name} tiny random weights (wiring only)",
                    JudgeConfig(name, detector_path=str(path), device="cpu"),
                    OBJECTS,
                )
            )
    results: dict[str, Any] = {}
    for title, config, types in runs:
        start = time.perf_counter()
        result = calibrate(Judges(config), goldens, types, by=args.by)
        result["seconds"] = time.perf_counter() - start
        results[title] = result
        print(f"\n## {title} ({len(goldens)} images, {result['seconds']:.0f} s)")
        for line in format_table(result):
            print(line)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(results, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
