"""The conditions a model is driven under, and refined-prompt extraction from reasoning.

* ``direct``: draw from the prompt.
* ``reasoning``: reason about the prompt, then draw from prompt + reasoning in one context.
* ``decontext``: the same reasoning; draw from only the refined prompt extracted from it.
* ``interleaved``: plan (the same reasoning), draft, reflect, refine, for up to ``--rounds``
  rounds (:mod:`pytest_ureason.run.interleaved`).
* ``understand``: answer the instance's understanding question in text, no image
  (:mod:`pytest_ureason.run.understand`); only instances with a ``question`` get this condition.

The reasoning is produced once per (model, instance, seed) and shared by ``reasoning`` and
``decontext``, so the two conditions are a paired comparison on identical reasoning.

Refined-prompt tag format (what a model should end its reasoning with)::

    <refined_prompt>A picture of 5 red apples.</refined_prompt>

Fallbacks, in order: the last ``<refined_prompt>`` tag (also ``<refined>``); a
``Final Scene Prompt:`` label (UReason's format); a ``Refined prompt:``, ``Final prompt:`` or
``Image prompt:`` label; otherwise the last non-empty paragraph of the reasoning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Condition = Literal["direct", "reasoning", "decontext", "interleaved", "understand"]
CONDITIONS: tuple[Condition, ...] = (
    "direct",
    "reasoning",
    "decontext",
    "interleaved",
    "understand",
)


def condition_order(conditions: set[str]) -> list[str]:
    """Known conditions in their canonical order, then any others alphabetically."""
    known = [c for c in CONDITIONS if c in conditions]
    return known + sorted(conditions - set(known))


DEFAULT_CONDITIONS: tuple[Condition, ...] = ("direct", "reasoning", "decontext")
NEEDS_REASONING: frozenset[str] = frozenset({"reasoning", "decontext"})
#: Conditions whose reasoning (the plan) is made once per instance and seed and shared.
SHARES_REASONING: frozenset[str] = frozenset({"reasoning", "decontext", "interleaved"})
#: Conditions scored by assertions on an image (all but ``understand``).
GENERATION_CONDITIONS: tuple[str, ...] = ("direct", "reasoning", "decontext", "interleaved")

_TAGS = ("refined_prompt", "refined")
_LABELS = (
    ("ureason-label", re.compile(r"final\s+scene\s+prompt\s*[:：]", re.IGNORECASE)),
    ("label", re.compile(r"(?:refined|final|image)\s+prompt\s*[:：]", re.IGNORECASE)),
)
_MAX_TAG_TRIES = 50
MAX_REFINED = 2000


@dataclass(frozen=True)
class Refined:
    """The prompt extracted from reasoning and how it was found (``tag``, ``label``, ...)."""

    prompt: str
    method: str


def _clean(text: str) -> str:
    text = text.strip().strip("`*_\"' \n")
    return " ".join(text.split())[:MAX_REFINED]


def _last_tag(text: str) -> str:
    """Body of the last non-empty ``<refined_prompt>``/``<refined>`` tag, in linear time."""
    lower = text.lower()
    best_end, best = -1, ""
    for tag in _TAGS:
        close = len(lower)
        for _ in range(_MAX_TAG_TRIES):
            close = lower.rfind(f"</{tag}>", 0, close)
            if close < 0:
                break
            start = lower.rfind(f"<{tag}>", 0, close)
            if start < 0:
                break
            body = _clean(text[start + len(tag) + 2 : close])
            if body:
                if close > best_end:
                    best_end, best = close, body
                break
    return best


def extract_refined(reasoning: str) -> Refined:
    """Extract the refined prompt from reasoning text; never raises.

    Args:
        reasoning: any text.

    Returns:
        The refined prompt (possibly empty when the reasoning is empty) and the method used.
    """
    text = str(reasoning)[:100_000]
    body = _last_tag(text)
    if body:
        return Refined(body, "tag")
    for method, pattern in _LABELS:
        ends = [m.end() for m in pattern.finditer(text)]
        for end in reversed(ends[-_MAX_TAG_TRIES:]):  # the last label with text after it
            tail = text[end : end + 10_000]
            first_paragraph = re.split(r"\n\s*\n", tail.strip(), maxsplit=1)[0]
            if _clean(first_paragraph):
                return Refined(_clean(first_paragraph), method)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if _clean(p)]
    return Refined(_clean(paragraphs[-1]) if paragraphs else "", "last-paragraph")


#: How ``decontext`` reads the refined prompt out of the reasoning: ``ours``
#: (:func:`extract_refined`) or ``ureason`` (:func:`extract_ureason`, the paper's rule).
EXTRACTIONS = ("ours", "ureason")
#: Every label of UReason's extraction ("refined prompt", "the refined prompt", "final scene
#: prompt", "final prompt", "prompt"; optionally "is" and colons after it) ends in the word
#: "prompt", so the last label ends where the last such word (and its "is:") does.
_PROMPT_LABEL = re.compile(r"\bprompt\b(?:\s+is)?:*", re.IGNORECASE)


def extract_ureason(reasoning: str) -> Refined:
    """UReason's de-contextualised prompt (the rule of its ``Bagel/extract_thought.py``, as
    the seed data's README states it): the text after the last label, its leading ``*``
    removed; without a label, the whole reasoning; then the ``</think>`` and
    ``<image_start>`` markers removed and the ends stripped. Never raises."""
    text = str(reasoning)
    ends = [m.end() for m in _PROMPT_LABEL.finditer(text)]
    if ends:
        body, method = text[ends[-1] :].strip().lstrip("*").strip(), "ureason-label"
    else:
        body, method = text.strip(), "ureason-whole"
    return Refined(body.replace("</think>", "").replace("<image_start>", "").strip(), method)


def refined_by(extraction: str, reasoning: str) -> Refined:
    """The refined prompt by the named rule (:data:`EXTRACTIONS`)."""
    if extraction == "ureason":
        return extract_ureason(reasoning)
    return extract_refined(reasoning)


@dataclass(frozen=True)
class GenerationRequest:
    """One image to generate: the prompt, and the reasoning context for ``reasoning``."""

    prompt: str
    context: str | None = None


def generation_request(
    condition: str, prompt: str, reasoning: str | None, extraction: str = "ours"
) -> GenerationRequest:
    """What to draw for an instance under a condition (for ``interleaved``: the first draft).

    Raises:
        ValueError: unknown condition, a reasoning condition without reasoning, or decontext
            on empty reasoning (never silently drawn from the raw prompt).
    """
    if condition == "direct":
        return GenerationRequest(prompt)
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r} (known: {', '.join(CONDITIONS)})")
    if condition not in SHARES_REASONING:
        raise ValueError(
            f"condition {condition!r} draws no image from a prompt "
            f"(image conditions: {', '.join(GENERATION_CONDITIONS)})"
        )
    if reasoning is None:
        raise ValueError(f"condition {condition!r} needs reasoning")
    if condition in ("reasoning", "interleaved"):  # interleaved: the draft, drawn from the plan
        return GenerationRequest(prompt, reasoning)
    refined = refined_by(extraction, reasoning).prompt
    if not refined:
        raise ValueError(
            "decontext: the reasoning is empty, there is no refined prompt to draw"
            if extraction == "ours"
            else f"decontext: the {extraction} extraction rule found an empty refined prompt"
        )
    return GenerationRequest(refined)
