"""The ``understand`` condition: a bidirectional item answered in text, scored against its
expected answer.

A bidirectional instance carries an understanding ``question`` and its expected ``answer`` (and
optionally ``accept``: other answers that count as right). Under ``understand`` the model is
asked ``answer([image], [question])``, where the image is the instance's ``question_image``
(a file), its rendered ``question_scene``, or None for a text-only question; the reply is
scored by :func:`score_answer`.

The normaliser (applied to the reply and to every expected answer) is documented here because
it decides verdicts:

1. lower case; typographic quotes and dashes made plain;
2. every run of characters other than letters, digits and spaces becomes one space
   (punctuation, commas, full stops: ``"Mushroom, duck."`` -> ``mushroom duck``);
3. number words from zero to ninety-nine become digits (``"twenty-one"`` -> ``21``,
   ``"a dozen"`` -> ``12``);
4. the articles ``a``, ``an``, ``the`` are dropped;
5. synonyms are mapped to one word (:data:`SYNONYMS`: ``grey`` -> ``gray``, ``violet`` ->
   ``purple``, ``tv`` / ``television``, ...), and plural object names to their singular
   (``apples`` -> ``apple``), so ``"5 apples"`` and ``"five apple"`` read the same.

A reply is right when its normal form equals an expected answer's normal form, or when the
expected normal form occurs in the reply as a whole run of words and the reply names no other
number (``"I would draw 6 apples"`` is right for ``6``; ``"6 or 7"`` is not).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.harness import Case, Harness
    from pytest_ureason.suite import Instance

SYNONYMS: dict[str, str] = {
    "grey": "gray",
    "violet": "purple",
    "golden": "yellow",
    "gold": "yellow",
    "television": "tv",
    "sofa": "couch",
    "mobile": "phone",
    "cellphone": "phone",
    "aeroplane": "airplane",
    "plane": "airplane",
    "doughnut": "donut",
    "yes": "yes",
    "yeah": "yes",
    "true": "yes",
    "false": "no",
}
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ARTICLES = frozenset({"a", "an", "the"})
_PLAIN = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "−": "-"})


def _numbers_to_digits(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in ("a", "half") and nxt == "dozen":
            out.append("12" if w == "a" else "6")
            i += 2
            continue
        if w == "dozen":
            out.append("12")
        elif w in _TENS:
            value = 20 + 10 * _TENS.index(w)
            if nxt in _UNITS[1:10]:
                value += _UNITS.index(nxt)
                i += 1
            out.append(str(value))
        elif w in _UNITS:
            out.append(str(_UNITS.index(w)))
        else:
            out.append(w)
        i += 1
    return out


def _singular(word: str) -> str:
    from pytest_ureason import vocabulary

    if word.isdigit():
        return word
    found = vocabulary.lookup_object(word)
    return found.name if found is not None and " " not in found.name else word


def normalise(text: str) -> str:
    """The normal form of an answer (see the module docstring for the rules)."""
    text = str(text).translate(_PLAIN).lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    words = _numbers_to_digits(text.split())
    words = [SYNONYMS.get(w, w) for w in words if w not in _ARTICLES]
    return " ".join(_singular(w) for w in words)


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
    got = normalise(reply)
    wanted = [normalise(e) for e in (expected, *accept) if normalise(e)]
    shown = f"expected {expected!r}, answered {_short(reply)!r}"
    if not got:
        return AnswerVerdict(False, f"{shown}: the answer is empty")
    padded = f" {got} "
    numbers = set(re.findall(r"\b\d+\b", got))
    for want in wanted:
        if got == want:
            return AnswerVerdict(True, f"{shown}: equal after normalising ({want!r})")
        if f" {want} " in padded and numbers <= set(re.findall(r"\b\d+\b", want)):
            return AnswerVerdict(True, f"{shown}: the answer contains {want!r}")
    return AnswerVerdict(False, f"{shown}: normalised {got!r} is not {' / '.join(wanted)!r}")


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
        from pytest_ureason.render import render_scene
        from pytest_ureason.scene import parse_scene

        return render_scene(parse_scene(instance.question_scene), seed=seed)
    return None


def answer_cases(harness: Harness, cases: list[Case]) -> None:
    """Ask the model every case's understanding question (text only, batched, stored).

    Sets ``harness.outcomes[case]`` for each case: ``answer`` on success, ``error`` or
    ``unsupported`` when the model fails or cannot answer.
    """
    from pytest_ureason.batching import Failed, run_batched
    from pytest_ureason.harness import MODEL_ERRORS, Outcome, _check_outputs, _record_failure
    from pytest_ureason.store import content_key

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
            kind="answer", question=question, image=digest, seed=case.seed, **harness._identity
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
        _check_outputs("answer", replies, len(batch), str)
        return replies

    results = run_batched(
        call, missing, harness.batch_size, stats=harness.throughput.stats, catch=MODEL_ERRORS
    )
    for case, result in zip(missing, results, strict=True):
        outcome = harness.outcomes[case]
        if isinstance(result, Failed):
            _record_failure(outcome, "answer", result.error)
            continue
        harness.store.put_text(
            keys[case], result, {"question": case.instance.question, **harness._identity}
        )
        outcome.answer = result
