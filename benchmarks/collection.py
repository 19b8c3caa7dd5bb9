"""Collection time of a generated suite of 10,000 instances (x 3 conditions = 30,000 items).

For each generator, writes a suite with ``generator: NAME, count: N`` in a temporary folder and
times ``pytest --collect-only -q`` on it in a subprocess (interpreter start included), next to
the time of expanding the generator alone.

    python benchmarks/collection.py [--count 10000] [--generators arithmetic,code]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_ureason.collect.generators import expand, generator_names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--generators", default=",".join(generator_names()))
    args = parser.parse_args()
    print(
        f"{'generator':<12}{'instances':>10}{'items':>8}{'expand s':>10}{'collect s':>11}"
        f"{'items/s':>10}"
    )
    for name in args.generators.split(","):
        start = time.perf_counter()
        expand(name, args.count, 1)
        expand_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp, "suites", "big.yaml")
            suite.parent.mkdir()
            suite.write_text(
                f"instances:\n  - generator: {name}\n    count: {args.count}\n    seed: 1\n"
            )
            start = time.perf_counter()
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "--collect-only",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--model",
                    "reference",
                    str(suite),
                ],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            collect_s = time.perf_counter() - start
        items = sum(1 for line in out.stdout.splitlines() if "::" in line)
        print(
            f"{name:<12}{args.count:>10}{items:>8}{expand_s:>10.2f}{collect_s:>11.2f}"
            f"{items / collect_s:>10.0f}"
        )


if __name__ == "__main__":
    main()
