"""UReason's released JSON lines as a suite.

One file per task (``code``, ``arithmetic``, ``spatial``, ``attribute``, ``text``), one record
per line::

    {"id": 12, "prompt": "...", "expect_en": "Exactly 2 red apples.", "category": "arithmetic"}

and ``direct_<task>.jsonl`` variants of the same records whose ``prompt`` is the plain scene
request. Each record becomes one instance:

* id: the record's ``id`` made safe (:func:`pytest_ureason.formats.safe_id`);
* task: ``ureason-<category>`` (``ureason-<category>-direct`` in a ``direct_`` file); a record
  without ``category`` takes the task from the file name;
* prompt: ``prompt`` unchanged. UReason's prompts ask for ``Reasoning: ...`` then
  ``Final Scene Prompt: ...``; :func:`pytest_ureason.conditions.extract_refined` reads that
  label as the refined prompt for ``decontext``, beside our own ``<refined_prompt>`` tag;
* assertions: ``judge {expect: expect_en}`` (the paper's yes/no image judge), plus the
  ``count`` / ``color`` / ``present`` / ``absent`` assertions :mod:`pytest_ureason.derive`
  finds in ``expect_en``, marked derived;
* tags: ``[category, ureason]`` (and ``direct``).

Other keys (e.g. expectations in other languages) are ignored. A record that breaks these rules
becomes a suite error naming its line and field; the other records still load.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.formats import add_judged, safe_id, safe_name, text_problem

if TYPE_CHECKING:
    from pytest_ureason.suite import SuiteLoader

_DIRECT_RE = re.compile(r"^direct[_-](?P<task>.+)$", re.IGNORECASE)
LABEL = "UReason record"


class UReasonFile:
    """Reads the records of one UReason file (its name gives the variant and default task)."""

    def __init__(self, path: Path):
        found = _DIRECT_RE.match(path.stem)
        self.direct = found is not None
        self.default_category = safe_name(found.group("task") if found else path.stem)

    def load_row(self, loader: SuiteLoader, row: Any, line: int) -> None:
        """Add one record (or one error naming its line and field)."""
        if not isinstance(row, dict):
            loader.error(line, f"{LABEL} must be a JSON object, got {type(row).__name__}")
            return
        try:
            item_id = safe_id(row.get("id"), "id")
        except ValueError as exc:
            loader.error(line, f"{LABEL}: {exc}")
            return
        for key in ("prompt", "expect_en"):
            problem = text_problem(row.get(key), key)
            if problem is not None:
                loader.error(line, f"{LABEL} {item_id!r}: {problem}")
                return
        category = row.get("category", self.default_category)
        if not isinstance(category, str) or not safe_name(category):
            loader.error(
                line, f"{LABEL} {item_id!r}: field category: a task name, got {category!r}"[:300]
            )
            return
        task = f"ureason-{safe_name(category)}" + ("-direct" if self.direct else "")
        tags = [category, "ureason"] + (["direct"] if self.direct else [])
        raw = {"id": item_id, "task": task, "prompt": row["prompt"], "tags": tags}
        add_judged(
            loader, line, f"{LABEL} {item_id!r}", raw, row["expect_en"], {"expect": "expect_en"}
        )
