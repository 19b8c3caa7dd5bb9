"""`ureason report` and `ureason export` on junit files written by real runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.cli.main import main
from pytest_ureason.results.junit import ResultsError, load_results, missing_from_suites
from pytest_ureason.results.summary import mcnemar_exact
from tests.conftest import write


@given(st.integers(0, 60), st.integers(0, 60))
@settings(max_examples=150, deadline=None)
def test_mcnemar_matches_the_binomial_test(fixed: int, broken: int) -> None:
    from scipy.stats import binomtest

    expected = binomtest(fixed, fixed + broken, 0.5).pvalue if fixed + broken else 1.0
    assert mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.fixture
def shards(pytester: pytest.Pytester, suite_dir: Path) -> list[Path]:
    """Two shards of the demo suite (3 instances x 3 conditions) as junit files."""
    out = []
    ran = 0
    for i in (1, 2):
        result = pytester.runpytest(
            "--model", "reference", "--shard", f"{i}/2", f"--junitxml=s{i}.xml"
        )
        ran += sum(result.parseoutcomes().get(k, 0) for k in ("passed", "failed"))
        out.append(pytester.path / f"s{i}.xml")
    assert ran == 9
    return out


def test_shards_merge_and_problems_are_named(
    shards: list[Path], pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    merged = load_results(shards)
    assert len(merged.items) == 9 and merged.problems() == []
    alone = load_results(shards[1:])
    assert alone.missing_shards == ["missing: shard 1/2 (no file has its items)"]
    twice = load_results([shards[0], shards[0]])
    assert len(twice.overlaps) == len(twice.items) == 9 - len(alone.items) > 0
    assert twice.overlaps[0].startswith("overlap: reference arithmetic/")
    # Drop one testcase: the merge names the item missing from the grid.
    needle = '<testcase classname="suites.arith.yaml" name="arithmetic/lit-1[direct-s0]"'
    holder = next(p for p in shards if needle in p.read_text())
    text = holder.read_text()
    start = text.index(needle)
    end = text.index("</testcase>", start) + len("</testcase>")
    cut = write(pytester.path / "cut.xml", text[:start] + text[end:])
    others = [p for p in shards if p != holder]
    assert load_results([cut, *others]).missing_items == [
        "missing: reference arithmetic/lit-1[direct-s0]"
    ]
    assert main(["report", str(shards[0]), str(shards[0])]) == 1  # overlapping shards
    # Given the suites that ran, every item of a missing shard is named, with its shard.
    lines = missing_from_suites(
        alone, [("arithmetic", i, False) for i in ("add-1", "mul-1", "lit-1")]
    )
    assert len(lines) == 9 - len(alone.items) and lines[0].endswith(" (shard 1/2)")
    assert main(["report", str(shards[1]), "--suites", str(pytester.path / "suites")]) == 0
    assert "missing: reference arithmetic/" in capsys.readouterr().out


def test_report_writes_tables_json_and_html(
    shards: list[Path], pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    out = pytester.path / "out"
    code = main(
        ["report", *map(str, shards), "--json", str(out / "r.json"), "--html", str(out / "r.html")]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "9 suite items from 2 file(s)" in text
    assert "gap decontext - reasoning (pts, fixed/broken pairs, McNemar p)" in text
    data = json.loads((out / "r.json").read_text())
    rates = {(r["condition"], r["task"]): (r["passed"], r["scored"]) for r in data["pass_rates"]}
    assert rates[("decontext", "all")] == (3, 3) and rates[("direct", "all")] == (1, 3)
    gap = next(
        g for g in data["gaps"] if g["gap"] == "decontext - reasoning" and g["task"] == "all"
    )
    assert (gap["fixed"], gap["broken"], gap["mcnemar_p"]) == (2, 0, 0.5)
    page = (out / "r.html").read_text()
    assert page.count('<table class="rates">') == 1 and "data:image/svg+xml;base64," in page
    assert page.count("data:image/png;base64,") >= 3  # the stored images, embedded


def test_unreadable_results_are_clear_errors(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(pytester.path / "bad.xml", "<testsuites><testcase")
    assert main(["report", str(bad)]) == 2
    assert f"ureason report: {bad}:1:" in capsys.readouterr().err
    seed = write(
        pytester.path / "seed.xml",
        '<testsuites><testsuite><testcase name="t/i[direct-s0]"><properties>'
        '<property name="ureason_model" value="m"/><property name="ureason_condition" '
        'value="direct"/><property name="ureason_task" value="t"/><property '
        'name="ureason_instance" value="i"/><property name="ureason_seed" value="zero"/>'
        "</properties></testcase></testsuite></testsuites>",
    )
    with pytest.raises(
        ResultsError,
        match=r"seed.xml: testcase 't/i\[direct-s0\]' \(#1\): "
        r"property ureason_seed: not an integer: 'zero'",
    ):
        load_results([seed])
    assert main(["report", str(pytester.path / "nope.xml")]) == 2
    assert "nope.xml: cannot read" in capsys.readouterr().err


def test_export_writes_the_passing_generations(
    shards: list[Path], pytester: pytest.Pytester
) -> None:
    out = pytester.path / "train"
    assert main(["export", "--passing", *map(str, shards), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [
        "arithmetic/add-1[decontext-s0]",
        "arithmetic/lit-1[decontext-s0]",
        "arithmetic/lit-1[direct-s0]",
        "arithmetic/lit-1[reasoning-s0]",
        "arithmetic/mul-1[decontext-s0]",
    ]
    first = rows[0]
    assert first["prompt"] == "Draw as many red apples as the value of 2 + 3."
    assert first["drawn_prompt"] == "A picture of 5 red apples."
    assert "<refined_prompt>" in first["reasoning"] and first["suite"] == "demo/arithmetic@1"
    assert all(v["passed"] for v in first["verdicts"])
    image = (out / first["image"]).read_bytes()
    assert first["image"] == f"images/{hashlib.sha256(image).hexdigest()[:2]}/" + (
        f"{hashlib.sha256(image).hexdigest()}.png"
    )
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["examples"] == 5 and "drawn_prompt" in meta["fields"]
    # Exporting again (one condition only) replaces the set: no stale image stays behind, and
    # a file of the user's own in the folder is left alone.
    (out / "images" / "notes.txt").write_text("mine")
    assert main(["export", "--passing", *map(str, shards), "--out", str(out),
                 "--condition", "direct"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["arithmetic/lit-1[direct-s0]"]
    on_disk = {p.relative_to(out).as_posix() for p in out.glob("images/??/*.png")}
    assert on_disk == {rows[0]["image"]}
    assert (out / "images" / "notes.txt").read_text() == "mine"
