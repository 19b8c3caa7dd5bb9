"""UniSandbox's released reasoning and knowledge files as a suite.

* ``math_<k>.jsonl``: ``{"id", "Question", "Answer"}``, a question whose answer decides what
  to draw, and that answer (what the image must show);
* ``mapping<k>.jsonl``: ``{"ID", "Question_A" or "Question_B", "Answer"}``, a symbol mapping
  defined in the question decides the object; the same ``ID`` appears once with each question;
* any other file name: knowledge, ``{"ID", "Question", "Answer"}``, knowledge the model must
  carry into the image.

Keys are read whatever their case (the released math files write ``id``, the others ``ID``).
The file name gives the difficulty ``k`` (``math_1``, ``mapping1``, ``Mapping-1`` alike); the
record gives the family: ``Question_A`` / ``Question_B`` make a mapping record, ``Question`` a
math record in a ``math`` file and a knowledge record elsewhere.

Each record becomes one instance:

* id: ``ID`` made safe (:func:`pytest_ureason.collect.formats.safe_id`), with ``-a`` / ``-b`` for
  ``Question_A`` / ``Question_B`` so the two questions of one mapping stay two items. A record
  that holds **both** questions (one is in the released ``mapping2.jsonl``) takes the A side
  of its ``ID``, or the B side when an earlier record already took A; it asks its own side's
  question and is tagged ``both-questions``;
* task: ``unisandbox-math-d<k>``, ``unisandbox-mapping-d<k>`` (one task per difficulty, like
  the synthetic ``math-d<k>``), or ``unisandbox-<file stem>`` for knowledge;
* prompt: the question; assertions: ``judge {expect: Answer}`` plus what
  :mod:`pytest_ureason.judge.derive` derives from ``Answer`` (marked derived);
* tags: ``[unisandbox, <family>, difficulty-<k>]`` (no difficulty for knowledge files).

An ``Answer`` that is a number is judged as its text. An ``Answer`` that is a placeholder the
authors left (``N/A``, ``undefined``, ``null``) loads, but the instance is **unscorable**: its
items skip with the reason ("unscorable: answer is 'N/A' in the released file"), are never
generated and never count as passes. A record that breaks these rules becomes a suite error
naming its line and field; the other records still load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_ureason.collect.formats.common import (
    add_judged,
    folded,
    key_clash,
    safe_id,
    safe_name,
    text_problem,
)
from pytest_ureason.collect.schema import InstanceSink

_NAME_RE = re.compile(r"^(?P<family>math|mapping)[_-]?(?P<k>\d{1,3})$", re.IGNORECASE)
LABEL = "UniSandbox record"
#: Answers the released files use for "no answer" (compared case-insensitively).
PLACEHOLDER_ANSWERS = frozenset({"n/a", "undefined", "null"})
_QUESTIONS = {"question": "Question", "question_a": "Question_A", "question_b": "Question_B"}


def unscorable_reason(answer: str) -> str | None:
    """Why an ``Answer`` cannot be judged (a placeholder the authors left), or None."""
    if answer.strip().casefold() in PLACEHOLDER_ANSWERS:
        return f"unscorable: answer is {answer.strip()!r} in the released file"
    return None


class UniSandboxFile:
    """Reads the records of one UniSandbox file (its name gives the difficulty, and the family
    of records with a plain ``Question``)."""

    def __init__(self, path: Path):
        found = _NAME_RE.match(path.stem)
        self.named: str | None = found.group("family").lower() if found else None
        self.difficulty: int | None = int(found.group("k")) if found else None
        self.stem = safe_name(path.stem) or "knowledge"
        #: mapping sides already taken, per ``ID`` (for records that hold both questions)
        self.sides: dict[str, set[str]] = {}

    def _family(self, keys: dict[str, Any]) -> str:
        if "question_a" in keys or "question_b" in keys:
            return "mapping"
        return "math" if self.named == "math" else "knowledge"

    def _task(self, family: str) -> str:
        if family == "knowledge" or self.difficulty is None:
            return f"unisandbox-{self.stem}"
        return f"unisandbox-{family}-d{self.difficulty}"

    def _question(self, keys: dict[str, Any], item_id: str) -> tuple[str, str, str, bool]:
        """(field, side, text, holds both) of the record's question.

        Raises:
            ValueError: no question, or one the file's family does not take.
        """
        found = [k for k in _QUESTIONS if k in keys]
        sides = [k for k in found if k != "question"]
        both = len(sides) == 2
        if not found or (sides and "question" in found):
            shown = ", ".join(_QUESTIONS[k] for k in found) or "none"
            raise ValueError(
                f"field Question: a record has Question, or Question_A and/or Question_B, "
                f"found {shown}"
            )
        if self.named == "mapping" and not sides:
            raise ValueError(
                "field Question_A/Question_B: a mapping record has Question_A or Question_B, "
                "found Question"
            )
        if self.named == "math" and sides:
            found_names = ", ".join(_QUESTIONS[k] for k in sides)
            raise ValueError(f"field Question: a math record has Question, found {found_names}")
        if both:  # the A side of its ID, unless an earlier record took it
            key = "question_b" if "a" in self.sides.get(item_id, set()) else "question_a"
        else:
            key = found[0]
        text = keys[key]
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"field {_QUESTIONS[key]}: a non-empty text, got {repr(text)[:60]}")
        side = {"question_a": "a", "question_b": "b"}.get(key, "")
        return _QUESTIONS[key], side, text, both

    def load_row(self, loader: InstanceSink, row: Any, line: int) -> None:
        """Add one record (or one error naming its line and field)."""
        if not isinstance(row, dict):
            loader.error(line, f"{LABEL} must be a JSON object, got {type(row).__name__}")
            return
        keys = folded(row)
        try:
            clash = key_clash(row)
            if clash is not None:
                raise ValueError(clash)
            item_id = safe_id(keys.get("id"), "ID")
            field, side, question, both = self._question(keys, item_id)
        except ValueError as exc:
            loader.error(line, f"{LABEL}: {exc}")
            return
        family = self._family(keys)
        if side:
            self.sides.setdefault(item_id, set()).add(side)
            item_id = f"{item_id}-{side}"
        answer = keys.get("answer")
        if isinstance(answer, int | float) and not isinstance(answer, bool):
            answer = str(answer)
        problem = text_problem(answer, "Answer")
        if problem is not None:
            loader.error(line, f"{LABEL} {item_id!r}: {problem}")
            return
        tags = ["unisandbox", family]
        if self.difficulty is not None and family != "knowledge":
            tags.append(f"difficulty-{self.difficulty}")
        if both:
            tags.append("both-questions")
        raw = {"id": item_id, "task": self._task(family), "prompt": question, "tags": tags}
        fields = {"expect": "Answer", "prompt": field}
        reason = unscorable_reason(str(answer))
        add_judged(
            loader, line, f"{LABEL} {item_id!r}", raw, str(answer), fields, unscorable=reason
        )
