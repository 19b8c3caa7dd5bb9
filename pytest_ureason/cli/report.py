"""``ureason report RESULTS... [--html PATH] [--json PATH]``: merge junit files and report.

Prints the merge problems (overlapping shards, missing shards and items), then the pass-rate
table per model x condition x task with 95% Wilson intervals and the paired gaps with exact
McNemar p-values; writes the same as JSON and, with ``--html``, the self-contained HTML report
(:mod:`pytest_ureason.results.html`). Exit status: 0, 1 when shards overlap, 2 when a file
cannot be read or written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pytest_ureason.collect.loader import load_suite, suite_files
from pytest_ureason.conditions import condition_order
from pytest_ureason.results.junit import Results, ResultsError, load_results, missing_from_suites
from pytest_ureason.results.summary import Summary, format_table


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``ureason report``."""
    from pytest_ureason.results.html import IMAGE_MODES

    p = sub.add_parser("report", help="merge junit XML results into tables, JSON and HTML")
    p.add_argument("results", nargs="+", help="junit XML files written with --junitxml")
    p.add_argument("--html", help="write the self-contained HTML report here")
    p.add_argument("--json", help="write pass rates, gaps and merge problems as JSON here")
    p.add_argument(
        "--images",
        choices=IMAGE_MODES,
        default="embed",
        help="embed images in the HTML (default), link to the store, or leave them out",
    )
    p.add_argument("--thumb", type=int, default=256, help="thumbnail side for large images")
    p.add_argument("--title", default="ureason report", help="title of the HTML page")
    p.add_argument(
        "--suites",
        action="append",
        metavar="PATH",
        help="suite files or folders that ran (repeatable): name every missing item exactly",
    )
    p.set_defaults(fn=cmd_report)


def _load(paths: list[str], prog: str) -> Results | None:
    try:
        return load_results([Path(p) for p in paths])
    except ResultsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def cmd_report(args: argparse.Namespace) -> int:
    """Merge, print, and write JSON / HTML."""
    results = _load(args.results, "ureason report")
    if results is None:
        return 2
    if args.suites:
        expected = []
        for path in suite_files(args.suites):
            suite = load_suite(path)
            for error in suite.errors:
                print(f"suite error: {error}")
            expected += [(i.task, i.id, i.question is not None) for i in suite.instances]
        results.missing_items = missing_from_suites(results, expected)
    others = results.other_testcases
    ignored = f" ({others} other testcases ignored)" if others else ""
    print(f"{len(results.items)} suite items from {len(results.files)} file(s){ignored}")
    for problem in results.problems():
        print(problem)
    summary = Summary.from_records(results.records())
    conditions = condition_order({r.condition for r in results.records()})
    for line in format_table(summary, conditions):
        print(line)
    from pytest_ureason.results.gapscore import gap_scores
    from pytest_ureason.results.irt import format_scores

    scores = gap_scores(results.records())
    for condition, per_model in scores.items():
        for line in format_scores(per_model, condition):
            print(line)
    from pytest_ureason.results.seedstats import SeedRow, paper_lines, paper_protocols

    seed_rows = [
        row
        for item in results.items
        if (row := SeedRow.from_props(dict(item.props), item.record.outcome)) is not None
    ]
    for line in paper_lines(seed_rows):  # the papers' protocols beside ours, when both ran
        print(line)
    if args.json:
        data = {
            "files": results.files,
            "items": len(results.items),
            "problems": results.problems(),
            **summary.to_json(),
            "gap_scores": {c: [s.to_json() for s in v] for c, v in scores.items()},
        }
        papers = paper_protocols(seed_rows)
        if papers:
            data["paper_protocols"] = papers
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(data, indent=1))
        except OSError as exc:
            print(f"ureason report: cannot write --json {args.json}: {exc}", file=sys.stderr)
            return 2
        print(f"JSON written to {args.json}")
    if args.html:
        from pytest_ureason.results.html import build_html

        out = Path(args.html)
        start = time.perf_counter()

        def progress(done: int, total: int) -> None:
            print(f"  html: {done}/{total} items", file=sys.stderr)

        page = build_html(
            results,
            title=args.title,
            images=args.images,
            thumb=args.thumb,
            out_dir=out.parent,
            progress=progress if len(results.items) >= 2000 else None,
        )
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(page, encoding="utf-8")
        except OSError as exc:
            print(f"ureason report: cannot write --html {out}: {exc}", file=sys.stderr)
            return 2
        size = out.stat().st_size
        print(f"HTML written to {out} ({size / 1e6:.1f} MB, {time.perf_counter() - start:.1f} s)")
    return 1 if results.overlaps else 0
