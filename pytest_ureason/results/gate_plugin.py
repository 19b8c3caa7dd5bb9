"""``--gate PATH`` in a pytest run: the plugin that gates (or writes) the baseline at the end.

The comparison itself lives in :mod:`pytest_ureason.results.gate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_ureason import record
from pytest_ureason.results.collector import outcome_of_report
from pytest_ureason.results.gate import Baseline, BaselineError, compare, format_gate
from pytest_ureason.results.junit import Item, ResultsError, item_from_props


class GatePlugin:
    """``--gate PATH``: gate this run against a baseline, or (with ``--ureason-regen-baseline``)
    write it. Registered on the controller only.

    With a gate, a suite item whose image fails its assertions is a measurement, not a failure
    of the session: the session fails when the gate fails, or when anything else failed
    (a plain test, a broken suite file, an internal error).
    """

    def __init__(
        self,
        path: Path,
        alpha: float,
        min_effect: float,
        regen: bool,
        model: str,
        allow_new: bool = False,
    ):
        self.path = path
        self.alpha = alpha
        self.min_effect = min_effect
        self.regen = regen
        self.model = model
        self.allow_new = allow_new
        #: The baseline, read and checked before any item runs (None when regenerating).
        self.baseline: Baseline | None = None
        self.items: dict[str, Item] = {}
        self.other_failures = 0
        self.lines: list[str] = []
        self.failed = False

    def pytest_runtest_logreport(self, report: Any) -> None:
        """Keep each suite item's outcome and properties; count other failures."""
        props = {k: str(v) for k, v in report.user_properties}
        if not record.is_suite_item(props):
            self.other_failures += bool(report.failed)
            return
        outcome = outcome_of_report(report, props)
        if outcome is None:
            return
        try:
            item = item_from_props(props, outcome, report.nodeid)
        except ResultsError:
            self.other_failures += 1
            return
        self.items[report.nodeid] = item

    def pytest_sessionfinish(self, session: Any) -> None:
        """Write the baseline or gate, and set the session's exit status."""
        if session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            return  # interrupted, usage error, nothing collected: leave it as it is
        items = list(self.items.values())
        try:
            if self.regen:
                baseline = Baseline.from_items(items, self.model)
                baseline.write(self.path)
                count = sum(len(s["items"]) for s in baseline.suites.values())
                self.lines = [f"baseline written to {self.path}: {count} items of {self.model}"]
            else:
                result = compare(
                    self.baseline if self.baseline is not None else Baseline.read(self.path),
                    items,
                    alpha=self.alpha,
                    min_effect=self.min_effect,
                    source=str(self.path),
                    model=self.model,
                    allow_new=self.allow_new,
                )
                self.lines = format_gate(result)
                self.failed = result.failed
        except BaselineError as exc:
            self.lines = [f"gate: {exc}", "GATE FAILED"]
            self.failed = True
        if self.other_failures:
            self.lines.append(f"{self.other_failures} failures outside the suite items")
        bad = self.failed or self.other_failures > 0
        session.exitstatus = pytest.ExitCode.TESTS_FAILED if bad else pytest.ExitCode.OK

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the gate (after the pass-rate table)."""
        if not self.lines:
            return
        terminalreporter.write_sep("=", "ureason gate")
        for line in self.lines:
            red = line.startswith(("GATE FAILED", "gate:")) or ": REGRESSION" in line
            terminalreporter.write_line(line, red=red, bold=line.startswith("GATE"))


def options_of(config: Any) -> GatePlugin | None:
    """The gate plugin for this run's options, or None without ``--gate``. When gating, the
    baseline is read and fully checked here, before any item runs.

    Raises:
        pytest.UsageError: a gate option is malformed, or the baseline cannot be read or
            trusted (the message names the file).
    """
    raw = config.getoption("ureason_gate") or config.getini("ureason_gate") or None
    regen = bool(config.getoption("ureason_regen_baseline"))
    if raw is None:
        if regen:
            raise pytest.UsageError("--ureason-regen-baseline needs --gate PATH (where to write)")
        return None
    values = []
    for opt, default in (("ureason_gate_alpha", 0.05), ("ureason_gate_min_effect", 0.02)):
        value = config.getoption(opt) or config.getini(opt) or default
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0.0 <= number <= 1.0:
            flag = "--" + opt.replace("ureason_", "").replace("_", "-")
            raise pytest.UsageError(f"{flag} must be a number in [0, 1], got {value!r}")
        values.append(number)
    base = config.invocation_params.dir if config.getoption("ureason_gate") else config.rootpath
    model = config.getoption("ureason_model") or config.getini("ureason_model")
    allow_new = bool(
        config.getoption("ureason_gate_allow_new") or config.getini("ureason_gate_allow_new")
    )
    plugin = GatePlugin(Path(base, str(raw)), values[0], values[1], regen, str(model), allow_new)
    if not regen:
        try:
            plugin.baseline = Baseline.read(plugin.path)
        except BaselineError as exc:
            raise pytest.UsageError(f"--gate: {exc}") from None
    return plugin
