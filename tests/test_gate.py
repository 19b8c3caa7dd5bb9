"""The release gate: baselines written from a run, an unchanged model passes, a degraded one
fails with its flipped items named, an improvement is signalled, other suite versions are not
compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ureason.cli.main import main
from pytest_ureason.results.gate import Baseline, BaselineError, compare, format_gate
from pytest_ureason.results.junit import item_from_props
from tests.conftest import REPO, write

SUITE = """\
suite: demo/gate
version: 1
task: arithmetic
instances:
  - generator: arithmetic
    count: 14
    seed: 3
"""
DEGRADED = ("-p", "benchmarks.degraded_model", "--model", "reference-degraded")


@pytest.fixture
def gate_dir(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    pytester.syspathinsert(REPO)  # benchmarks.degraded_model
    return write(pytester.path / "suites" / "gate.yaml", SUITE)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--condition", "decontext", "--condition", "direct", *args)


def test_unchanged_passes_and_degraded_fails(pytester: pytest.Pytester, gate_dir: Path) -> None:
    regen = _run(pytester, "--model", "reference", "--gate", "b.json", "--ureason-regen-baseline")
    regen.stdout.fnmatch_lines(
        ["*ureason gate*", "baseline written to *b.json: 28 items of reference"]
    )
    assert regen.ret == 0  # verdict failures (direct) are measurements under a gate
    data = json.loads((pytester.path / "b.json").read_text())
    assert data["suites"]["demo/gate"]["version"] == "1"
    assert data["pass_rates"]["decontext"] == {"passed": 14, "scored": 14}
    assert len(data["fingerprints"]) == 1

    same = _run(pytester, "--model", "reference", "--gate", "b.json")
    same.stdout.fnmatch_lines(
        [
            "decontext: 14/14 -> 14/14 passed (+0.0 pts), 0 broke, 0 fixed, p=1: UNCHANGED",
            "GATE PASSED",
        ]
    )
    assert same.ret == 0

    bad = _run(pytester, *DEGRADED, "--model-arg", "fraction=1", "--gate", "b.json")
    bad.stdout.fnmatch_lines(
        [
            "note: the baseline is of model 'reference', this run 'reference-degraded'",
            "note: model fingerprint * differs from the baseline's *",
            "decontext: 14/14 -> */14 passed (-*), * broke, 0 fixed, p=*: REGRESSION",
            "  broke: arithmetic/arith-g3-00*[[]decontext-s0[]]",
            "GATE FAILED",
        ]
    )
    assert bad.ret == 1

    # A slightly degraded model: a flip is listed, but one flip is not significant.
    mild = _run(pytester, *DEGRADED, "--model-arg", "fraction=0.08", "--gate", "b.json")
    assert mild.ret == 0
    mild.stdout.fnmatch_lines(["decontext: *1 broke, 0 fixed, p=1: NOT SIGNIFICANT", "  broke: *"])


def test_improvement_is_signalled_and_versions_are_checked(
    pytester: pytest.Pytester, gate_dir: Path
) -> None:
    _run(
        pytester,
        *DEGRADED,
        "--model-arg",
        "fraction=1",
        "--gate",
        "b.json",
        "--ureason-regen-baseline",
        "--junitxml=degraded.xml",
    )
    better = _run(pytester, "--model", "reference", "--gate", "b.json", "--junitxml=good.xml")
    assert better.ret == 0
    better.stdout.fnmatch_lines(
        ["*: IMPROVEMENT", "  fixed: *", "GATE PASSED with a significant improvement: refresh*"]
    )
    # The CLI gives the same verdicts from the junit files.
    assert (
        main(
            [
                "gate",
                str(pytester.path / "good.xml"),
                "--baseline",
                "b.json",
                "--model",
                "reference",
            ]
        )
        == 0
    )
    assert (
        main(["gate", str(pytester.path / "good.xml"), "--baseline", "b.json", "--regen"]) == 0
    )  # now the baseline holds the reference model
    assert (
        main(
            [
                "gate",
                str(pytester.path / "degraded.xml"),
                "--baseline",
                "b.json",
                "--model",
                "reference-degraded",
            ]
        )
        == 1
    )

    gate_dir.write_text(SUITE.replace("version: 1", "version: 2"))
    moved = _run(pytester, "--model", "reference", "--gate", "b.json")
    moved.stdout.fnmatch_lines(
        [
            "note: suite demo/gate: version 2 here, 1 in the baseline: not compared*",
            "note: no item could be compared with the baseline: the gate fails",
            "GATE FAILED",
        ]
    )
    assert moved.ret == 1


def test_gate_usage_and_file_errors(pytester: pytest.Pytester, gate_dir: Path) -> None:
    result = _run(pytester, "--gate", "b.json")
    result.stderr.fnmatch_lines(["*--gate needs --model*"])
    result = _run(pytester, "--model", "reference", "--ureason-regen-baseline")
    result.stderr.fnmatch_lines(["*--ureason-regen-baseline needs --gate PATH*"])
    result = _run(pytester, "--model", "reference", "--gate", "b.json", "--gate-alpha", "2")
    result.stderr.fnmatch_lines(["*--gate-alpha must be a number in [[]0, 1[]], got '2'"])
    write(pytester.path / "b.json", '{"format": "pytest-ureason-baseline", "version": 2}')
    result = _run(pytester, "--model", "reference", "--gate", "b.json")
    result.stderr.fnmatch_lines(["*--gate: *b.json: field 'model' must be a non-empty string"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # A plain failing test still fails a gated session.
    pytester.makepyfile(test_plain="def test_plain():\n    assert False\n")
    _run(pytester, "--model", "reference", "--gate", "b2.json", "--ureason-regen-baseline")
    result = _run(pytester, "--model", "reference", "--gate", "b2.json")
    result.stdout.fnmatch_lines(["GATE PASSED", "1 failures outside the suite items"])
    assert result.ret == 1


def _items(outcomes: list[str], condition: str = "decontext") -> list:  # type: ignore[type-arg]
    return [
        item_from_props(
            {
                "ureason_model": "m",
                "ureason_condition": condition,
                "ureason_task": "t",
                "ureason_instance": f"i{n}",
                "ureason_seed": "0",
                "ureason_suite": "s@1",
            },
            outcome,
            "test",
        )
        for n, outcome in enumerate(outcomes)
    ]


def test_compare_alpha_and_min_effect() -> None:
    base = Baseline.from_items(_items(["passed"] * 100), "m")
    # Six of 100 broke, none fixed: p = 2 / 2**6 = 0.03125.
    now = _items(["failed"] * 6 + ["passed"] * 94)
    assert compare(base, now).failed
    assert not compare(base, now, alpha=0.01).failed
    assert not compare(base, now, min_effect=0.07).failed
    g = compare(base, now).conditions[0]
    assert (g.pairs, len(g.broken), g.p_value) == (100, 6, pytest.approx(0.03125))
    # A baseline pass that this run skips is a loss: six skips fail the gate like six failures.
    skipped = _items(["skipped"] * 6 + ["passed"] * 94)
    g = compare(base, skipped).conditions[0]
    assert (g.pairs, len(g.broken), g.skipped) == (100, 6, 6)
    assert compare(base, skipped).failed
    assert "(6 baseline passes skipped in this run)" in "\n".join(
        format_gate(compare(base, skipped))
    )
    # A baseline failure that is now skipped, or a baseline skip, carries nothing to compare.
    failing = Baseline.from_items(_items(["failed"] * 6 + ["skipped"] * 94), "m")
    assert compare(failing, _items(["skipped"] * 6 + ["passed"] * 94)).compared == 0


def test_bad_fingerprints_in_a_baseline_is_our_error(tmp_path: Path) -> None:
    base = Baseline.from_items(_items(["passed"] * 3), "m")
    path = tmp_path / "b.json"
    for bad in (5, "abc", [1, 2]):
        data = base.to_json()
        data["fingerprints"] = bad
        path.write_text(json.dumps(data))
        with pytest.raises(BaselineError, match="field 'fingerprints' must be a list of strings"):
            Baseline.read(path)


# -- fail closed: coverage, integrity, and checks before any item runs ---------------------------


def _stored(pytester: pytest.Pytester) -> int:
    return len(list((pytester.path / ".store").rglob("*.json")))


def test_baseline_covering_less_than_the_run_fails_unless_allowed(
    pytester: pytest.Pytester, gate_dir: Path
) -> None:
    # A baseline of the decontext items alone, gated with direct items too: 14 run items are
    # not in it. They are counted and named, and fail the gate unless accepted as new.
    pytester.runpytest(
        "--condition", "decontext", "--model", "reference", "--gate", "b.json",
        "--ureason-regen-baseline",
    )  # fmt: skip
    result = _run(pytester, "--model", "reference", "--gate", "b.json")
    result.stdout.fnmatch_lines(
        [
            "decontext: 14/14 -> 14/14 passed*UNCHANGED",
            "14 items of this run are not in the baseline: the baseline covers less than the "
            "run, the gate fails*--gate-allow-new*",
            "  new: arithmetic/arith-g3-00*[[]direct-s0[]]",
            "GATE FAILED",
        ]
    )
    assert result.ret == 1
    allowed = _run(pytester, "--model", "reference", "--gate", "b.json", "--gate-allow-new")
    allowed.stdout.fnmatch_lines(
        ["14 items of this run are not in the baseline: accepted as new (--gate-allow-new)",
         "GATE PASSED"]
    )  # fmt: skip
    assert allowed.ret == 0
    pytester.makeini("[pytest]\nureason_store = .store\nureason_gate_allow_new = true\n")
    assert _run(pytester, "--model", "reference", "--gate", "b.json").ret == 0


def test_missing_items_are_counted_and_the_first_named() -> None:
    # The case: a baseline from which the regressed items were dropped (and its digest
    # rewritten) compared 465/465 -> 465/465 and passed.
    run = _items(["failed"] * 85 + ["passed"] * 465)
    base = Baseline.from_items(_items(["passed"] * 550)[85:], "m")
    result = compare(base, run)
    assert (result.compared, len(result.new), result.failed) == (465, 85, True)
    lines = format_gate(result)
    assert lines[-1] == "GATE FAILED"
    assert sum(line.startswith("  new: t/i") for line in lines) == 20
    assert "  new: ... and 65 more" in lines
    assert not compare(base, run, allow_new=True).failed


def test_edited_old_or_broken_baselines_are_refused_before_any_item(
    pytester: pytest.Pytester, gate_dir: Path
) -> None:
    _run(pytester, "--model", "reference", "--gate", "b.json", "--ureason-regen-baseline")
    path = pytester.path / "b.json"
    good = path.read_text()
    data = json.loads(good)
    assert len(data["digest"]) == 64 and data["version"] == 2
    for store in (pytester.path / ".store",):
        import shutil

        shutil.rmtree(store)
    failing = next(k for k, v in data["suites"]["demo/gate"]["items"].items() if v == "failed")
    edited = dict(data, suites={"demo/gate": {"version": "1", "items": {
        **data["suites"]["demo/gate"]["items"], failing: "passed"}}})  # fmt: skip
    rates = dict(data, pass_rates={"decontext": {"passed": 1, "scored": 14}})
    old = {k: v for k, v in data.items() if k != "digest"} | {"version": 1}
    cases = [
        (json.dumps(edited), "field 'digest' does not match the file's content*regenerate it "
         "with --ureason-regen-baseline"),
        (json.dumps(rates), "field 'digest' does not match*"),
        (json.dumps(old), "an old baseline (format version 1, without a digest)*regenerate it "
         "with --ureason-regen-baseline"),
        (json.dumps({k: v for k, v in data.items() if k != "digest"}),
         "field 'digest' is missing: regenerate it with --ureason-regen-baseline"),
        (good[: len(good) // 2], "not JSON: *"),
    ]  # fmt: skip
    for text, message in cases:
        path.write_text(text)
        result = _run(pytester, "--model", "reference", "--gate", "b.json")
        result.stderr.fnmatch_lines([f"*--gate: {path}: {message}"])
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert _stored(pytester) == 0  # nothing was generated: no item ran
        # The CLI refuses the same files, before reading any results.
        assert main(["gate", "missing.xml", "--baseline", str(path)]) == 2
    # A digest recomputed over consistent content is accepted, even if written elsewhere;
    # pass rates that disagree with the items are refused even with a matching digest.
    from pytest_ureason.results.gate import digest_of

    forged = dict(rates, digest=digest_of(rates))
    path.write_text(json.dumps(forged))
    with pytest.raises(BaselineError, match="field 'pass_rates' disagrees with the items"):
        Baseline.read(path)
