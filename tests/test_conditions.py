"""Conditions and refined-prompt extraction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.conditions import extract_refined, generation_request


@pytest.mark.parametrize(
    ("text", "prompt", "method"),
    [
        (
            "think...\n<refined_prompt>A picture of 5 red apples.</refined_prompt>",
            "A picture of 5 red apples.",
            "tag",
        ),
        (
            "<refined>first</refined> then <REFINED_PROMPT>\n second \n</refined_prompt>",
            "second",
            "tag",
        ),
        ("<refined_prompt> </refined_prompt>\nRefined prompt: 2 cups", "2 cups", "label"),
        (
            "Reasoning: 3+4=7.\nFinal Scene Prompt: 7 apples on a table.\n\nThanks",
            "7 apples on a table.",
            "ureason-label",
        ),
        ("**Final prompt:** `a blue cup`", "a blue cup", "label"),
        ("step one\n\nstep two\n\nA picture of a dog.\n", "A picture of a dog.", "last-paragraph"),
        ("", "", "last-paragraph"),
    ],
)
def test_extract_refined(text: str, prompt: str, method: str) -> None:
    found = extract_refined(text)
    assert (found.prompt, found.method) == (prompt, method)


@given(st.text(max_size=500))
@settings(max_examples=300, deadline=None)
def test_extractor_never_crashes(text: str) -> None:
    found = extract_refined(text)
    assert isinstance(found.prompt, str) and len(found.prompt) <= 2000
    assert "\n" not in found.prompt


@given(st.text(min_size=1, max_size=80).filter(lambda s: s.strip() and "<" not in s))
@settings(max_examples=100, deadline=None)
def test_tagged_prompt_round_trips(body: str) -> None:
    found = extract_refined(f"noise <refined_prompt>{body}</refined_prompt> trailing")
    expected = " ".join(body.strip().strip("`*_\"' \n").split())
    if expected:
        assert (found.prompt, found.method) == (expected, "tag")
    else:
        assert found.method != "tag"


def test_generation_requests() -> None:
    reasoning = "2+3=5\n<refined_prompt>A picture of 5 apples.</refined_prompt>"
    assert generation_request("direct", "p", None).context is None
    assert generation_request("reasoning", "p", reasoning).context == reasoning
    decon = generation_request("decontext", "p", reasoning)
    assert (decon.prompt, decon.context) == ("A picture of 5 apples.", None)
    with pytest.raises(ValueError, match="needs reasoning"):
        generation_request("decontext", "p", None)
    with pytest.raises(ValueError, match="unknown condition"):
        generation_request("sideways", "p", reasoning)
