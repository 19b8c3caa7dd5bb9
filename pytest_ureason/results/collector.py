"""Collect suite results from test reports (on the controller under xdist) and summarise them.

Registered only when ``--model`` is given, and never on an xdist worker. It reads the
``ureason_*`` junit properties that every suite item carries, so it sees exactly what the junit
XML records, whichever process ran the item.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from pytest_ureason import record
from pytest_ureason.record import Record
from pytest_ureason.results import seedstats
from pytest_ureason.results.seedstats import SeedRow
from pytest_ureason.results.summary import Summary, format_table
from pytest_ureason.run.interleaved import count_fixes, format_fixes
from pytest_ureason.settings import Settings


def outcome_of_report(report: pytest.TestReport, props: dict[str, Any]) -> str | None:
    """The item's outcome from one report phase (:func:`pytest_ureason.record.outcome`)."""
    return record.report_outcome(report.when, report.passed, report.failed, report.skipped, props)


class ResultsCollector:
    """Aggregates suite item results and prints the pass-rate table."""

    #: Seconds between progress lines printed on the controller under xdist.
    PROGRESS_EVERY = 15.0

    def __init__(self, settings: Settings, config: pytest.Config | None = None):
        self.settings = settings
        self.config = config
        self.records: dict[str, Record] = {}
        self.seed_rows: dict[str, SeedRow] = {}
        #: nodeid -> why the item was not judged (its judge is not installed or has no weights).
        self.not_judged: dict[str, str] = {}
        self.throughput: dict[str, float] = {}
        self.json_error: str | None = None
        self._started = time.monotonic()
        self._last_progress = self._started

    def _progress(self) -> None:
        """Under xdist, a line every ``PROGRESS_EVERY`` s: items done and their rate (workers
        cannot write to the terminal; serial runs print per generated batch instead)."""
        config = self.config
        if config is None or not config.pluginmanager.hasplugin("dsession"):
            return
        now = time.monotonic()
        if now - self._last_progress < self.PROGRESS_EVERY:
            return
        self._last_progress = now
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            done = len(self.records)
            if reporter._tw.width_of_current_line:  # after the progress characters
                reporter._tw.line()
            reporter.write_line(
                f"ureason: {done} suite items done ({done / (now - self._started):.1f} items/s)"
            )

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record the outcome of a suite item."""
        props = dict(report.user_properties)
        if not record.is_suite_item(props):
            return
        outcome = outcome_of_report(report, props)
        if outcome is None:
            return
        self.records[report.nodeid] = record.read(props, outcome, report.nodeid)
        if outcome == "skipped" and record.NOT_JUDGED in props:
            self.not_judged[report.nodeid] = str(props[record.NOT_JUDGED])
        else:
            self.not_judged.pop(report.nodeid, None)
        row = SeedRow.from_props(props, outcome)
        if row is not None:
            self.seed_rows[report.nodeid] = row
        self._progress()

    def add_throughput(self, counters: dict[str, float]) -> None:
        """Add a worker's generation counters."""
        for key, value in counters.items():
            self.throughput[key] = self.throughput.get(key, 0.0) + value

    def _gap_scores(self) -> dict[str, Any]:
        """Gap Scores (computed once) when ``understand`` ran beside a generation condition."""
        if not hasattr(self, "_gaps"):
            self._gaps: dict[str, Any] = {}
            if "understand" in self.settings.conditions:
                from pytest_ureason.results.gapscore import gap_scores

                try:
                    self._gaps = gap_scores(list(self.records.values()))
                except ValueError as exc:  # pragma: no cover - records are well formed
                    self.json_error = f"ureason: gap score not computed: {exc}"
        return self._gaps

    def _study_lines(self) -> list[str]:
        """Terminal lines of the interleaved fix/break counts and the Gap Score."""
        lines = format_fixes(count_fixes(list(self.records.values())))
        if self._gap_scores():
            from pytest_ureason.results.irt import format_scores

            for condition, scores in self._gap_scores().items():
                lines.extend(format_scores(scores, condition))
        lines.extend(seedstats.format_lines(list(self.seed_rows.values())))
        return lines

    def _study_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fixes = count_fixes(list(self.records.values()))
        if fixes:
            out["interleaved"] = fixes
        gaps = self._gap_scores()
        if gaps:
            out["gap_scores"] = {c: [s.to_json() for s in rows] for c, rows in gaps.items()}
        seed = seedstats.to_json(list(self.seed_rows.values()))
        if seed:
            out["seed_formats"] = seed
        return out

    def not_judged_counts(self) -> dict[str, int]:
        """How many items each missing judge left unjudged, most first."""
        counts: dict[str, int] = {}
        for reason in self.not_judged.values():
            counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def not_judged_lines(self) -> list[str]:
        """One line per missing judge: how many items it left unjudged and what to install.
        These items are skipped, so they are outside every pass rate's denominator."""
        return [
            f"not judged: {n} items, excluded from the pass rates above ({reason})"
            for reason, n in self.not_judged_counts().items()
        ]

    def summary(self) -> Summary:
        """The summary of everything recorded so far."""
        return Summary.from_records(list(self.records.values()))

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the pass-rate table, the gaps and the throughput."""
        if not self.records:
            return
        tr = terminalreporter
        tr.write_sep("=", "ureason pass rates")
        for line in format_table(self.summary(), list(self.settings.conditions)):
            tr.write_line(line)
        for line in self.not_judged_lines():
            tr.write_line(line, yellow=True, bold=True)
        for line in self._study_lines():
            tr.write_line(line)
        t = self.throughput
        if t.get("images") or t.get("reused"):
            # Worker seconds add up: divided by them, the rate is per worker.
            rate = t.get("images", 0) / t["generate_seconds"] if t.get("generate_seconds") else 0
            workers = int(t.get("workers", 1))
            per = f" per worker, {workers} workers" if workers > 1 else ""
            tr.write_line(
                f"generation: {int(t.get('images', 0))} images made ({rate:.1f} images/s{per}), "
                f"{int(t.get('reused', 0))} reused from the store, "
                f"{int(t.get('reasonings', 0))} reasonings made; store {self.settings.store}"
            )
        if t.get("repaired_images") or t.get("repaired_evidence"):
            tr.write_line(
                f"store: {int(t.get('repaired_images', 0))} stored images and "
                f"{int(t.get('repaired_evidence', 0))} cached detector/judge outputs failed "
                "verification and were made again"
            )
        if t.get("judge_calls"):
            tr.write_line(
                f"yes/no judge: {int(t.get('judged', 0))} prompts answered in "
                f"{int(t['judge_calls'])} batched answer() calls (the rest from the store)"
            )
        if t.get("vqa_calls"):
            tr.write_line(
                f"vqa judge: {int(t.get('vqa_judged', 0))} questions answered in "
                f"{int(t['vqa_calls'])} batched answer() calls (the rest from the store)"
            )
        if self.json_error is not None:
            tr.write_line(self.json_error, red=True, bold=True)
        elif self.settings.json_path is not None:
            tr.write_line(f"ureason summary written to {self.settings.json_path}")

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write ``--ureason-json``."""
        path = self.settings.json_path
        if path is None or not self.records:
            return
        data = {
            "model": self.settings.model,
            "conditions": list(self.settings.conditions),
            **self.summary().to_json(),
            **self._study_json(),
            "not_judged": self.not_judged_counts(),
            "throughput": self.throughput,
            "items": [asdict(r) for r in self.records.values()],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps(data, indent=1))
        except OSError as exc:
            # The run's results are incomplete without the file a caller asked for: fail it.
            self.json_error = f"ureason: cannot write --ureason-json {path}: {exc}"
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED


def check_json_path(path: Path) -> None:
    """Fail before the run when ``--ureason-json`` cannot be written: its folder is missing
    and cannot be made, is not writable, or the path is a folder.

    Raises:
        pytest.UsageError: naming the option, the path and the reason.
    """
    import tempfile

    try:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise pytest.UsageError(f"--ureason-json {path} cannot be written: {exc}") from None
