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
from pytest_ureason.judge.derive import derive, judge_text
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
        ("not red apples", "expected an object name"),
        ("a unicorn", "expected an object name at 'unicorn'"),
        ("4", "expected an object name at 'the end'"),
        ("", "empty expectation"),
        ("apple " * 61, "longer than 60 words"),
        # alternatives: neither is required
        ("apples or oranges", "does not cover 'or oranges'"),
        ("apples/oranges", "no checkable fact"),
        # a colored zero, or a zero with other words: other candles/cups may be there
        ("0 red candles", "leaves other colors open"),
        ("0 yogurt cups", "no checkable fact"),
        # depictions and negations beyond a bare "no X"
        ("a lion photo", "no checkable fact"),
        ("The driver is not wearing sunglasses", "no checkable fact"),
        ("no cowboy hat", "no checkable fact"),
        # ambiguous words: a glass of milk is no wine glass, a phone no cell phone
        ("a glass of milk", "no checkable fact"),
        ("phones", "no checkable fact"),
    ],
)
def test_derive_refuses_what_it_cannot_check(text: str, why: str) -> None:
    found = derive(text)
    assert found.specs == ()
    assert found.refused is not None and why in found.refused


def _partial(text: str) -> tuple[list[str], tuple[str, ...]]:
    found = derive(text)
    assert found.refused is None
    return [s.describe().removesuffix(" [derived]") for s in found.specs], found.unchecked


@pytest.mark.parametrize(
    ("text", "expected", "unchecked"),
    [
        # the strict grammar refuses these; the partial reading keeps what is checkable
        (
            "Three red apples on a table",
            [
                "count(object=apple, op===, value=3)",
                "color(object=apple, color=red)",
                "present(object=dining table)",
            ],
            ("on",),
        ),
        (
            "A dog to the left of a cat",
            [
                "present(object=dog)",
                "present(object=cat)",
                "relation(subject=dog, relation=left of, object=cat)",
            ],
            ("to the left of",),
        ),
        # two groups of one object add up; their colors differ, so no color
        ("two red apples and one green apple", ["count(object=apple, op===, value=3)"], ()),
        ("a big apple", ["present(object=apple)"], ()),
        ("More than 3 apples", ["count(object=apple, op=>, value=3)"], ()),
        ('A sign that reads "OPEN"', ["text(contains=OPEN, tolerance=0)"], ()),
        ("12345 apples", ["present(object=apple)"], ("12345",)),
        # "only apples": nothing but apples, not a count; a color without a number stays open
        ("Only apples", ["present(object=apple)"], ()),
        ("an orange cat", ["present(object=cat)"], ("orange",)),
        (
            "red apples and 2 cups",
            ["present(object=apple)", "count(object=cup, op===, value=2)"],
            ("red",),
        ),
        (
            "Exactly 1 silver spoon remaining on the dining table.",
            ["count(object=spoon, op===, value=1)", "present(object=dining table)"],
            ("silver", "remaining on"),
        ),
        (
            "The bicycle has a Helmet and a Water Bottle (no Bell).",
            ["present(object=bicycle)", "present(object=bottle)", "absent(object=bell)"],
            ("has a helmet", "water"),
        ),
        (
            "The word 'FIRE' appears in the image, and the word 'FIREWALL' does not appear.",
            ["text(contains=FIRE, tolerance=0)"],
            ("appears in the image", "and the word FIREWALL does not appear"),
        ),
        (
            "2 bananas on the chopping board, and 1 banana on the counter surface.",
            ["count(object=banana, op===, value=3)"],
            ("on the chopping board", "on the counter surface"),
        ),
        (
            "Three grapes: the left is green, while the center one is a shriveled raisin.",
            ["present(object=grape)"],
            (
                "the left is green",
                "while the center one is a shriveled raisin",
                "grape: its number (something in the sentence changes state)",
            ),
        ),
        (
            "Top-left is Red Apple, Top-right is Mug, Bottom-left is Bread, Bottom-right is Cup.",
            [
                "present(object=apple)",
                "present(object=mug)",
                "present(object=cup)",
                "relation(subject=apple, relation=left of, object=mug)",
                "relation(subject=apple, relation=left of, object=cup)",
                "relation(subject=apple, relation=above, object=cup)",
                "relation(subject=mug, relation=above, object=cup)",
            ],
            ("top-left is red", "top-right is", "bottom-left is bread", "bottom-right is"),
        ),
        (
            "Left to Right: Cactus, Red Toy Car, Teddy Bear, Yellow Duck.",
            [
                "present(object=teddy bear)",
                "present(object=duck)",
                "relation(subject=teddy bear, relation=left of, object=duck)",
            ],
            ("left to right", "cactus", "red toy car", "yellow"),
        ),
    ],
)
def test_partial_derivation_keeps_the_checkable_and_names_the_rest(
    text: str, expected: list[str], unchecked: tuple[str, ...]
) -> None:
    assert _partial(text) == (expected, unchecked)


@given(st.text(max_size=80))
def test_grammar_never_raises_and_derives_only_known_assertions(text: str) -> None:
    found = derive(text)
    assert (found.refused is None) == bool(found.specs)
    known = ("count", "color", "present", "absent", "relation", "text")
    assert all(s.derived and s.name in known for s in found.specs)


