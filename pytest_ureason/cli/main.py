"""The ``ureason`` command.

* ``ureason suites [PATH ...]``: validate suite files (default: ``suites/``), print instances per
  task and every error as ``file:line: message``; exit 1 when any file has errors.
* ``ureason report RESULTS... [--html PATH] [--json PATH]``: merge junit XML results
  (:mod:`pytest_ureason.cli.report`).
* ``ureason gate RESULTS... --baseline PATH``: the release gate (:mod:`pytest_ureason.cli.gate`).
* ``ureason export --passing RESULTS... --out DIR``: passing generations as a training set
  (:mod:`pytest_ureason.cli.export`).
* ``ureason expand NAME --count N --seed S``: print a generator's instances as JSON lines (the
  JSONL suite format), e.g. to freeze a generated suite into a file.
* ``ureason calibrate [--detector NAME] ...``: the judges' accuracy, false-pass and false-fail
  rates per assertion type on ``goldens/calibration`` (:mod:`pytest_ureason.results.calibration`).
* ``ureason gap RESULTS.json ...``: the understanding-generation Gap Score of one or more
  ``--ureason-json`` files (:mod:`pytest_ureason.results.gapscore`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from pytest_ureason.collect.generators import GeneratorError, expand
from pytest_ureason.collect.loader import claim_ids, load_suite, suite_files


def cmd_suites(args: argparse.Namespace) -> int:
    """Validate and summarise suite files."""
    files = suite_files(args.paths or ["suites"])
    if not files:
        print("no suite files found", file=sys.stderr)
        return 1
    bad = 0
    first_seen: dict[str, str] = {}
    for path in files:
        suite = load_suite(path)
        suite.errors += claim_ids(suite, first_seen)[1]  # the check collection makes
        tasks = Counter(i.task for i in suite.instances)
        per_task = ", ".join(f"{t}: {n}" for t, n in sorted(tasks.items())) or "no instances"
        version = f" v{suite.version}" if suite.version is not None else ""
        print(f"{path}: {suite.name}{version}: {len(suite.instances)} instances ({per_task})")
        for error in suite.errors:
            print(f"  {error}")
        bad += bool(suite.errors)
    return 1 if bad else 0


def cmd_expand(args: argparse.Namespace) -> int:
    """Print a generator's instances as JSON lines."""
    try:
        rows = expand(args.name, args.count, args.seed)
    except GeneratorError as exc:
        print(f"ureason expand: {exc}", file=sys.stderr)
        return 2
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ureason`` console script."""
    parser = argparse.ArgumentParser(prog="ureason", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("suites", help="validate and summarise suite files")
    p.add_argument("paths", nargs="*", help="suite files or folders (default: suites/)")
    p.set_defaults(fn=cmd_suites)
    p = sub.add_parser("expand", help="print a generator's instances as JSON lines")
    p.add_argument("name")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=cmd_expand)
    from pytest_ureason.results.calibration import add_parser as add_calibrate

    add_calibrate(sub)
    from pytest_ureason.cli import export
    from pytest_ureason.cli import gate as gate_cmd
    from pytest_ureason.cli import report as report_cmd

    report_cmd.add_parser(sub)
    gate_cmd.add_parser(sub)
    export.add_parser(sub)
    from pytest_ureason.results.gapscore import add_parser as add_gap_parser  # studies (issue 5)

    add_gap_parser(sub)
    args = parser.parse_args(argv)
    code: int = args.fn(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
