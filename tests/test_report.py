"""Pass rates, Wilson intervals and paired gaps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.results.summary import Record, Summary, format_table, wilson


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (5, 10, 0.2366, 0.7634),
        (1, 3, 0.0615, 0.7923),
    ],
)
def test_wilson_known_values(k: int, n: int, lo: float, hi: float) -> None:
    assert wilson(k, n) == pytest.approx((lo, hi), abs=1e-4)


@given(n=st.integers(1, 500), data=st.data())
@settings(max_examples=200, deadline=None)
def test_wilson_contains_the_rate(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    lo, hi = wilson(k, n)
    assert 0 <= lo <= k / n <= hi <= 1


def _records() -> list[Record]:
    out = []
    for i in range(4):
        out.append(Record("m", "direct", "arith", f"i{i}", 0, "passed" if i == 0 else "failed"))
        out.append(Record("m", "reasoning", "arith", f"i{i}", 0, "passed" if i < 2 else "failed"))
        out.append(Record("m", "decontext", "arith", f"i{i}", 0, "passed" if i != 1 else "error"))
    out.append(Record("m", "decontext", "text", "t0", 0, "skipped"))
    return out


def test_cells_and_paired_gaps() -> None:
    summary = Summary.from_records(_records())
    assert summary.cells[("m", "decontext", "arith")].rate == 0.75
    assert summary.cells[("m", "decontext", "arith")].error == 1
    assert summary.cells[("m", "decontext", "text")].rate is None  # only skipped
    gap = next(
        g
        for g in summary.gaps
        if (g.better, g.worse, g.task) == ("decontext", "reasoning", "arith")
    )
    # i1 passed under reasoning but errored under decontext; i2, i3 fixed by decontext.
    assert (gap.pairs, gap.fixed, gap.broken, gap.diff) == (4, 2, 1, 0.25)
    lines = format_table(summary, ["direct", "reasoning", "decontext"])
    assert lines[0].startswith("model m: pass rate")
    assert any(line.startswith("arith") and "75.0%" in line for line in lines)
    assert any(
        line.startswith("gap decontext - reasoning") and "arith +25.0 (+2/-1, p=1)" in line
        for line in lines
    )
    data = summary.to_json()
    assert {r["task"] for r in data["pass_rates"]} == {"arith", "text", "all"}
