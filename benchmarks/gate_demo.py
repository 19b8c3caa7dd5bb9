"""The release gate at work: the reference model against its shipped baseline, unchanged and
with a deliberately degraded variant (:mod:`benchmarks.degraded_model`), side by side.

    python benchmarks/gate_demo.py [--baseline goldens/baselines/reference.json]

Prints, per variant, the session's exit status and the gate's verdict per condition.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VARIANTS = (
    ("reference (unchanged)", ["--model", "reference"]),
    (
        "reference-degraded fraction=0.3",
        [
            "-p",
            "benchmarks.degraded_model",
            "--model",
            "reference-degraded",
            "--model-arg",
            "fraction=0.3",
        ],
    ),
    (
        "reference-degraded fraction=0.02",
        [
            "-p",
            "benchmarks.degraded_model",
            "--model",
            "reference-degraded",
            "--model-arg",
            "fraction=0.02",
        ],
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="goldens/baselines/reference.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        for label, extra in VARIANTS:
            start = time.perf_counter()
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "suites",
                    *extra,
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "--tb=no",
                    "-rN",
                    f"--store={store}",
                    "--gate",
                    args.baseline,
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - start
            lines = run.stdout.splitlines()
            gate = lines[lines.index(next(x for x in lines if "ureason gate" in x)) + 1 :]
            verdicts = [x for x in gate if x.startswith(("direct:", "reasoning:", "decontext:"))]
            final = next(x for x in gate if x.startswith("GATE"))
            print(f"== {label}: exit {run.returncode}, {wall:.1f} s: {final}")
            for line in verdicts:
                print(f"   {line}")


if __name__ == "__main__":
    main()
