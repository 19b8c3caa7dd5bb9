"""The ``understand`` condition: a bidirectional item answered in text, scored against its
expected answer.

A bidirectional instance carries an understanding ``question`` and its expected ``answer`` (and
optionally ``accept``: other answers that count as right). Under ``understand`` the model is
asked ``answer([image], [question])``, where the image is the instance's ``question_image``
(a file), its rendered ``question_scene``, or None for a text-only question; the reply is
scored by :func:`score_answer`.

The reply is right when it gives the expected answer (or an ``accept`` one) under the shared
rules of :mod:`pytest_ureason.judge.answers`, documented there because they decide verdicts: both
are normalised (case, punctuation, number words to digits, articles, synonyms such as
grey/gray, plurals), and a reply that is not equal to the answer passes by containment only if
it does not hedge: it names no competing answer of the same kind (another number, color,
yes/no word or vocabulary object: ``"6 or 7"``, ``"yes and no"``, ``"red, blue or green"``),
gives a list answer whole and in order with nothing extra, and does not negate the answer
(``"not red"``). ``"I would draw 6 apples"`` is right for ``6``; ``"bell, key, cup, apple"``
is not right for ``bell, key, cup``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ureason.judge.answers import match_answer
from pytest_ureason.judge.answers import normalise as normalise  # its home before answers.py
from pytest_ureason.models.batching import Failed, run_batched
from pytest_ureason.run.harness import (
    MODEL_ERRORS,
    Harness,
    Outcome,
    check_outputs,
    record_failure,
)
from pytest_ureason.run.store import content_key
from pytest_ureason.scene.grammar import parse_scene

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.collect.schema import Case, Instance


@dataclass(frozen=True)
class AnswerVerdict:
    """Whether a text answer is right, and why."""

    passed: bool
    reason: str


def score_answer(reply: str, expected: str, accept: tuple[str, ...] = ()) -> AnswerVerdict:
    """Score a model's text reply against the expected answer (and accepted alternatives).

    Args:
        reply: what the model answered.
        expected: the instance's ``answer``.
        accept: other answers that count as right.

    Returns:
        The verdict with a one-line reason naming both normal forms.
    """
    shown = f"expected {expected!r}, answered {_short(reply)!r}"
    if not normalise(reply):
        return AnswerVerdict(False, f"{shown}: the answer is empty")
    failures: list[str] = []
    for want in (expected, *accept):
        if not normalise(want):
            continue
        match = match_answer(reply, want)
        if match.passed:
            return AnswerVerdict(True, f"{shown}: {match.why}")
        failures.append(match.why)
    return AnswerVerdict(False, f"{shown}: {'; '.join(failures) or 'no expected answer'}")


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def question_image(instance: Instance, seed: int) -> Image.Image | None:
    """The image shown with an instance's question, if any (a file, or a rendered scene).

    Raises:
        OSError: the image file cannot be read.
    """
    from PIL import Image

    if instance.question_image is not None:
        with Image.open(instance.question_image) as img:
            return img.convert("RGB")
    if instance.question_scene is not None:
        from pytest_ureason.scene.render import render_scene  # PIL

        return render_scene(parse_scene(instance.question_scene), seed=seed)
    return None


def answer_cases(harness: Harness, cases: list[Case]) -> None:
    """Ask the model every case's understanding question (text only, batched, stored).

    Sets ``harness.outcomes[case]`` for each case: ``answer`` on success, ``error`` or
    ``unsupported`` when the model fails or cannot answer.
    """
    keys: dict[Case, str] = {}
    images: dict[Case, Image.Image] = {}
    missing: list[Case] = []
    for case in cases:
        outcome = harness.outcomes[case] = Outcome()
        question = case.instance.question
        if question is None:
            outcome.unsupported = "the instance has no understanding question"
            continue
        try:
            image = question_image(case.instance, case.seed)
        except OSError as exc:
            outcome.error = f"cannot read the question image: {exc}"
            continue
        if image is not None:
            images[case] = image
        digest = hashlib.sha256(image.tobytes()).hexdigest() if image is not None else None
        keys[case] = content_key(
            kind="answer", question=question, image=digest, seed=case.seed, **harness.identity
        )
        stored = harness.store.get_text(keys[case])
        if stored is None:
            missing.append(case)
        else:
            outcome.answer = stored

    def call(batch: list[Case]) -> list[str]:
        replies = harness.model.answer(
            [images.get(c) for c in batch],
            [c.instance.question or "" for c in batch],
            [c.seed for c in batch],
        )
        check_outputs("answer", replies, len(batch), str)
        return replies

    results = run_batched(
        call, missing, harness.batch_size, stats=harness.throughput.stats, catch=MODEL_ERRORS
    )
    for case, result in zip(missing, results, strict=True):
        outcome = harness.outcomes[case]
        if isinstance(result, Failed):
            record_failure(outcome, "answer", result.error)
            continue
        harness.store.put_text(
            keys[case], result, {"question": case.instance.question, **harness.identity}
        )
        outcome.answer = result
