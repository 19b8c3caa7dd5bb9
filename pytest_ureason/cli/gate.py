"""``ureason gate RESULTS... --baseline PATH``: the release gate over junit XML files.

The same comparison as ``pytest ... --gate PATH`` (:mod:`pytest_ureason.results.gate`), for results
written earlier, e.g. merged shards. ``--regen`` writes the baseline from the results instead.
The baseline is read and checked (JSON, fields, digest) before the results; ``--allow-new``
accepts result items that the baseline lacks (by default they fail the gate).
Exit status: 0 when the gate passes (or the baseline was written), 1 when it fails, 2 when a
file cannot be read or written or the model is ambiguous.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``ureason gate``."""
    p = sub.add_parser("gate", help="gate junit XML results against a stored baseline")
    p.add_argument("results", nargs="+", help="junit XML files written with --junitxml")
    p.add_argument("--baseline", required=True, help="baseline JSON (goldens/baselines/NAME.json)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument(
        "--min-effect",
        type=float,
        default=0.02,
        help="smallest pass-rate drop (0..1) that fails the gate (default 0.02)",
    )
    p.add_argument("--model", help="model of the results to gate (default: the baseline's)")
    p.add_argument(
        "--allow-new",
        action="store_true",
        help="accept result items that the baseline lacks (default: they fail the gate)",
    )
    p.add_argument("--regen", action="store_true", help="write the baseline from the results")
    p.set_defaults(fn=cmd_gate)


def cmd_gate(args: argparse.Namespace) -> int:
    """Gate, or write the baseline."""
    from pytest_ureason.results.gate import Baseline, BaselineError, compare, format_gate
    from pytest_ureason.results.junit import ResultsError, load_results

    prog = "ureason gate"
    for name, value in (("--alpha", args.alpha), ("--min-effect", args.min_effect)):
        if not 0.0 <= value <= 1.0:
            print(f"{prog}: {name} must be in [0, 1], got {value}", file=sys.stderr)
            return 2
    path = Path(args.baseline)
    try:
        baseline = None if args.regen else Baseline.read(path)
    except BaselineError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    try:
        results = load_results([Path(p) for p in args.results])
    except ResultsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    for problem in results.problems():
        print(problem)
    models = sorted({i.props["ureason_model"] for i in results.items})
    try:
        model = args.model or (baseline.model if baseline is not None else None)
        if model is None or (args.model is None and model not in models):
            if len(models) != 1:
                print(
                    f"{prog}: the results hold models {', '.join(models) or '(none)'}: "
                    "name one with --model",
                    file=sys.stderr,
                )
                return 2
            model = models[0]
        runs = {
            i.props.get("ureason_fingerprint", "")
            for i in results.items
            if i.props["ureason_model"] == model
        }
        if len(runs - {""}) > 1:
            print(
                f"{prog}: the results hold {len(runs - {''})} runs of {model} with different "
                "fingerprints: pass the files of one run",
                file=sys.stderr,
            )
            return 2
        if baseline is None:
            fresh = Baseline.from_items(results.items, model)
            fresh.write(path)
            count = sum(len(s["items"]) for s in fresh.suites.values())
            print(f"baseline written to {path}: {count} items of {model}")
            return 0
    except BaselineError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    result = compare(
        baseline,
        results.items,
        alpha=args.alpha,
        min_effect=args.min_effect,
        source=str(path),
        model=model,
        allow_new=args.allow_new,
    )
    for line in format_gate(result):
        print(line)
    return 1 if result.failed else 0
