"""The reference model: reasoning format, literal drawing, answers, options."""

from __future__ import annotations

import pytest

from pytest_ureason import ModelLoadError, UnifiedModel, load_model
from pytest_ureason.conditions import extract_refined
from pytest_ureason.judge.detect.classical import detect


@pytest.fixture(scope="module")
def model() -> UnifiedModel:
    return load_model("reference")


def test_protocol(model: UnifiedModel) -> None:
    assert isinstance(model, UnifiedModel)
    assert model.name == "reference" and model.settings == {"size": 384}


def test_reasoning_ends_in_a_refined_prompt(model: UnifiedModel) -> None:
    prompt = (
        "The Python program below prints a count, a color and an object.\n```python\n"
        "n = len([1, 2, 3]) * 2\nprint(n, 'purple', 'kite')\n```"
    )
    [text] = model.reason([prompt], [0])
    assert "This is a code task." in text
    refined = extract_refined(text)
    assert (refined.prompt, refined.method) == ("A picture of 6 purple kites.", "tag")
    [image] = model.generate([refined.prompt], [0])
    found = detect(image)
    assert [d.label for d in found] == ["kite"] * 6 and {d.color for d in found} == {"purple"}


def test_unsolvable_prompt_is_drawn_as_stated(model: UnifiedModel) -> None:
    [text] = model.reason(["two cats"], [0])
    assert extract_refined(text).prompt == "two cats"


def test_direct_is_literal_and_context_is_read_after_the_prompt(model: UnifiedModel) -> None:
    direct, with_context = model.generate(
        ["Draw as many apples as 2 + 2.", "Draw as many apples as 2 + 2."],
        [0, 0],
        [None, "2 + 2 = 4, so <refined_prompt>A picture of 4 apples.</refined_prompt>"],
    )
    assert len(detect(direct)) == 3  # "apples" without a count: the literal mapper draws three
    assert len(detect(with_context)) == 3  # the prompt's first mention still wins
    assert direct.size == (384, 384)


def test_answers_about_images_and_text(model: UnifiedModel) -> None:
    [image] = model.generate(['2 red apples above a blue cup. A sign that reads "HI 5".'], [1])
    questions = [
        "How many apples are there?",
        "What color is the cup?",
        "Is there a dog?",
        "Is the apple above the cup?",
        "Is the cup above the apple?",
        "What does the sign say?",
        "What do you see?",
    ]
    answers = model.answer([image] * len(questions), questions, [0] * len(questions))
    assert answers[:5] == ["2", "blue", "no", "yes", "no"]
    assert "HI 5" in answers[5]
    assert answers[6] == "I see 2 apples, a cup." or answers[6].startswith("I see")
    [text_answer] = model.answer(
        [None], ["The Python program below prints.\n```python\nprint(3, 'red', 'cup')\n```"], [0]
    )
    assert text_answer == "3 red cup"


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        ("/weights", {}, "has no weights"),
        (None, {"size": "big"}, "size must be an integer"),
        (None, {"size": "64"}, "size must be 128..2048"),
        (None, {"guidance": "5"}, "unknown reference model options: guidance"),
    ],
)
def test_bad_options(path: str | None, options: dict[str, str], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        load_model("reference", path, options)


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(ModelLoadError, match=r"unknown model 'nope' \(known: .*reference"):
        load_model("nope")
