"""Wall time and items/s of the main job: the shipped suites on the reference model.

Runs ``pytest suites --model reference`` in a subprocess three ways, side by side in one
invocation: cold store, warm store (everything reused), and cold store with ``-n 2``.

    python benchmarks/main_job.py [--suites suites]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(suites: str, store: Path, out: Path, extra: list[str]) -> tuple[float, dict[str, object]]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        suites,
        "--model",
        "reference",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--store={store}",
        f"--ureason-json={out}",
        *extra,
    ]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    return wall, json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default="suites")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for label, store, extra in [
            ("cold store, 1 process", t / "a", []),
            ("warm store, 1 process", t / "a", []),
            ("cold store, -n 2", t / "b", ["-n", "2"]),
        ]:
            wall, data = run(args.suites, store, t / "out.json", extra)
            cells = [r for r in data["pass_rates"] if r["task"] == "all"]  # type: ignore[union-attr]
            items = sum(c["passed"] + c["failed"] + c["error"] + c["skipped"] for c in cells)
            thr = data["throughput"]
            rows.append(
                (
                    label,
                    wall,
                    items,
                    items / wall,
                    int(thr.get("images", 0)),  # type: ignore[union-attr]
                    int(thr.get("reused", 0)),
                )
            )  # type: ignore[union-attr]
        print(f"{'run':<24}{'wall s':>9}{'items':>8}{'items/s':>9}{'made':>7}{'reused':>8}")
        for label, wall, items, rate, made, reused in rows:
            print(f"{label:<24}{wall:>9.1f}{items:>8}{rate:>9.1f}{made:>7}{reused:>8}")
        print("\npass rates (last run):")
        for r in data["pass_rates"]:  # type: ignore[union-attr]
            if r["scored"]:
                print(
                    f"  {r['condition']:<10} {r['task']:<11} {100 * r['rate']:5.1f}%  "
                    f"{r['passed']}/{r['scored']}"
                )


if __name__ == "__main__":
    main()
