"""Pass rates per condition x task with Wilson intervals, and the condition gaps.

Computed from per-item records, which the plugin collects from test reports on the controller
(so the numbers are the same with or without xdist). A gap such as *decontext - reasoning* is
paired: it is computed over the (task, instance, seed) triples that ran under both conditions,
and reports the discordant pairs (fixed by the second condition / broken by it).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_ureason.record import Record as Record  # re-exported: the input of Summary

GAPS: tuple[tuple[str, str], ...] = (
    ("decontext", "reasoning"),
    ("reasoning", "direct"),
    # The bidirectional gap: answering an item in text against drawing it (where both ran).
    ("understand", "direct"),
    ("understand", "reasoning"),
    ("understand", "decontext"),
)


def wilson(passed: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a pass rate (0..1); (0, 1) when total is 0."""
    if total <= 0:
        return (0.0, 1.0)
    p = passed / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    lo = 0.0 if passed == 0 else max(0.0, centre - half)  # exact bounds at the ends
    hi = 1.0 if passed == total else min(1.0, centre + half)
    return (lo, hi)


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value of paired binary outcomes.

    Under the null hypothesis the discordant pairs split evenly, so the count ``fixed`` among
    ``fixed + broken`` is Binomial(n, 1/2); the p-value doubles the smaller tail (capped at 1).

    Args:
        fixed: pairs that pass under the second condition (or run) and failed under the first.
        broken: pairs that failed under the second and passed under the first.
    """
    n = fixed + broken
    if n == 0:
        return 1.0
    k = min(fixed, broken)
    term = total = 1  # C(n, 0), then C(n, i) built up exactly in integers
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        total += term
    tail: float = total / 2**n
    return min(1.0, 2.0 * tail)


@dataclass
class Cell:
    """Counts of one (condition, task) cell."""

    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0

    @property
    def scored(self) -> int:
        """Items with a verdict or an error (skips excluded)."""
        return self.passed + self.failed + self.error

    @property
    def rate(self) -> float | None:
        """Pass rate over scored items, None when nothing was scored."""
        return self.passed / self.scored if self.scored else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form with rate and interval."""
        lo, hi = wilson(self.passed, self.scored)
        return {
            **asdict(self),
            "scored": self.scored,
            "rate": self.rate,
            "ci95": [lo, hi] if self.scored else None,
        }


@dataclass
class Gap:
    """Paired difference of pass rates between two conditions."""

    model: str
    better: str
    worse: str
    task: str
    pairs: int = 0
    fixed: int = 0  # passed under `better`, failed under `worse`
    broken: int = 0  # failed under `better`, passed under `worse`

    @property
    def diff(self) -> float | None:
        """Difference of pass rates over the pairs (better - worse)."""
        return (self.fixed - self.broken) / self.pairs if self.pairs else None

    @property
    def p_value(self) -> float:
        """Two-sided exact McNemar p-value over the discordant pairs."""
        return mcnemar_exact(self.fixed, self.broken)


@dataclass
class Summary:
    """Pass rates per model x condition x task, and paired gaps."""

    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: list[Record]) -> Summary:
        """Aggregate records (the task ``all`` pools every task)."""
        summary = cls()
        for r in records:
            for task in (r.task, "all"):
                cell = summary.cells.setdefault((r.model, r.condition, task), Cell())
                setattr(cell, r.outcome, getattr(cell, r.outcome) + 1)
        by_key: dict[tuple[str, str], dict[tuple[str, str, int], bool]] = defaultdict(dict)
        for r in records:
            if r.outcome != "skipped":
                by_key[(r.model, r.condition)][(r.task, r.instance, r.seed)] = r.outcome == "passed"
        for model in sorted({r.model for r in records}):
            for better, worse in GAPS:
                a, b = by_key.get((model, better), {}), by_key.get((model, worse), {})
                shared = sorted(set(a) & set(b))
                if not shared:
                    continue
                for task in [*sorted({t for t, _, _ in shared}), "all"]:
                    gap = Gap(model, better, worse, task)
                    for key in shared:
                        if task != "all" and key[0] != task:
                            continue
                        gap.pairs += 1
                        gap.fixed += a[key] and not b[key]
                        gap.broken += b[key] and not a[key]
                    summary.gaps.append(gap)
        return summary

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        rows = [
            {"model": m, "condition": c, "task": t, **cell.to_dict()}
            for (m, c, t), cell in sorted(self.cells.items())
        ]
        gaps = [
            {
                "model": g.model,
                "gap": f"{g.better} - {g.worse}",
                "task": g.task,
                "pairs": g.pairs,
                "fixed": g.fixed,
                "broken": g.broken,
                "diff": g.diff,
                "mcnemar_p": g.p_value,
            }
            for g in self.gaps
        ]
        return {"pass_rates": rows, "gaps": gaps}


def _pct(cell: Cell | None) -> str:
    if cell is None or cell.rate is None:
        return "-"
    lo, hi = wilson(cell.passed, cell.scored)
    return f"{100 * cell.rate:5.1f}% [{100 * lo:4.1f}-{100 * hi:5.1f}] {cell.passed}/{cell.scored}"


def format_table(summary: Summary, conditions: list[str]) -> list[str]:
    """Terminal lines: one table per model, then the gaps."""
    lines: list[str] = []
    for model in sorted({m for m, _, _ in summary.cells}):
        conds = [c for c in conditions if any(k[:2] == (model, c) for k in summary.cells)]
        tasks = [*sorted({t for m, _, t in summary.cells if m == model and t != "all"}), "all"]
        width = max(len(t) for t in tasks) + 2
        lines.append(f"model {model}: pass rate [95% Wilson interval] passed/scored")
        lines.append("task".ljust(width) + "".join(c.ljust(30) for c in conds).rstrip())
        for task in tasks:
            row = task.ljust(width) + "".join(
                _pct(summary.cells.get((model, c, task))).ljust(30) for c in conds
            )
            lines.append(row.rstrip())
        for better, worse in GAPS:
            per_task = [
                g for g in summary.gaps if (g.model, g.better, g.worse) == (model, better, worse)
            ]
            if not per_task:
                continue
            parts = [
                f"{g.task} {100 * (g.diff or 0):+.1f} (+{g.fixed}/-{g.broken}, p={g.p_value:.2g})"
                for g in per_task
            ]
            lines.append(
                f"gap {better} - {worse} (pts, fixed/broken pairs, McNemar p): " + ", ".join(parts)
            )
    return lines
