"""The seeds' yes/no judge protocol: evaluation prompts, answer parsing, judge identity.

The evaluation prompts are data files (``pytest_ureason/data/judge_image.txt`` for an image
against a target description, ``judge_reasoning.txt`` for reasoning text against it): the
target description, a request to think step by step, and the answer format
``<answer>Yes</answer>`` / ``<answer>No</answer>``. The template's hash is part of every
verdict and cache key, so editing a template re-judges.

Parsing (:func:`parse_decision`): the decision is the **last** of these in the text:

1. an ``<answer>...</answer>`` tag whose text starts with ``yes`` or ``no``;
2. (the fallback when the judge wrote no tag) a line that is only ``yes`` or ``no`` (ignoring
   case, punctuation, markdown and a leading ``answer:``, ``final answer:`` or ``verdict:``).

So a tag quoted early in the reasoning never outvotes the judge's final line. Two tags joined
by ``or`` (``<answer>Yes</answer> or <answer>No</answer>``: the answer format, quoted or
echoed from the prompt) are not a decision. A hedged tag (``<answer>Yes or No</answer>``,
``<answer>yes/no</answer>``) as the last decision, or no decision at all, is **undecided**:
the verdict is an error, never a pass or a fail. A yes/no inside a sentence ("there are no
pears") never counts.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pytest_ureason.models.base import UnifiedModel

Kind = Literal["image", "reasoning"]
_TEMPLATES: dict[str, str] = {"image": "judge_image.txt", "reasoning": "judge_reasoning.txt"}
_TAG_RE = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.IGNORECASE | re.DOTALL)
_LINE_RE = re.compile(
    r"^[\s*_#>`\"'-]*(?:(?:final\s+)?answer|verdict)?\s*[:：]?[\s*_`\"']*(yes|no)[\s.!*_`\"']*$",
    re.IGNORECASE,
)
#: Two tags joined by "or": the answer format (quoted, or echoed from the prompt), no verdict.
_FORMAT_RE = re.compile(
    r"<answer>\s*(?:yes|no)\s*</answer>[^<]{0,120}?\bor\b[^<]{0,120}?"
    r"<answer>\s*(?:yes|no)\s*</answer>",
    re.IGNORECASE,
)
#: What follows the first word of a hedged tag: ``Yes or No``, ``yes/no``, ``No, yes``.
_HEDGE_RE = re.compile(r"[\W_]*(?:(?:or|and|nor)\b[\W_]*)?(?:yes|no)\b", re.IGNORECASE)
_FIELD_RE = re.compile(r"\{(target|reasoning)\}")
MAX_TARGET = 2000
MAX_REASONING = 12000


@cache
def template(kind: Kind) -> str:
    """The evaluation prompt template of ``kind`` (with ``{target}``, ``{reasoning}``)."""
    data = resources.files("pytest_ureason") / "data" / _TEMPLATES[kind]
    return data.read_text(encoding="utf-8")


@cache
def template_hash(kind: Kind) -> str:
    """Short SHA-256 of a template's text."""
    return hashlib.sha256(template(kind).encode("utf-8")).hexdigest()[:12]


def render(kind: Kind, target: str, reasoning: str = "") -> str:
    """The evaluation prompt for a target description (and the reasoning to check)."""
    values = {
        "target": " ".join(str(target).split())[:MAX_TARGET],
        "reasoning": str(reasoning).strip()[:MAX_REASONING],
    }
    # one pass: a "{reasoning}" written inside the target (or the reverse) stays literal text
    return _FIELD_RE.sub(lambda m: values[m.group(1)], template(kind)).strip()


@dataclass(frozen=True)
class Decision:
    """A parsed judge answer: ``yes`` True/False, or None when undecided; how it was found."""

    yes: bool | None
    method: Literal["tag", "line", "undecided"]


def parse_decision(text: str) -> Decision:
    """Parse a judge's full answer (see the module docstring)."""
    text = _FORMAT_RE.sub(" ", str(text)[-50_000:])
    found: list[tuple[int, bool | None, Literal["tag", "line"]]] = []
    for tag in _TAG_RE.finditer(text):
        word = re.match(r"[\W_]*(yes|no)\b(.*)", tag.group(1), re.IGNORECASE | re.DOTALL)
        if word is not None:
            hedged = _HEDGE_RE.match(word.group(2)) is not None
            found.append((tag.start(), None if hedged else word.group(1).lower() == "yes", "tag"))
    offset = 0
    for line in text.splitlines(keepends=True):
        matched = _LINE_RE.match(line.rstrip("\r\n"))
        if matched is not None:
            found.append((offset, matched.group(1).lower() == "yes", "line"))
        offset += len(line)
    if not found:
        return Decision(None, "undecided")
    _, yes, method = max(found, key=lambda f: f[0])
    return Decision(yes, method) if yes is not None else Decision(None, "undecided")


