"""The shared answer-matching rules (pytest_ureason/judge/answers.py): hedged replies are refused by
both the ``understand`` scorer and the ``vqa`` assertion, plain right replies still pass."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.judge.model_assertions import answer_matches
from pytest_ureason.run.understand import score_answer
from pytest_ureason.scene import vocabulary

# (reply, expected): hedged, negated or padded replies that must not count as right.
HEDGED = [
    ("yes and no", "yes"),
    ("yes and no", "no"),
    ("Yes. No doubt.", "no"),
    ("red, blue, green or yellow", "green"),
    ("It is either green or grey.", "green"),
    ("It is not red; it is blue.", "red"),
    ("It is not red.", "red"),
    ("It isn't red.", "red"),
    ("No red at all.", "red"),
    ("bell, key, cup, apple", "bell, key, cup"),
    ("apple, bell, key, cup", "bell, key, cup"),
    ("cup, key, bell", "bell, key, cup"),
    ("An apple or a pear, maybe a lemon.", "apple"),
    ("A red apple or a green apple", "red apple"),
    ("6 or 7", "6"),
    ("not 6", "6"),
]
# (reply, expected): right replies that must keep passing.
RIGHT = [
    ("The chair is green.", "green"),
    ("Yes, it is.", "yes"),
    ("No, there is no dog.", "no"),
    ("There are six apples.", "6"),
    ("six", "6"),
    ("Grey.", "gray"),
    ("bell, key, cup", "bell, key, cup"),
    ("Bell, key and cup.", "bell, key, cup"),
    ("From left to right: the bell, the key, then the cup.", "bell, key, cup"),
    ("A red apple.", "red apple"),
    ("The lions should be orange.", "orange"),
    ("It should read PMAL.", "PMAL"),
    ("I would draw a teddy bear.", "teddy bear"),
]


@pytest.mark.parametrize(("reply", "expected"), HEDGED)
def test_hedged_replies_are_wrong_for_understand(reply: str, expected: str) -> None:
    verdict = score_answer(reply, expected)
    assert not verdict.passed, verdict.reason


@pytest.mark.parametrize(("reply", "expected"), HEDGED)
def test_hedged_replies_are_wrong_for_the_vqa_judge(reply: str, expected: str) -> None:
    assert not answer_matches(expected, reply, "contains")
    assert not answer_matches(expected, reply, "auto")


@pytest.mark.parametrize(("reply", "expected"), RIGHT)
def test_right_replies_still_pass(reply: str, expected: str) -> None:
    verdict = score_answer(reply, expected)
    assert verdict.passed, verdict.reason
    assert answer_matches(expected, reply, "auto")


def test_the_reason_names_what_hedged() -> None:
    assert "also names the color 'blue'" in score_answer("red or blue", "red").reason
    assert "also names the yes/no word 'no'" in score_answer("yes and no", "yes").reason
    assert "negates 'red'" in score_answer("It is not red.", "red").reason
    listed = score_answer("bell, key, cup, apple", "bell, key, cup").reason
    assert "['bell', 'key', 'cup', 'apple'], not ['bell', 'key', 'cup']" in listed
    accepted = score_answer("television or radio", "monitor", ("tv",))
    assert accepted.passed and "contains 'tv'" in accepted.reason


def test_kinds_and_lists() -> None:
    from pytest_ureason.judge.answers import is_list, kinds, normalise

    found = kinds(normalise("Two grey teddy bears, no oranges, yes, an orange hat"))
    assert found == {
        "number": ["2"],
        "color": ["gray", "orange", "orange"],
        "yes/no word": ["no", "yes"],
        "object": ["teddy bear", "hat"],
    }
    assert is_list("bell, key, cup") and is_list("bell and key")
    assert not is_list("red apple") and not is_list("PMAL")
    assert normalise("It isn’t red") == "it is not red"


_COLORS = st.sampled_from(vocabulary.COLOR_NAMES)
_OBJECTS = st.sampled_from(
    [o.name for o in vocabulary.objects() if " " not in o.name and o.name not in ("orange",)]
)
_FRAMES = st.sampled_from(["{}", "{}.", "It is {}.", "The answer is {}.", "I think {}, yes."])


@settings(max_examples=150, deadline=None)
@given(_COLORS, _COLORS, _FRAMES)
def test_a_color_against_another_color(want: str, other: str, frame: str) -> None:
    assert score_answer(frame.format(want), want).passed
    assert score_answer(f"not {want}", want).passed is False
    hedge = score_answer(frame.format(f"{want} or {other}"), want).passed
    assert hedge is (want == other)
    assert answer_matches(want, f"{other} or {want}", "contains") is (want == other)


@settings(max_examples=150, deadline=None)
@given(st.lists(_OBJECTS, min_size=2, max_size=5, unique=True), _OBJECTS, st.booleans())
def test_a_list_answer_matches_whole_and_in_order(
    items: list[str], extra: str, with_and: bool
) -> None:
    expected = ", ".join(items)
    reply = ", ".join(items[:-1]) + (" and " if with_and else ", ") + items[-1]
    assert score_answer(reply, expected).passed
    assert score_answer(", ".join(reversed(items)), expected).passed is False
    if extra not in items:
        assert not score_answer(f"{expected}, {extra}", expected).passed
        assert not score_answer(f"{extra}, {expected}", expected).passed
        assert not answer_matches(expected, f"{expected}, {extra}", "contains")
