"""UReason's released JSON lines as a suite.

One file per task (``code``, ``arithmetic``, ``spatial``, ``attribute``, ``text``), one record
per line::

    {"id": 12, "prompt": "...", "expect_en": "Exactly 2 red apples.", "category": "arithmetic"}

and ``direct_<task>.jsonl`` variants of the same ids whose ``prompt`` is the plain scene
request. The two files of a task are **one instance per id**, as the paper ran them: ``direct``
draws the direct file's prompt, ``reasoning`` the full prompt with the model's own reasoning,
``decontext`` the prompt extracted from that reasoning; all are judged against the full file's
``expect_en``. Concretely:

* ``<task>.jsonl`` with ``direct_<task>.jsonl`` beside it: each id takes the direct file's
  prompt for ``direct`` (:attr:`~pytest_ureason.collect.schema.Instance.direct_prompt`); an id the
  direct file lacks runs like a full file alone;
* ``<task>.jsonl`` alone: ``reasoning`` and ``decontext`` (and ``direct`` on its own prompt
  only when ``--condition direct`` is asked for);
* ``direct_<task>.jsonl``: ``direct`` only, judged against its own ``expect_en`` (the same
  text as the full file's in the released data). When its ``<task>.jsonl`` is collected in
  the same run, its records are that file's and it yields no items of its own.

Each record becomes one instance:

* id: the record's ``id`` made safe (:func:`pytest_ureason.collect.formats.safe_id`);
* task: ``ureason-<category>`` for both files; a record without ``category`` takes the task
  from the file name;
* prompt: ``prompt`` unchanged. UReason's prompts ask for ``Reasoning: ...`` then
  ``Final Scene Prompt: ...``; :func:`pytest_ureason.conditions.extract_refined` reads that
  label as the refined prompt for ``decontext``, beside our own ``<refined_prompt>`` tag;
* assertions: ``judge {expect: expect_en}`` (the paper's yes/no image judge), plus the
  ``count`` / ``color`` / ``present`` / ``absent`` assertions :mod:`pytest_ureason.judge.derive`
  finds in ``expect_en``, marked derived;
* tags: ``[category, ureason]`` (and ``direct`` for a direct file's own instances).

Keys are read whatever their case. Other keys (e.g. expectations in other languages) are
ignored. A record that breaks these rules becomes a suite error naming its line and field;
the other records still load.
"""

from __future__ import annotations

import json
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

_DIRECT_RE = re.compile(r"^direct[_-](?P<task>.+)$", re.IGNORECASE)
LABEL = "UReason record"


def _sibling(path: Path, direct: bool) -> Path | None:
    """The other file of a task's pair in ``path``'s folder (any ``direct``/``_``/``-`` case),
    or None."""
    stem = path.stem
    try:
        others = sorted(p for p in path.parent.iterdir() if p.suffix == ".jsonl" and p != path)
    except OSError:
        return None
    for other in others:
        found = _DIRECT_RE.match(other.stem)
        if direct and found is None and other.stem.casefold() == _task_of(stem).casefold():
            return other
        if not direct and found is not None and found.group("task").casefold() == stem.casefold():
            return other
    return None


def _task_of(stem: str) -> str:
    found = _DIRECT_RE.match(stem)
    return found.group("task") if found else stem


def direct_prompts(path: Path) -> dict[str, str]:
    """The ``prompt`` of each id in a ``direct_`` file (records it cannot read are left out:
    they are that file's own suite errors when it is collected)."""
    prompts: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return prompts
    for row in text.splitlines():
        try:
            raw = json.loads(row) if row.strip() else None
        except (json.JSONDecodeError, RecursionError):
            continue
        if not isinstance(raw, dict):
            continue
        keys = folded(raw)
        try:
            item_id = safe_id(keys.get("id"), "id")
        except ValueError:
            continue
        if text_problem(keys.get("prompt"), "prompt") is None:
            prompts.setdefault(item_id, keys["prompt"])
    return prompts


class UReasonFile:
    """Reads the records of one UReason file (its name gives the variant and default task;
    the file beside it of the same task gives the pairing)."""

    def __init__(self, path: Path):
        found = _DIRECT_RE.match(path.stem)
        self.direct = found is not None
        self.default_category = safe_name(_task_of(path.stem))
        self.sibling = _sibling(path, self.direct)
        self.paired: dict[str, str] = {}
        if self.sibling is not None and not self.direct:
            self.paired = direct_prompts(self.sibling)

    def load_row(self, loader: InstanceSink, row: Any, line: int) -> None:
        """Add one record (or one error naming its line and field)."""
        if not isinstance(row, dict):
            loader.error(line, f"{LABEL} must be a JSON object, got {type(row).__name__}")
            return
        clash = key_clash(row)
        if clash is not None:
            loader.error(line, f"{LABEL}: {clash}")
            return
        row = folded(row)  # keys in any case (``ID``, ``Expect_EN``)
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
        task = f"ureason-{safe_name(category)}"
        tags = [category, "ureason"] + (["direct"] if self.direct else [])
        raw = {"id": item_id, "task": task, "prompt": row["prompt"], "tags": tags}
        extra: dict[str, Any] = {}
        if self.direct:
            extra["conditions"] = ("direct",)
            if self.sibling is not None:
                extra["paired_in"] = str(self.sibling.resolve())
        elif item_id in self.paired:
            extra["direct_prompt"] = self.paired[item_id]
        else:
            extra["conditions_if_asked"] = ("direct",)
        add_judged(
            loader,
            line,
            f"{LABEL} {item_id!r}",
            raw,
            row["expect_en"],
            {"expect": "expect_en"},
            **extra,
        )
