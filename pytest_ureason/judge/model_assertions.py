"""The ``clip``, ``vqa`` and ``judge`` assertions: verdicts from a model, not a detector.

::

    expect:
      - clip: {text: "three red apples", min_score: 0.25}           # absolute
      - clip: {text: "three red apples",
               distractors: ["two red apples", "three green apples"]}  # ranked
      - vqa: {question: "How many apples are there?", answer: "3"}
      - judge: {expect: "Exactly 2 red apples on a plate."}         # the seeds' yes/no judge

``clip`` needs ``--clip-weights`` (see :mod:`pytest_ureason.judge.detect.clip`); ``vqa`` needs
``--judge MODEL``: any adapter whose ``answer`` takes an image and a question. The judge's name,
revision and full answer are evidence; answers are cached per judge revision. The answer is
matched by :func:`answer_matches` with the rules shared with the ``understand`` condition
(:mod:`pytest_ureason.judge.answers`), which refuse hedged answers (``"3 or 4"``, ``"yes and no"``,
``"red or blue"``, ``"not red"``).

``judge`` is the released benchmarks' protocol (:mod:`pytest_ureason.judge.yesno`): the expectation
goes to the judge with the evaluation prompt of ``data/judge_image.txt`` and the judge answers
``<answer>Yes</answer>`` or ``<answer>No</answer>``. The judge is ``--judge MODEL``, else the
model under test's own ``answer`` as a stand-in (the verdict says so). An answer that cannot be
parsed is an undecided verdict: the item is an error, never a pass. The judge's name, revision,
template hash and full answer are evidence.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from pytest_ureason.judge.answers import match_answer
from pytest_ureason.judge.assertions import Params, Verdict, assertion
from pytest_ureason.judge.observation import Observation
from pytest_ureason.judge.yesno import bounded, parse_decision
from pytest_ureason.scene.grammar import NUMBER_WORDS


class ClipParams(Params):
    """``clip``: the image matches ``text`` (absolute score, or better than distractors)."""

    text: str = Field(min_length=1, max_length=300)
    min_score: float | None = Field(default=None, ge=-1.0, le=1.0)
    distractors: list[str] = Field(default_factory=list, max_length=50)
    margin: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _form(self) -> ClipParams:
        if self.min_score is not None and self.distractors:
            raise ValueError("give either 'min_score' (absolute) or 'distractors' (ranked)")
        if any(not d.strip() for d in self.distractors):
            raise ValueError("distractors must be non-empty texts")
        return self


@assertion("clip", ClipParams)
def clip(obs: Observation, p: ClipParams) -> Verdict:
    """Absolute: similarity >= ``min_score`` (default 0.25). Ranked: similarity beats every
    distractor's by more than ``margin``."""
    from pytest_ureason.judge.detect.clip import DEFAULT_MIN_SCORE

    scores = obs.clip_scores([p.text, *p.distractors])
    mine = scores[p.text]
    scorer = obs.judges.clip()
    name = f"clip:{scorer.arch}" + (" (random weights)" if scorer.weights == "random" else "")
    evidence: dict[str, object] = {"score": round(mine, 4), "model": scorer.version}
    if p.distractors:
        best = max(p.distractors, key=lambda d: scores[d])
        ok = mine > scores[best] + p.margin
        reason = (
            f"expected {p.text!r} to match better than its {len(p.distractors)} distractors, "
            f"score {mine:.3f} vs {scores[best]:.3f} for {best!r}"
        )
        evidence["distractors"] = {d: round(scores[d], 4) for d in p.distractors}
        label = f"clip({p.text!r} ranked)"
    else:
        floor = DEFAULT_MIN_SCORE if p.min_score is None else p.min_score
        ok = mine >= floor
        reason = f"expected CLIP score of {p.text!r} >= {floor:g}, got {mine:.3f}"
        evidence["min_score"] = floor
        label = f"clip({p.text!r} >= {floor:g})"
    return Verdict(ok, reason, label, name, evidence)


class VqaParams(Params):
    """``vqa``: the judge answers ``question`` about the image with ``answer``."""

    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=200)
    match: Literal["auto", "exact", "contains", "yesno", "number"] = "auto"


_WORD_RE = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _first_number(words: list[str]) -> int | None:
    for w in words:
        if w.isdigit():
            return int(w)
        if w in NUMBER_WORDS and w not in ("a", "an", "single"):
            return NUMBER_WORDS[w]
    return None


def answer_matches(expected: str, answer: str, match: str = "auto") -> bool:
    """Whether a judge's free-text ``answer`` gives the ``expected`` one.

    ``exact``: the whole answer, ignoring case, punctuation and spacing. Every other mode uses
    the rules shared with the ``understand`` condition (:func:`pytest_ureason.judge.answers.
    match_answer`): equal after normalising, or containing the expected answer without hedging
    (no other number, color, yes/no word or vocabulary object; a list whole and in order; not
    negated), against the whole expected answer (``contains``, ``auto``), its first yes/no word
    (``yesno``) or its first number (``number``).
    """
    want, got = _words(expected), _words(answer)
    if match == "exact":
        return got == want
    if match == "yesno":
        expected = next((w for w in want if w in ("yes", "no")), "")
    elif match == "number":
        number = _first_number(want)
        expected = "" if number is None else str(number)
    return match_answer(answer, expected).passed


@assertion("vqa", VqaParams)
def vqa(obs: Observation, p: VqaParams) -> Verdict:
    """Pass when the judge's answer gives the expected answer (see :func:`answer_matches`)."""
    answer, judge = obs.vqa(p.question)
    ok = answer_matches(p.answer, answer, p.match)
    shown = answer if len(answer) <= 200 else answer[:197] + "..."
    reason = f"asked {p.question!r}, expected {p.answer!r}, judge answered {shown!r}"
    evidence = {"question": p.question, "answer": answer, "judge": judge, "match": p.match}
    return Verdict(ok, reason, f"vqa({p.question!r} -> {p.answer!r})", f"vqa:{judge}", evidence)


class JudgeParams(Params):
    """``judge``: the yes/no judge says the image shows ``expect``."""

    expect: str = Field(min_length=1, max_length=2000)


@assertion("judge", JudgeParams)
def judge(obs: Observation, p: JudgeParams) -> Verdict:
    """Pass when the judge answers yes (see :mod:`pytest_ureason.judge.yesno`)."""
    answer, who = obs.yesno(p.expect)
    decision = parse_decision(answer)
    flat = " ".join(answer.split())
    shown = flat if len(flat) <= 200 else "..." + flat[-197:]
    word = {True: "yes", False: "no", None: "nothing parsable"}[decision.yes]
    reason = f"asked whether the image shows {p.expect!r}: judge {who.label} said {word}"
    if decision.yes is None:
        reason += f" ({shown!r})"
    evidence = {
        "expect": p.expect,
        "answer": bounded(answer),  # a huge reply is cut in the middle; the store keeps it
        "answer_chars": len(answer),
        "decision": word,
        "parsed_by": decision.method,
        **who.describe("image"),
    }
    label = f"judge({p.expect[:60]!r})"
    return Verdict(
        bool(decision.yes),
        reason,
        label,
        f"judge:{who.label}",
        evidence,
        decided=decision.yes is not None,
    )
