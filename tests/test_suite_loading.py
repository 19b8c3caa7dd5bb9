"""Suite schema and loading: every problem is one error naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ureason.collect.loader import load_suite
from pytest_ureason.collect.schema import SAFE_ID
from tests.conftest import ARITH_SUITE, write


def test_valid_yaml_suite(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path / "a.yaml", ARITH_SUITE))
    assert suite.errors == []
    assert suite.name == "demo/arithmetic" and suite.version == 1
    assert [i.id for i in suite.instances] == ["add-1", "mul-1", "lit-1"]
    first = suite.instances[0]
    assert first.task == "arithmetic" and first.line == 5
    assert [s.name for s in first.expect] == ["count", "color"]
    assert first.expect[0].to_dict() == {"count": {"object": "apple", "op": "==", "value": 5}}


def test_aliases_and_plurals_are_canonicalised(tmp_path: Path) -> None:
    suite = load_suite(
        write(
            tmp_path / "a.yaml",
            """\
        - id: x-1
          task: t
          prompt: p
          expect:
            - count: {object: Apples, value: 2}
            - relation: {subject: bike, relation: left_of, object: sofa}
        """,
        )
    )
    assert suite.errors == []
    count, rel = suite.instances[0].expect
    assert count.params.object == "apple"  # type: ignore[attr-defined]
    assert (rel.params.subject, rel.params.relation, rel.params.object) == (  # type: ignore[attr-defined]
        "bicycle",
        "left of",
        "couch",
    )


def test_jsonl_errors_keep_the_other_lines(tmp_path: Path) -> None:
    good = {
        "id": "j-1",
        "task": "t",
        "prompt": "an apple",
        "expect": [{"present": {"object": "apple"}}],
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "j-2", "tags": "x"}),
        "",
        json.dumps({**good, "id": "j-3"}),
        json.dumps([1, 2]),
    ]
    suite = load_suite(write(tmp_path / "s.jsonl", "\n".join(lines) + "\n"))
    assert [i.id for i in suite.instances] == ["j-1", "j-3"]
    messages = [str(e) for e in suite.errors]
    assert messages[0].endswith(
        "s.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes at column 2"
    )
    assert ":3: instance 'j-2': field tags: input should be a valid list" in messages[1]
    assert ":6: entry must be a mapping" in messages[2]
    assert len(messages) == 3


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("instances: 5\n", 1, "field instances: input should be a valid list"),
        ("bogus: 1\ninstances: []\n", 1, "field bogus: extra inputs are not permitted"),
        ("- 3\n", 1, "entry must be a mapping"),
        ("just text\n", 1, "a suite file must be a mapping"),
        ("a: [\n", 2, "invalid YAML"),
        (
            "- generator: code\n  count: -1\n  seed: 1\n",
            2,
            "generator spec: field count: input should be greater than or equal to 0",
        ),
        (
            "- generator: code\n  count: 2\n  seed: 1\n  colour: red\n",
            4,
            "generator spec: field colour: extra inputs are not permitted",
        ),
        (
            "- id: x\n  task: t\n  prompt: p\n  expect:\n    - count: {object: apple, value: 1}\n"
            "      present: {object: apple}\n",
            5,
            "field expect[0]: each assertion is a mapping with exactly one key",
        ),
        (
            "- id: x\n  task: t\n  prompt: p\n  expect:\n    - text: {}\n",
            5,
            "field expect[0].text: give exactly one of 'contains' or 'equals'",
        ),
        (
            "- id: x\n  task: t\n  prompt: p\n  expect:\n"
            "    - count: {object: apple, value: 2.5}\n",
            5,
            "field expect[0].count.value: input should be a valid integer",
        ),
        (
            "- id: x\n  task: t\n  prompt: p\n  expect:\n    - count: {object: apple, op: '=~', "
            "value: 2}\n",
            5,
            "field expect[0].count.op: input should be '==', '>=', '<=', '>' or '<'",
        ),
        (
            "- id: x\n  prompt: p\n  expect: [{present: {object: apple}}]\n",
            1,
            "field task: field required",
        ),
    ],
)
def test_errors_name_line_and_field(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    suite = load_suite(write(tmp_path / "bad.yaml", text))
    assert len(suite.errors) == 1
    error = suite.errors[0]
    assert error.line == line, str(error)
    assert fragment in error.message, str(error)
    assert str(error).startswith(f"{tmp_path / 'bad.yaml'}:{line}: ")


@pytest.mark.parametrize(
    "bad", ["../etc", "a/b", "a\\b", ".hidden", "", "x" * 101, "tab\tid", "trailing.", "ü-1"]
)
def test_unsafe_ids_are_rejected(bad: str) -> None:
    assert SAFE_ID.match(bad) is None


@pytest.mark.parametrize("good", ["a", "arith-0007", "A.b_c-9", "x" * 100])
def test_safe_ids_are_accepted(good: str) -> None:
    assert SAFE_ID.match(good) is not None


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    suite = load_suite(path)
    assert suite.instances == [] and "cannot read suite file" in suite.errors[0].message


def test_generated_suite_of_ten_thousand_loads(tmp_path: Path) -> None:
    suite = load_suite(
        write(
            tmp_path / "big.yaml",
            """\
        task: code
        instances:
          - generator: code
            count: 10000
            seed: 11
        """,
        )
    )
    assert suite.errors == [] and len(suite.instances) == 10000
    assert len({i.prompt for i in suite.instances}) == 10000


def test_duplicate_id_within_a_file(tmp_path: Path) -> None:
    suite = load_suite(
        write(
            tmp_path / "d.yaml",
            ARITH_SUITE
            + """\
  - id: add-1
    prompt: again
    expect: [{present: {object: cup}}]
""",
        )
    )
    assert [i.id for i in suite.instances] == ["add-1", "mul-1", "lit-1"]
    assert [str(e).split(": ", 1)[1] for e in suite.errors] == [
        "instance 'add-1': duplicate id (first defined at line 5)"
    ]
    assert suite.errors[0].line == 21