class JudgeFailed(RuntimeError):
    """A yes/no judge's ``answer`` call raised (or returned the wrong shape); the message
    names the judge and the original error."""


MAX_EVIDENCE = 8000


def bounded(answer: str, limit: int = MAX_EVIDENCE) -> str:
    """A judge's answer for verdict evidence: whole up to ``limit`` characters, else its
    beginning and its end (where the verdict is) around a note of what was left out (the
    full answer stays in the store)."""
    if len(answer) <= limit:
        return answer
    head, tail = limit // 8, limit - limit // 8
    left = len(answer) - head - tail
    return f"{answer[:head]}\n[... {left} characters left out here ...]\n{answer[-tail:]}"


@dataclass(frozen=True)
class YesNoJudge:
    """A model used as a yes/no judge, with everything that names its verdicts.

    ``identity`` holds the adapter name, revision, settings, weights path and options;
    ``stand_in`` is True when the model under test judges itself (no ``--judge`` given).
    """

    model: UnifiedModel
    identity: dict[str, Any] = field(default_factory=dict)
    stand_in: bool = False

    @classmethod
    def of(
        cls,
        model: UnifiedModel,
        path: str | None = None,
        args: dict[str, str] | None = None,
        *,
        stand_in: bool = False,
    ) -> YesNoJudge:
        """Describe a loaded model as a judge."""
        identity = model_identity(model, path, args)
        return cls(model, identity, stand_in)

    @property
    def label(self) -> str:
        """``name@revision``, with ``(stand-in: the model under test)`` when it is one."""
        name = f"{self.identity['name']}@{self.identity['revision']}"
        return name + (" (stand-in: the model under test)" if self.stand_in else "")

    def key(self, kind: Kind, prompt: str) -> str:
        """Cache key of one judge call: judge identity, template hash and the prompt."""
        blob = json.dumps(
            {**self.identity, "template": template_hash(kind), "prompt": prompt},
            sort_keys=True,
            default=str,
        )
        digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]
        return f"judge-{kind}-{self.identity['name']}-{digest}"

    def ask(self, images: list[Any], prompts: list[str]) -> list[str]:
        """The judge's full answers to evaluation prompts (one per image; None: text only).

        Raises:
            JudgeFailed: the model raised (``Unsupported``, out of memory, anything) or did
                not return one answer per prompt; the message names the judge.
        """
        try:
            answers = self.model.answer(images, prompts, [0] * len(prompts))
            if not isinstance(answers, list) or len(answers) != len(prompts):
                raise TypeError(f"answer() must return a list of {len(prompts)} str")
        except Exception as exc:
            hint = " (pass --judge MODEL to judge with another model)" if self.stand_in else ""
            raise JudgeFailed(
                f"yes/no judge {self.label} failed: {type(exc).__name__}: {exc}{hint}"
            ) from exc
        return [str(a) for a in answers]

    def describe(self, kind: Kind) -> dict[str, Any]:
        """What every verdict records about its judge."""
        return {
            "judge": self.label,
            "judge_name": self.identity["name"],
            "judge_revision": self.identity["revision"],
            "template": f"{_TEMPLATES[kind]}#{template_hash(kind)}",
            "protocol": f"ours#{template_hash(kind)}",
            "stand_in": self.stand_in,
        }


def model_identity(
    model: UnifiedModel, path: str | None = None, args: dict[str, str] | None = None
) -> dict[str, Any]:
    """What makes a judge model's answers what they are: name, revision, settings, weights
    path and options (all part of a judge cache key), less the options the adapter names in
    ``speed_options`` (a batch size, a request concurrency: they change speed, not answers)."""
    speed = set(getattr(model, "speed_options", ()))
    return {
        "name": str(getattr(model, "name", type(model).__name__)),
        "revision": str(getattr(model, "revision", "unknown")),
        "settings": getattr(model, "settings", {}),
        "path": path,
        "args": {k: v for k, v in sorted((args or {}).items()) if k not in speed},
    }
