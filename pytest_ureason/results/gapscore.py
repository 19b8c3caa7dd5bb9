"""The understanding-generation Gap Score of a run, and the ``ureason gap`` command.

Takes per-item records (from a run's collector, or from the ``items`` list of one or more
``--ureason-json`` files, each possibly of another model), keeps the bidirectional instances
(those answered under ``understand``), and fits :func:`pytest_ureason.results.irt.fit` once per
generation condition that ran on them: ``understand`` items load on the understanding
ability, the same instances drawn under that condition on the generation ability.

``ureason gap RESULTS.json ... [--condition direct]`` prints the table for any number of models
(and writes it as JSON with ``--json PATH``). When two files hold the same adapter name (two
checkpoints of one family), the later file's model is named ``NAME (FILE)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.conditions import GENERATION_CONDITIONS
from pytest_ureason.record import OUTCOMES, Record

if TYPE_CHECKING:
    from pytest_ureason.results.irt import GapScore


def responses(records: Iterable[Record], condition: str) -> list[Any]:
    """IRT responses of the bidirectional instances: understand vs ``condition``."""
    from pytest_ureason.results.irt import Response

    counts: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    records = [r for r in records if r.outcome != "skipped"]
    bidirectional = {(r.task, r.instance) for r in records if r.condition == "understand"}
    for r in records:
        if (r.task, r.instance) not in bidirectional:
            continue
        if r.condition == "understand":
            dim = 0
        elif r.condition == condition:
            dim = 1
        else:
            continue
        cell = counts[(r.model, f"{r.task}/{r.instance}#{r.condition}", dim)]
        cell[0] += r.outcome == "passed"
        cell[1] += 1
    return [Response(m, item, dim, k, n) for (m, item, dim), (k, n) in sorted(counts.items())]


def gap_scores(records: list[Record]) -> dict[str, list[GapScore]]:
    """Gap Scores per generation condition that ran beside ``understand`` (empty if none)."""
    from pytest_ureason.results.irt import fit

    out: dict[str, list[GapScore]] = {}
    for condition in GENERATION_CONDITIONS:
        rows = responses(records, condition)
        dims = {(r.model, r.dim) for r in rows}
        models = {m for m, _ in dims}
        both = [m for m in sorted(models) if (m, 0) in dims and (m, 1) in dims]
        if not both:
            continue
        out[condition] = [s for s in fit(rows).scores if s.model in both]
    return out


def load_records(paths: list[Path]) -> list[Record]:
    """Item records from ``--ureason-json`` files.

    Raises:
        ValueError: a file is unreadable, not JSON, or has no ``items`` list (naming the file).
    """
    out: list[Record] = []
    seen: dict[str, Path] = {}  # model name -> the first file that used it
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValueError(
                f"{path}: no 'items' list (write it with pytest --ureason-json from this version)"
            )
        for i, raw in enumerate(items):
            try:
                if raw["outcome"] not in OUTCOMES:
                    raise ValueError(f"outcome {raw['outcome']!r} is not one of {OUTCOMES}")
                if isinstance(raw["seed"], bool) or not isinstance(raw["seed"], int):
                    raise ValueError(f"seed {raw['seed']!r} is not an integer")
                name = str(raw["model"])
                first = seen.setdefault(name, path)
                if first != path:  # the same adapter in two runs: two models, named by file
                    name = f"{name} ({path.name})"
                out.append(
                    Record(
                        name,
                        str(raw["condition"]),
                        str(raw["task"]),
                        str(raw["instance"]),
                        int(raw["seed"]),
                        str(raw["outcome"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: items[{i}]: bad record: {exc}") from None
    return out


def cmd_gap(args: argparse.Namespace) -> int:
    """``ureason gap``: the Gap Score table of one or more result files."""
    from pytest_ureason.results.irt import format_scores

    try:
        records = load_records([Path(p) for p in args.results])
    except ValueError as exc:
        print(f"ureason gap: {exc}", file=sys.stderr)
        return 2
    scores = gap_scores(records)
    if args.condition:
        scores = {c: s for c, s in scores.items() if c in args.condition}
    if not scores:
        print(
            "ureason gap: no model ran both 'understand' and a generation condition on the same "
            "bidirectional instances",
            file=sys.stderr,
        )
        return 1
    for condition, rows in scores.items():
        for line in format_scores(rows, condition):
            print(line)
    if args.json:
        table = {c: [s.to_json() for s in rows] for c, rows in scores.items()}
        try:
            Path(args.json).write_text(json.dumps(table, indent=1), encoding="utf-8")
        except OSError as exc:
            print(f"ureason gap: cannot write --json {args.json}: {exc}", file=sys.stderr)
            return 2
    return 0


def add_parser(sub: Any) -> None:
    """Register ``ureason gap`` on the ``ureason`` command's subparsers."""
    p = sub.add_parser("gap", help="understanding-generation Gap Score of --ureason-json files")
    p.add_argument("results", nargs="+", help="--ureason-json files (any number of models)")
    p.add_argument(
        "--condition",
        action="append",
        choices=GENERATION_CONDITIONS,
        help="generation condition(s) to compare with understand (default: every one that ran)",
    )
    p.add_argument("--json", help="also write the table as JSON here")
    p.set_defaults(fn=cmd_gap)