def test_judge_text_reads_the_refined_prompt_partially() -> None:
    specs = derive("Exactly 2 red apples and no cups").specs
    assert judge_text(specs, "A picture of 2 red apples.") == ("right", [])
    assert judge_text(specs, "2 red apples and 0 cups") == ("right", [])
    verdict, wrong = judge_text(specs, "A picture of 3 red apples and a cup.")
    assert verdict == "wrong"
    assert wrong == ["apple: the text says 3, expected 2", "cup: the text says 1, expected none"]
    # what the text leaves unsaid stays open: no guess
    assert judge_text(specs, "2 apples") == (
        "undecided",
        ["apple: the text states no single color, expected red"],
    )
    assert judge_text(specs, "apples")[1][0] == "apple: the text states no number, expected == 2"
    assert judge_text(specs, "2 green apples")[0] == "wrong"
    # an article states one; a bare plural states no number
    assert judge_text(derive("one cat").specs, "a cat")[0] == "right"
    assert judge_text(derive("a cat").specs, "one cat")[0] == "right"
    assert judge_text(derive("a cat").specs, "0 cats")[0] == "wrong"
    assert judge_text(derive("no candles").specs, "an empty table")[0] == "right"
    assert judge_text(specs, "Draw a picture of 2 red apples.")[0] == "right"
    # the shapes the strict grammar left undecided are read now, without misreading them
    assert judge_text(specs, "Draw the 2 red apples.")[0] == "right"
    assert judge_text(specs, "two shiny red apples on a wooden table")[0] == "right"
    assert judge_text(specs, "two apples that are red")[0] == "undecided"
    assert judge_text(specs, "2 red apples and 1 apple")[0] == "wrong"  # 3 apples
    assert judge_text(specs, "")[0] == "undecided"
    # written text and relations
    sale = derive("The word 'SALE' appears in the image.").specs
    assert judge_text(sale, 'A shop window with a sign that reads "SALE"')[0] == "right"
    assert judge_text(sale, "A sign reading 'OPEN'")[0] == "wrong"
    assert judge_text(sale, "A shop window")[0] == "undecided"
    layout = derive("Left is a red apple, Right is a sandwich.").specs
    assert judge_text(layout, "Left is an apple, right is a sandwich")[0] == "right"
    assert judge_text(layout, "A sandwich on the left and an apple on the right")[0] == "wrong"


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


def test_mapping_pairs_need_both_sides_scored() -> None:
    from pytest_ureason.results.seedstats import mapping_pairs

    def row(instance: str, outcome: str, task: str = "unisandbox-mapping-d2") -> SeedRow:
        return SeedRow("direct", task, instance, outcome, "yes", None, 0, None, seed="0")

    rows = [
        row("1-a", "passed"),
        row("1-b", "passed"),
        row("2-a", "passed"),
        row("2-b", "failed"),
        row("3-a", "passed"),  # 3-b skipped (unscorable): no row, the ID is incomplete
        row("4-a", "error"),
        row("4-b", "passed"),
        row("5-a", "failed", task="unisandbox-math-d2"),  # not a mapping task
        row("7-a", "passed", task="unisandbox-mapping-d3"),
        row("7-b", "passed", task="unisandbox-mapping-d3"),
    ]
    found = mapping_pairs(rows)["direct"]
    d2 = found["unisandbox-mapping-d2"]
    assert (d2["ids"], d2["passed"], d2["incomplete"]) == (2, 1, 2)
    assert d2["pairs"][1] == {"id": "2", "seed": "0", "a": "passed", "b": "failed", "passed": False}
    assert d2["pairs"][2]["passed"] is None  # incomplete: not scored either way
    assert found["all"] == {"ids": 3, "passed": 2, "rate": 2 / 3, "incomplete": 2}


def test_judge_text_calls_another_scene_wrong_and_nothing_else() -> None:
    lamp_clock = derive("Top-left is a table lamp, top-right is an alarm clock.").specs
    verdict, why = judge_text(lamp_clock, "A picture of a cell phone.")
    assert verdict == "wrong" and "names none of what is expected" in why[0]
    assert "cell phone" in why[0] and "lamp" in why[0]
    # one expected object named: only what is named is judged, the rest stays open
    assert judge_text(derive("1 apple and 2 carrots").specs, "A picture of an apple.")[0] == (
        "undecided"
    )
    # a setting is not a scene of its own, and a generic word may stand for the expected object
    apples = derive("Exactly 2 red apples on the table.").specs
    assert judge_text(apples, "The remaining fruit on the table.")[0] == "undecided"
    assert judge_text(apples, "A table.")[0] == "undecided"
    assert judge_text(apples, "A banana and some fruit.")[0] == "undecided"
    # expected writing, a scene without any: another scene; with other writing: wrong as before
    letter = derive("The letter 'S' appears in the image.").specs
    assert judge_text(letter, "A picture of a strawberry.")[0] == "wrong"
    assert judge_text(letter, "A strawberry with the word 'KIWI' on it.")[0] == "wrong"
    assert judge_text(letter, "A strawberry with the letter 'S' on it.")[0] == "right"
