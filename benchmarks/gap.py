"""Gap Score of one or more adapters on the bidirectional suite, and the fit's recovery accuracy.

    python benchmarks/gap.py reference                       # the embedded reference model
    python benchmarks/gap.py reference janus-pro --model-path janus-pro=~/weights/Janus-Pro-1B
    python benchmarks/gap.py reference --model-arg janus-pro:dtype=float32 --out out/gap

For every adapter it runs ``pytest suites/gapeval --model NAME --condition understand
--condition direct --condition decontext`` (its own store and ``--ureason-json`` under
``--out``), then fits all adapters' items together (:mod:`pytest_ureason.results.irt`) and prints
each
model's two abilities, their gap with a 95% interval and the plain accuracy gap. Then it
measures parameter recovery of the fit on data simulated from the model itself: the
correlation of recovered with true abilities (30 models, 60 items per direction), and the
coverage of the 95% gap interval with 2 and 3 models on the suite's item count (128 each way).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_ureason.results import irt  # noqa: E402
from pytest_ureason.results.gapscore import gap_scores, load_records  # noqa: E402


def run_adapter(name: str, args: argparse.Namespace) -> Path:
    """Run the bidirectional suite on one adapter; return its JSON results."""
    out = Path(args.out) / name
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-header",
        str(ROOT / args.suite),
        "--rootdir",
        str(ROOT),
        "--model",
        name,
        "--store",
        str(out / "store"),
        f"--ureason-json={out / 'results.json'}",
        "--detector",  # the classical detector, as before the auto fallback was refused
        "classical",
    ]
    for condition in ["understand", *args.condition]:
        cmd += ["--condition", condition]
    for pair in args.model_path:
        adapter, _, path = pair.partition("=")
        if adapter == name:
            cmd += ["--model-path", str(Path(path).expanduser())]
    for pair in args.model_arg:
        adapter, _, kv = pair.partition(":")
        if adapter == name:
            cmd += ["--model-arg", kv]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    print(f"{name}: {tail} ({time.perf_counter() - start:.1f} s)", flush=True)
    if not (out / "results.json").exists():
        raise SystemExit(
            f"{name}: no results written\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return out / "results.json"


def recovery(reps: int) -> None:
    """Print the fit's parameter recovery on simulated data."""
    print("\nparameter recovery on data simulated from the model (MAP fit, Laplace interval)")
    print(f"{'setting':<34}{'corr theta_u':>13}{'corr theta_g':>13}{'gap 95% coverage':>18}")
    corr_u, corr_g = [], []
    for seed in range(reps):
        rows, true = irt.simulate(30, 60, seed=seed)
        fit = irt.fit(rows)
        order = [int(m[1:]) for m in fit.models]
        corr_u.append(np.corrcoef(fit.theta[:, 0], true[order, 0])[0, 1])
        corr_g.append(np.corrcoef(fit.theta[:, 1], true[order, 1])[0, 1])
    cover = _coverage(30, 60, reps)
    print(
        f"{'30 models x 60+60 items':<34}{np.mean(corr_u):>13.3f}{np.mean(corr_g):>13.3f}"
        f"{cover:>17.1%}"
    )
    for models in (2, 3):
        gaps = np.linspace(-2.0, 2.0, models)
        cover = _coverage(models, 128, reps * 8, gaps)
        print(f"{f'{models} models x 128+128 items, gaps ±2':<34}{'-':>13}{'-':>13}{cover:>17.1%}")


def _coverage(models: int, items: int, reps: int, gaps: np.ndarray | None = None) -> float:
    hit = total = 0
    for seed in range(reps):
        rows, true = irt.simulate(models, items, seed=1000 + seed, gaps=gaps)
        fit = irt.fit(rows)
        for score, name in zip(fit.scores, fit.models, strict=True):
            u, g = true[int(name[1:])]
            hit += score.gap_ci[0] <= u - g <= score.gap_ci[1]
            total += 1
    return hit / total


def main() -> None:
    """Parse arguments, run the adapters, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adapters", nargs="*", default=["reference"])
    parser.add_argument("--suite", default="suites/gapeval")
    parser.add_argument(
        "--condition",
        action="append",
        default=None,
        help="generation condition(s) (default: direct, decontext)",
    )
    parser.add_argument("--model-path", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--model-arg", action="append", default=[], help="NAME:KEY=VALUE")
    parser.add_argument("--out", default=str(ROOT / ".ureason" / "gap"))
    parser.add_argument("--reps", type=int, default=5, help="simulations per recovery setting")
    parser.add_argument("--no-simulate", action="store_true")
    args = parser.parse_args()
    args.condition = args.condition or ["direct", "decontext"]
    files = [run_adapter(name, args) for name in args.adapters]
    scores = gap_scores(load_records(files))
    for condition, rows in scores.items():
        print()
        for line in irt.format_scores(rows, condition):
            print(line)
    if not args.no_simulate:
        recovery(args.reps)


if __name__ == "__main__":
    main()
