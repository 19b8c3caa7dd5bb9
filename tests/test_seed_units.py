"""Unit tests of the seed formats (issue 8): grammar, yes/no parsing, ids, importers, tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_ureason.collect.formats import safe_id, sniff
from pytest_ureason.collect.loader import load_suite
from pytest_ureason.collect.schema import SAFE_ID
from pytest_ureason.conditions import extract_refined
from pytest_ureason.judge.derive import derive, judge_text, read_text
from pytest_ureason.judge.yesno import parse_decision, render, template_hash
from pytest_ureason.results.seedstats import SeedRow, agreement, coverage, two_by_two

EXAMPLES = Path(__file__).parent / "examples" / "seed_formats"


def _derived(text: str) -> list[str]:
    return [s.describe() for s in derive(text).specs]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Exactly 2 red apples",
            [
                "count(object=apple, op===, value=2) [derived]",
                "color(object=apple, color=red) [derived]",
            ],
        ),
        (
            "An empty table with 0 candles.",
            ["present(object=dining table) [derived]", "absent(object=candle) [derived]"],
        ),
        ("Chairs", ["present(object=chair) [derived]"]),
        (
            "three blue cups and a book",
            [
                "count(object=cup, op===, value=3) [derived]",
                "color(object=cup, color=blue) [derived]",
                "present(object=book) [derived]",
            ],
        ),
        ("A picture of no dogs", ["absent(object=dog) [derived]"]),
        ("exactly one cup", ["count(object=cup, op===, value=1) [derived]"]),
        ("an orange", ["present(object=orange) [derived]"]),
        (
            "one orange cat",
            [
                "count(object=cat, op===, value=1) [derived]",
                "color(object=cat, color=orange) [derived]",
            ],
        ),
        ("only a cup", ["count(object=cup, op===, value=1) [derived]"]),
        (
            "2 frogs, 1 duck, and 3 fish",
            [
                "count(object=frog, op===, value=2) [derived]",
                "count(object=duck, op===, value=1) [derived]",
                "count(object=fish, op===, value=3) [derived]",
            ],
        ),
    ],
)
def test_grammar_derives_checkable_shapes(text: str, expected: list[str]) -> None:
    assert _derived(text) == expected
    assert derive(text).refused is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Three red apples on a table", "does not cover 'on a table'"),
        ("A dog to the left of a cat", "does not cover"),
        ("two red apples and one green apple", "apple is named twice"),
        ("0 red candles", "leaves other colors open"),
        ("a big apple", "expected an object name at 'big apple'"),
        ("More than 3 apples", "expected an object name"),
        ('A sign that reads "OPEN"', "expected an object name"),
        ("apples or oranges", "does not cover 'or oranges'"),
        ("not red apples", "expected an object name"),
        ("a unicorn", "expected an object name at 'unicorn'"),
        ("4", "expected an object name at 'the end'"),
        ("", "empty expectation"),
        ("apple " * 61, "longer than 60 words"),
        ("12345 apples", "beyond what a detector counts"),
        ("\u00b9 apple", "expected an object name"),
        # review: "only apples" is nothing but apples, not exactly one apple
        ("Only apples", "'only' without a number leaves the count open"),
        ("exactly apples", "'exactly' without a number leaves the count open"),
        # review: "a red apple" allows a green apple beside it; color() wants every apple red
        ("an orange cat", "'orange cat' without a number leaves other cat colors open"),
        ("red apples and 2 cups", "'red apple' without a number leaves other apple colors"),
    ],
)
def test_grammar_refuses_what_it_does_not_cover(text: str, why: str) -> None:
    found = derive(text)
    assert found.specs == ()
    assert found.refused is not None and why in found.refused


@given(st.text(max_size=80))
def test_grammar_never_raises_and_derives_only_known_assertions(text: str) -> None:
    found = derive(text)
    assert (found.refused is None) == bool(found.specs)
    assert all(s.derived and s.name in ("count", "color", "present", "absent") for s in found.specs)


def test_judge_text_reads_the_refined_prompt_with_the_strict_grammar() -> None:
    specs = derive("Exactly 2 red apples and no cups").specs
    assert judge_text(specs, "A picture of 2 red apples.") == ("right", [])
    assert judge_text(specs, "2 red apples and 0 cups") == ("right", [])
    verdict, wrong = judge_text(specs, "A picture of 3 red apples and a cup.")
    assert verdict == "wrong"
    assert wrong == [
        "apple: the text says 3 red, expected 2",
        "cup: the text says a, expected none",
    ]
    # a parsed text without the color (or without a number) did not reach the target
    assert judge_text(specs, "2 apples") == (
        "wrong",
        ["apple: the text says no color, expected red"],
    )
    assert judge_text(specs, "apples")[1][0] == "apple: the text says no number, expected 2"
    # an article states one; a bare plural states no number
    assert judge_text(derive("one cat").specs, "a cat")[0] == "right"
    assert judge_text(derive("a cat").specs, "one cat")[0] == "right"
    assert judge_text(derive("a cat").specs, "0 cats")[0] == "wrong"
    assert judge_text(derive("no candles").specs, "an empty table")[0] == "right"
    assert judge_text(specs, "Draw a picture of 2 red apples.")[0] == "right"
    assert judge_text(specs, "Draw the 2 red apples.")[0] == "undecided"
    assert derive("Draw 2 red apples").refused is not None  # not an expectation shape


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        # the review's shapes: the lenient scene reader took them for 3 red / 2 uncolored apples
        ("two shiny red apples", "expected an object name at 'shiny red apples'"),
        ("two apples that are red", "the grammar does not cover 'that are red'"),
        ("2 red apples on a table", "the grammar does not cover 'on a table'"),
        ("2 red apples and 1 apple", "apple is named twice"),
        ("", "empty text"),
    ],
)
def test_judge_text_is_undecided_outside_the_grammar(text: str, refusal: str) -> None:
    verdict, lines = judge_text(derive("Exactly 2 red apples").specs, text)
    assert verdict == "undecided"
    assert lines == [f"the text is outside the grammar ({refusal})"]
    assert read_text(text).refused == refusal


def test_read_text_allows_what_only_an_image_check_refuses() -> None:
    # a color without a number, a colored zero: refused as expectations, stated in a scene
    assert derive("a red apple").refused is not None
    scene = read_text("a red apple and 0 blue cups")
    assert scene.refused is None
    assert (scene.groups["apple"].color, scene.groups["apple"].article) == ("red", True)
    assert scene.groups["cup"].count == 0


@pytest.mark.parametrize(
    ("answer", "yes", "method"),
    [
        ("The apples are red.\n<answer>Yes</answer>", True, "tag"),
        ("<answer>Yes</answer> wait, recount... <answer> no </answer>", False, "tag"),
        ("<answer>No, there are three</answer>", False, "tag"),
        ("I think the image matches.\nAnswer: yes.", True, "line"),
        ("**Final answer:** No", False, "line"),
        ("<answer>maybe</answer>\nYES", True, "line"),
        ("There are no pears, yes, but I cannot tell.", None, "undecided"),
        ("<answer></answer>", None, "undecided"),
        # review: hedged tags, the answer format quoted or echoed, a quoted tag then a line
        ("<answer>Yes or No</answer>", None, "undecided"),
        ("<answer>yes/no</answer>", None, "undecided"),
        ("I must answer <answer>Yes</answer> or <answer>No</answer>.", None, "undecided"),
        (
            "It matches. <answer>Yes</answer>\nEnd with your verdict: <answer>Yes</answer> if"
            " the image shows the target description, or <answer>No</answer> if it does not.",
            True,
            "tag",
        ),
        ('It wants "<answer>Yes</answer>", but I see 1 apple.\nFinal answer: No', False, "line"),
        ("", None, "undecided"),
    ],
)
def test_yes_no_parsing(answer: str, yes: bool | None, method: str) -> None:
    decision = parse_decision(answer)
    assert (decision.yes, decision.method) == (yes, method)


@given(st.text(max_size=300))
def test_yes_no_parsing_never_raises(text: str) -> None:
    assert parse_decision(text).yes in (True, False, None)


def test_render_fills_each_field_once() -> None:
    """Review of issue 8: a target that contains ``{reasoning}`` must not pull the reasoning
    under test into the target line (nor reasoning text into a second target)."""
    prompt = render("reasoning", "2 apples {reasoning}", "I draw {target} <answer>Yes</answer>")
    assert "Target description: 2 apples {reasoning}\n" in prompt
    assert prompt.count("<answer>Yes</answer>") == 2  # the template's own and the reasoning's
    assert "I draw {target} <answer>Yes</answer>" in prompt


def test_templates_are_data_files_with_the_protocol() -> None:
    prompt = render("image", "Exactly  2\nred apples")
    assert "Target description: Exactly 2 red apples" in prompt
    assert "<answer>Yes</answer>" in prompt and "<answer>No</answer>" in prompt
    assert "step by step" in prompt
    reasoning = render("reasoning", "3 cups", "Reasoning: 1 + 2 = 3")
    assert "Reasoning: 1 + 2 = 3" in reasoning
    assert len(template_hash("image")) == 12 and template_hash("image") != template_hash(
        "reasoning"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(7, "7"), ("12", "12"), (3.0, "3"), (1.5, "1.5"), ("item_01", "item_01")],
)
def test_safe_ids_keep_safe_ids(raw: object, expected: str) -> None:
    assert safe_id(raw, "id") == expected


@given(
    st.one_of(
        st.text(min_size=1, max_size=200),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_safe_ids_are_safe_and_distinct(raw: object) -> None:
    if isinstance(raw, str) and not raw.strip():
        with pytest.raises(ValueError, match="must not be empty"):
            safe_id(raw, "id")
        return
    made = safe_id(raw, "id")
    assert SAFE_ID.match(made), made
    if isinstance(raw, str) and made != raw.strip():
        assert safe_id(raw + "/", "id") != made  # an unsafe change keeps ids apart


def test_safe_ids_separate_ids_that_differ_in_unsafe_characters() -> None:
    ids = {safe_id(x, "id") for x in ("a/b", "a b", "a-b", "a:b")}
    assert len(ids) == 4 and "a-b" in ids
    for bad, why in ((True, "a bool"), (None, "missing"), ([1], "a list"), ("  ", "empty")):
        with pytest.raises(ValueError, match=why):
            safe_id(bad, "ID")


def test_recognition_rule() -> None:
    assert sniff({"id": 1, "prompt": "p", "expect_en": "e", "category": "code"}) == "ureason"
    assert sniff({"ID": 1, "Question_B": "q", "Answer": "a"}) == "unisandbox"
    assert sniff({"ID": 1, "Question": "q", "Answer": "a"}) == "unisandbox"
    assert sniff({"tag": "t", "prompt": "p", "include": []}) == "geneval"
    assert sniff({"id": "x", "prompt": "p", "expect": []}) == "native"
    assert sniff(["not", "a", "record"]) == "native"


def test_file_format_is_what_most_records_show() -> None:
    from pytest_ureason.collect.formats import choose_format

    ureason = {"id": 2, "prompt": "p", "expect_en": "e"}
    broken = {"id": 1, "prompt": "p"}  # a UReason record without expect_en looks native
    assert choose_format([broken, ureason, ureason]) == "ureason"
    assert choose_format([broken, ureason]) == "native"  # a tie: the earliest record's
    assert choose_format([]) == "native"


def test_example_files_load_without_errors() -> None:
    loaded = {p.name: load_suite(p) for p in sorted(EXAMPLES.glob("*/*.jsonl"))}
    assert all(not s.errors for s in loaded.values())
    mapping = loaded["mapping_1.jsonl"]
    assert [i.id for i in mapping.instances] == ["1-a", "1-b", "2-a", "2-b"]
    assert {i.task for i in mapping.instances} == {"unisandbox-mapping-d1"}
    assert "difficulty-1" in mapping.instances[0].tags
    direct = loaded["direct_arithmetic.jsonl"].instances[0]
    assert (direct.task, direct.id, direct.tags, direct.conditions) == (
        "ureason-arithmetic",
        "1",
        ("arithmetic", "ureason", "direct"),
        ("direct",),
    )
    attribute = loaded["attribute.jsonl"].instances
    assert attribute[0].id.startswith("attr-01-") and attribute[2].id.startswith("attr-03-")
    first = loaded["arithmetic.jsonl"].instances[0]
    assert [s.name for s in first.expect] == ["judge", "count", "color"]
    assert [s.derived for s in first.expect] == [False, True, True]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_ureason_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "spatial.jsonl",
        [
            {"id": 1, "prompt": "Draw a cat.", "expect_en": "A cat", "category": "spatial"},
            {"id": True, "prompt": "p", "expect_en": "e"},
            {"id": 3, "prompt": "", "expect_en": "e"},
            {"id": 4, "prompt": "p"},
            {"id": 5, "prompt": "p", "expect_en": "e", "category": 7},
            {"id": 1, "prompt": "again", "expect_en": "A dog"},
            "[1, 2]",
            "{broken",
            {"id": 9, "prompt": "Draw a dog.", "expect_en": "A dog"},
        ],
    )
    suite = load_suite(path)
    assert [(i.task, i.id) for i in suite.instances] == [
        ("ureason-spatial", "1"),
        ("ureason-spatial", "9"),
    ]
    errors = [str(e) for e in suite.errors]
    assert f"{path}:2: UReason record: field id: must be a string or a number, got a bool" in errors
    assert f"{path}:3: UReason record '3': field prompt: a non-empty text, got ''" in errors
    assert f"{path}:4: UReason record '4': field expect_en: a non-empty text, got missing" in errors
    assert any(e.startswith(f"{path}:5:") and "field category" in e for e in errors)
    assert any(e.startswith(f"{path}:6:") and "duplicate id" in e for e in errors)
    assert any(e.startswith(f"{path}:7:") and "must be a JSON object" in e for e in errors)
    assert any(e.startswith(f"{path}:8:") and "invalid JSON" in e for e in errors)


def test_unisandbox_errors_and_forced_format(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mapping_3.jsonl",
        [
            {"ID": 1, "Question_A": "Let ★ mean cat. Draw one ★.", "Answer": "a cat"},
            {"ID": 1, "Question_B": "Let ★ mean dog. Draw one ★.", "Answer": "a dog"},
            {"ID": 2, "Question": "wrong family", "Answer": "x"},
            {"ID": 3, "Question": "q", "Question_A": "q", "Answer": "x"},
            {"ID": 4, "Question_A": "q", "Answer": ""},
            {"ID": 1, "Question_A": "Let ★ mean cat. Draw one ★.", "Answer": "a cat"},
        ],
    )
    suite = load_suite(path)
    assert [i.id for i in suite.instances] == ["1-a", "1-b"]
    assert {i.task for i in suite.instances} == {"unisandbox-mapping-d3"}
    errors = [str(e) for e in suite.errors]
    assert any(e.startswith(f"{path}:3:") and "field Question_A/Question_B" in e for e in errors)
    assert any(e.startswith(f"{path}:4:") and "found Question, Question_A" in e for e in errors)
    assert f"{path}:5: UniSandbox record '4-a': field Answer: a non-empty text, got ''" in errors
    assert any(e.startswith(f"{path}:6:") and "duplicate id" in e for e in errors)
    # --suite-format: a UReason file read as UniSandbox names the missing fields
    other = _write(tmp_path / "code.jsonl", [{"id": 1, "prompt": "p", "expect_en": "e"}])
    forced = load_suite(other, "unisandbox")
    assert not forced.instances
    assert (
        "UniSandbox record: field Question: a record has Question, or Question_A and/or "
        "Question_B, found none" in str(forced.errors[0])
    )


def test_ureason_final_scene_prompt_is_the_refined_prompt() -> None:
    reasoning = "Reasoning: 3 + 4 = 7.\n\nFinal Scene Prompt: A picture of 7 red apples."
    found = extract_refined(reasoning)
    assert (found.prompt, found.method) == ("A picture of 7 red apples.", "ureason-label")
    ours = "Reasoning: ...\nFinal Scene Prompt: two cups\n<refined_prompt>3 cups</refined_prompt>"
    assert extract_refined(ours).prompt == "3 cups"  # our own tag wins beside it


def _row(
    condition: str,
    task: str,
    outcome: str,
    judge: str | None,
    derived: str | None,
    reasoning: str | None,
    instance: str = "1",
) -> SeedRow:
    return SeedRow(
        condition, task, instance, outcome, judge, derived, 1 if derived else 0, reasoning
    )


def test_tables_count_what_they_say() -> None:
    rows = [
        _row("direct", "t", "passed", "yes", "passed", None, "1"),
        _row("direct", "t", "failed", "no", "passed", None, "2"),
        _row("direct", "t", "error", "undecided", "failed", None, "3"),
        _row("direct", "u", "failed", "no", None, None, "1"),
        _row("reasoning", "t", "failed", "no", "failed", "right", "1"),
        _row("reasoning", "t", "passed", "yes", "passed", "wrong", "2"),
        _row("reasoning", "t", "passed", "yes", "passed", "undecided", "3"),
        _row("decontext", "t", "skipped", None, None, "right", "1"),
    ]
    agree = agreement(rows)
    assert agree["t"] == {
        "items": 5,
        "agree": 4,
        "rate": 0.8,
        "judge_yes_detector_no": 0,
        "judge_no_detector_yes": 1,
    }
    assert "u" not in agree and agree["all"]["items"] == 5
    cov = coverage(rows)
    assert cov["t"]["instances"] == 3 and cov["t"]["derived"] == 3
    assert cov["u"] == {"instances": 1, "derived": 0, "coverage": 0.0}
    table = two_by_two(rows)
    assert set(table) == {"reasoning"}  # the skipped decontext item has no image verdict
    assert table["reasoning"]["t"] == {
        "right_right": 0,
        "right_wrong": 1,
        "wrong_right": 1,
        "wrong_wrong": 0,
        "undecided": 1,
    }
