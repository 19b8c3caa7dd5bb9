"""Importers of released benchmark file formats, one module per format.

A JSON-lines suite file in a known external format loads as a suite without conversion. The
recognition rule looks at each record's keys, in this order, and the file takes the format
**most of its records** show (a tie goes to the earliest record's), so one malformed record
(say a UReason record without ``expect_en``) is an error of its own instead of turning the
whole file into a native suite:

==============  ===========================================================================
format          a record
==============  ===========================================================================
``native``      has ``expect``, ``generator`` or ``task``: our own instances and generator
                specs (:mod:`..schema`)
``ureason``     has ``expect_en`` (UReason: ``{"id", "prompt", "expect_en", "category"}``)
``unisandbox``  has an id (``ID`` or ``id``), ``Answer`` and one of ``Question``,
                ``Question_A``, ``Question_B`` (UniSandbox reasoning and knowledge files)
``geneval``     has ``tag``, ``prompt`` and ``include`` and no id (GenEval's metadata)
``native``      anything else
==============  ===========================================================================

Key case does not matter for the three released formats: UniSandbox's math files write
``id``, its other files ``ID``, and both are recognised and read.

The file's **name** then picks the variant: UReason's ``direct_<task>.jsonl`` holds the plain
scene requests of ``<task>`` (:mod:`.ureason`); UniSandbox's ``math_<k>.jsonl`` and
``mapping<k>.jsonl`` (with or without ``_`` / ``-``, any case) give the difficulty ``k``, while
the records' content gives the family: a record with ``Question_A`` / ``Question_B`` is a
mapping, one with ``Question`` is math in a ``math`` file, knowledge otherwise
(:mod:`.unisandbox`). ``--suite-format NAME`` (ini ``ureason_suite_format``)
skips the rule and reads every JSONL suite file of the run with that importer; ``auto`` (the
default) applies the rule. YAML files are always ``native``.

What the importers share (safe ids, case-folded keys, instances judged on an expectation
sentence) is in :mod:`.common`; ids from the files become safe item ids with
:func:`~.common.safe_id`.
"""

from __future__ import annotations

from collections.abc import Callable
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
from pytest_ureason.collect.formats.geneval import load_row as load_geneval_row
from pytest_ureason.collect.formats.unisandbox import UniSandboxFile
from pytest_ureason.collect.formats.ureason import UReasonFile
from pytest_ureason.collect.schema import InstanceSink

__all__ = [
    "FORMATS",
    "RowLoader",
    "add_judged",
    "choose_format",
    "folded",
    "key_clash",
    "row_loader",
    "safe_id",
    "safe_name",
    "sniff",
    "text_problem",
]

#: Every name ``--suite-format`` accepts.
FORMATS: tuple[str, ...] = ("auto", "native", "geneval", "ureason", "unisandbox")

RowLoader = Callable[[InstanceSink, Any, int], None]


_UNISANDBOX_QUESTIONS = ("question", "question_a", "question_b")
#: Keys only our own (native) instances and generator specs have.
_NATIVE_KEYS = ("expect", "generator", "task")


def sniff(first: Any) -> str:
    """The format one JSON-lines record shows (see the module docstring). Key case does not
    matter for the released formats (``id`` and ``ID`` are both UniSandbox's id)."""
    if not isinstance(first, dict):
        return "native"
    if any(key in first for key in _NATIVE_KEYS):
        return "native"
    keys = folded(first)
    if "expect_en" in keys:
        return "ureason"
    if "id" in keys and "answer" in keys and any(q in keys for q in _UNISANDBOX_QUESTIONS):
        return "unisandbox"
    if "id" not in keys and "tag" in keys and "prompt" in keys and "include" in keys:
        return "geneval"
    return "native"


def choose_format(records: list[Any]) -> str:
    """The format of a JSON-lines file: the one most records show (see the module docstring)."""
    votes: dict[str, int] = {}
    for raw in records:
        name = sniff(raw)
        votes[name] = votes.get(name, 0) + 1  # dicts keep the order of first appearance
    if not votes:
        return "native"
    return max(votes, key=lambda name: votes[name])  # max keeps the first of equal counts


def row_loader(name: str, path: Path) -> RowLoader | None:
    """The function that adds one record of format ``name`` to a suite (None for native)."""
    if name == "geneval":
        return load_geneval_row
    if name == "ureason":
        return UReasonFile(path).load_row
    if name == "unisandbox":
        return UniSandboxFile(path).load_row
    return None
