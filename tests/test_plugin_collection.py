"""Collection of suite files into items: ids, order, filters, options and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ARITH_SUITE, write


def test_items_and_ids(pytester: pytest.Pytester, suite_dir: Path) -> None:
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "suites/arith.yaml::arithmetic/add-1[[]direct-s0[]]",
            "suites/arith.yaml::arithmetic/add-1[[]reasoning-s0[]]",
            "suites/arith.yaml::arithmetic/add-1[[]decontext-s0[]]",
            "suites/arith.yaml::arithmetic/mul-1[[]direct-s0[]]",
            "*9 tests collected*",
        ]
    )


def test_collection_order_is_deterministic(pytester: pytest.Pytester, suite_dir: Path) -> None:
    write(
        suite_dir / "gen.yaml",
        """\
        task: code
        instances:
          - generator: code
            count: 5
            seed: 3
        """,
    )
    first = pytester.runpytest("--collect-only", "-q").outlines
    second = pytester.runpytest("--collect-only", "-q").outlines
    items = [line for line in first if "::" in line]
    assert len(items) == 9 + 15
    assert items == [line for line in second if "::" in line]


def test_k_selects_a_condition(pytester: pytest.Pytester, suite_dir: Path) -> None:
    result = pytester.runpytest("suites/arith.yaml", "-k", "decontext", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*3/9 tests collected (6 deselected)*"])
    assert all("decontext" in line for line in result.outlines if "::" in line)


def test_conditions_seeds_and_task_filter(pytester: pytest.Pytester, suite_dir: Path) -> None:
    write(
        suite_dir / "other.yaml",
        """\
        task: text
        instances:
          - id: t-1
            prompt: Draw a sign that reads "HI".
            expect: [{text: {contains: HI}}]
        """,
    )
    result = pytester.runpytest(
        "--collect-only", "-q", "--condition", "direct", "--seeds", "2", "--task", "text"
    )
    result.stdout.fnmatch_lines(
        ["suites/other.yaml::text/t-1[[]direct-s1[]]", "*2/8 tests collected (6 deselected)*"]
    )


def test_options_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_conditions =\n    decontext\nureason_seeds = 3\n")
    write(pytester.path / "suites/arith.yaml", ARITH_SUITE)
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*arithmetic/add-1[[]decontext-s2[]]", "*9 tests collected*"])


def test_without_model_items_are_skipped_with_reason(
    pytester: pytest.Pytester, suite_dir: Path
) -> None:
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=9)
    result.stdout.fnmatch_lines(["*no model: pass --model NAME (e.g. --model reference)*"])


def test_naming_rule(pytester: pytest.Pytester) -> None:
    one = {
        "id": "x-1",
        "task": "t",
        "prompt": "an apple",
        "expect": [{"present": {"object": "apple"}}],
    }
    import json

    write(pytester.path / "data/config.yaml", "not: a suite\n")
    write(pytester.path / "bench/mine.suite.jsonl", json.dumps(one) + "\n")
    write(pytester.path / "loose/plain.jsonl", json.dumps({**one, "id": "x-2"}) + "\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["bench/mine.suite.jsonl::t/x-1[[]direct-s0[]]", "*3 tests collected*"]
    )
    explicit = pytester.runpytest("--collect-only", "-q", "loose/plain.jsonl")
    explicit.stdout.fnmatch_lines(["loose/plain.jsonl::t/x-2[[]direct-s0[]]"])
    # a folder named on the command line (no Python module in it) collects its files
    folder = pytester.runpytest("--collect-only", "-q", "loose")
    folder.stdout.fnmatch_lines(["loose/plain.jsonl::t/x-2[[]direct-s0[]]", "*3 tests collected*"])


def test_broken_file_fails_alone_and_others_run(pytester: pytest.Pytester, suite_dir: Path) -> None:
    write(
        suite_dir / "broken.yaml",
        """\
        task: arithmetic
        instances:
          - id: b-1
            prompt: Draw 3 apples.
            expect:
              - count: {object: apple, op: "==", value: three}
          - id: b-2
            prompt: Draw an apple.
            expect: [{present: {object: apple}}]
        """,
    )
    write(suite_dir / "syntax.yaml", "task: x\ninstances:\n  - id: [unclosed\n")
    result = pytester.runpytest("--model", "reference", "--condition", "direct", "-v")
    result.stdout.fnmatch_lines(
        [
            "*broken.yaml:6: instance 'b-1': field expect[[]0[]].count.value: input should be a "
            "valid integer*got 'three'",
            "*syntax.yaml:4: invalid YAML*",
        ]
    )
    # 2 suite errors + 2 honest verdict failures (add-1, mul-1 drawn literally); lit-1 and b-2,
    # a valid instance of the broken file, still ran and passed.
    result.assert_outcomes(passed=2, failed=4)
    assert "suites/broken.yaml::arithmetic/b-2[direct-s0] PASSED" in result.stdout.str()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  - id: ../etc\n    prompt: x\n    expect: [{present: {object: apple}}]\n",
            "*:3: instance '../etc': field id: must be letters, digits*",
        ),
        (
            "  - id: a b\n    prompt: x\n    expect: [{present: {object: apple}}]\n",
            "*:3: instance 'a b': field id: must be letters*",
        ),
        (
            "  - id: u-1\n    prompt: x\n    expect: [{sparkle: {object: apple}}]\n",
            "*:5: instance 'u-1': field expect[[]0[]]: unknown assertion 'sparkle'*",
        ),
        (
            "  - id: u-2\n    prompt: 12\n    expect: [{present: {object: apple}}]\n",
            "*:4: instance 'u-2': field prompt: input should be a valid string, got 12*",
        ),
        (
            "  - id: u-3\n    prompt: x\n    expect: [{color: {object: apple, color: plaid}}]\n",
            "*:5: instance 'u-3': field expect[[]0[]].color.color: unknown color 'plaid'*",
        ),
        (
            "  - id: u-4\n    prompt: x\n    expect: []\n",
            "*:5: instance 'u-4': field expect: list should have at least 1 item*",
        ),
        (
            "  - generator: nope\n    count: 2\n    seed: 1\n",
            "*:3: generator spec: unknown generator 'nope'*",
        ),
    ],
)
def test_bad_instances_name_file_line_and_field(
    pytester: pytest.Pytester, entry: str, message: str
) -> None:
    write(pytester.path / "suites/bad.yaml", "task: t\ninstances:\n" + entry)
    result = pytester.runpytest("--model", "reference")
    result.stdout.fnmatch_lines([message])
    result.assert_outcomes(failed=1)


def test_duplicate_ids_within_and_across_files(pytester: pytest.Pytester, suite_dir: Path) -> None:
    write(suite_dir / "dup.yaml", ARITH_SUITE.replace("demo/arithmetic", "dup"))
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["*dup.yaml::suite-error[[]line-5[]]*"])
    run = pytester.runpytest(
        "--model", "reference", "--condition", "direct", "suites/arith.yaml", "suites/dup.yaml"
    )
    run.stdout.fnmatch_lines(
        [
            "*dup.yaml:5: instance 'add-1': task/id 'arithmetic/add-1' is "
            "already defined at *arith.yaml:5"
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "*--shard must be i/N with 1 <= i <= N, got '3/2'*"),
        (["--condition", "sideways"], "*--condition 'sideways' is not a condition*"),
        (["--seeds", "zero"], "*--seeds must be an integer, got 'zero'*"),
        (["--model-arg", "novalue"], "*--model-arg must be KEY=VALUE*"),
        (["--model", "no-such-model"], "*--model: unknown model 'no-such-model'*"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, suite_dir: Path, args: list[str], message: str
) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
