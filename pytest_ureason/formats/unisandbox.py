"""UniSandbox's released reasoning and knowledge files as a suite.

* ``math_<k>.jsonl``: ``{"ID", "Question", "Answer"}``, a question whose answer decides what
  to draw, and that answer (what the image must show);
* ``mapping_<k>.jsonl``: ``{"ID", "Question_A" or "Question_B", "Answer"}``, a symbol mapping
  defined in the question decides the object; the same ``ID`` appears once with each question;
* any other file name: knowledge, ``{"ID", "Question", "Answer"}``, knowledge the model must
  carry into the image.

Each record becomes one instance:

* id: ``ID`` made safe (:func:`pytest_ureason.formats.safe_id`), with ``-a`` / ``-b`` for
  ``Question_A`` / ``Question_B`` so the two questions of one mapping stay two items;
* task: ``unisandbox-math-d<k>``, ``unisandbox-mapping-d<k>`` (one task per difficulty, like
  the synthetic ``math-d<k>``), or ``unisandbox-<file stem>`` for knowledge;
* prompt: the question; assertions: ``judge {expect: Answer}`` plus what
  :mod:`pytest_ureason.derive` derives from ``Answer`` (marked derived);
* tags: ``[unisandbox, <family>, difficulty-<k>]`` (no difficulty for knowledge files).

An ``Answer`` that is a number is judged as its text. A record that breaks these rules becomes
a suite error naming its line and field; the other records still load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.formats import add_judged, safe_id, safe_name, text_problem

if TYPE_CHECKING:
    from pytest_ureason.suite import SuiteLoader

_FAMILY_RE = re.compile(r"^(?P<family>math|mapping)[_-](?P<k>\d{1,3})$", re.IGNORECASE)
LABEL = "UniSandbox record"


class UniSandboxFile:
    """Reads the records of one UniSandbox file (its name gives the family and difficulty)."""

    def __init__(self, path: Path):
        found = _FAMILY_RE.match(path.stem)
        if found is not None:
            self.family = found.group("family").lower()
            self.difficulty: int | None = int(found.group("k"))
            self.task = f"unisandbox-{self.family}-d{self.difficulty}"
        else:
            self.family, self.difficulty = "knowledge", None
            stem = safe_name(path.stem) or "knowledge"
            self.task = f"unisandbox-{stem}"

    def _question(self, row: dict[str, Any]) -> tuple[str, str, str]:
        """(field, suffix of the id, text) of the record's question.

        Raises:
            ValueError: no question or two, or one the family does not take.
        """
        keys = [k for k in ("Question", "Question_A", "Question_B") if k in row]
        wanted = ("Question_A", "Question_B") if self.family == "mapping" else ("Question",)
        if len(keys) != 1 or keys[0] not in wanted:
            found = ", ".join(keys) or "none"
            raise ValueError(
                f"field {'/'.join(wanted)}: a {self.family} record has exactly one of "
                f"{' or '.join(wanted)}, found {found}"
            )
        text = row[keys[0]]
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"field {keys[0]}: a non-empty text, got {repr(text)[:60]}")
        suffix = {"Question_A": "a", "Question_B": "b"}.get(keys[0], "")
        return keys[0], suffix, text

    def load_row(self, loader: SuiteLoader, row: Any, line: int) -> None:
        """Add one record (or one error naming its line and field)."""
        if not isinstance(row, dict):
            loader.error(line, f"{LABEL} must be a JSON object, got {type(row).__name__}")
            return
        try:
            item_id = safe_id(row.get("ID"), "ID")
            key, suffix, question = self._question(row)
        except ValueError as exc:
            loader.error(line, f"{LABEL}: {exc}")
            return
        if suffix:
            item_id = f"{item_id}-{suffix}"
        answer = row.get("Answer")
        if isinstance(answer, int | float) and not isinstance(answer, bool):
            answer = str(answer)
        problem = text_problem(answer, "Answer")
        if problem is not None:
            loader.error(line, f"{LABEL} {item_id!r}: {problem}")
            return
        tags = ["unisandbox", self.family]
        if self.difficulty is not None:
            tags.append(f"difficulty-{self.difficulty}")
        raw = {"id": item_id, "task": self.task, "prompt": question, "tags": tags}
        fields = {"expect": "Answer", "prompt": key}
        add_judged(loader, line, f"{LABEL} {item_id!r}", raw, str(answer), fields)
