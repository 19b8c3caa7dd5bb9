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
                specs (:mod:`..suite`)
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

Ids from the files become safe item ids with :func:`safe_id`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ureason.collect.schema import SuiteLoader

#: Every name ``--suite-format`` accepts.
FORMATS: tuple[str, ...] = ("auto", "native", "geneval", "ureason", "unisandbox")
#: What ``--derived-assertions`` accepts: derived assertions only ``advise`` (the yes/no
#: judge alone decides an item, as the papers judged) or ``require`` (they decide too).
DERIVED_ROLES: tuple[str, ...] = ("advise", "require")

RowLoader = Callable[["SuiteLoader", Any, int], None]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: The item-id rule of :mod:`pytest_ureason.collect.schema` (kept equal to ``suite.SAFE_ID``).
SAFE_ID_CHECK = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_-])?$")
MAX_ID = 80


def folded(row: dict[str, Any]) -> dict[str, Any]:
    """A record's keys, case-folded (``ID``/``id``/``Id`` are one key). When two keys fold to
    the same name the first written one wins; :func:`key_clash` reports it."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        out.setdefault(str(key).casefold(), value)
    return out


def key_clash(row: dict[str, Any]) -> str | None:
    """Why a record's keys are ambiguous (``ID`` and ``id`` both present), or None."""
    seen: dict[str, str] = {}
    for key in row:
        name = str(key).casefold()
        if name in seen:
            return f"field {seen[name]}: given twice, as {seen[name]!r} and {key!r}"
        seen[name] = str(key)
    return None


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
        from pytest_ureason.collect.formats.geneval import load_row

        return load_row
    if name == "ureason":
        from pytest_ureason.collect.formats.ureason import UReasonFile

        return UReasonFile(path).load_row
    if name == "unisandbox":
        from pytest_ureason.collect.formats.unisandbox import UniSandboxFile

        return UniSandboxFile(path).load_row
    return None


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def safe_id(raw: Any, field: str) -> str:
    """A file-name safe item id from a record's id (a string or a number).

    Unsafe characters become ``-``; when anything had to change (or the id was longer than
    80 characters) a short hash of the original is appended, so two ids that differ only in
    unsafe characters (``a/b``, ``a b``) stay distinct. Numbers keep their digits (``7``,
    ``1.5``).

    Raises:
        ValueError: the id is missing, empty, a boolean or not a string or number; the
            message names ``field``.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        shown = "missing" if raw is None else f"a {type(raw).__name__}"
        raise ValueError(f"field {field}: must be a string or a number, got {shown}")
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError(f"field {field}: must be a finite number, got {raw!r}")
        text = str(int(raw)) if raw.is_integer() else repr(raw)
    else:
        text = str(raw).strip()
    if not text:
        raise ValueError(f"field {field}: must not be empty")
    cleaned = _UNSAFE.sub("-", text).strip("._-")
    if cleaned == text and len(text) <= MAX_ID:
        return text
    return f"{(cleaned or 'id')[: MAX_ID - 7].rstrip('._-') or 'id'}-{_short_hash(text)}"


def text_problem(value: Any, field: str) -> str | None:
    """Why ``value`` is not a non-empty text for ``field`` (None when it is one)."""
    if isinstance(value, str) and value.strip():
        return None
    shown = "missing" if value is None else repr(value)[:60]
    return f"field {field}: a non-empty text, got {shown}"


def safe_name(text: str) -> str:
    """A task-name part from free text (``Spatial Reasoning`` -> ``spatial-reasoning``)."""
    return _UNSAFE.sub("-", text.strip().lower()).strip("._-")[:60].rstrip("._-")


def add_judged(
    loader: SuiteLoader,
    line: int,
    label: str,
    raw: dict[str, Any],
    expectation: str,
    fields: dict[str, str] | None = None,
    **extra: Any,
) -> None:
    """Add an instance judged by the yes/no judge on ``expectation``, with the assertions
    :func:`pytest_ureason.judge.derive.derive` finds in it (marked derived), or one error naming
    the line and field (``label`` names the format in the message; ``fields`` maps our field
    names, ``expect`` and ``prompt``, to the record's own, e.g. ``{"expect": "expect_en"}``;
    ``extra`` sets further :class:`~pytest_ureason.collect.schema.Instance` fields, e.g.
    ``unscorable``)."""
    from dataclasses import replace

    from pytest_ureason.collect.schema import InvalidField, build_instance, field_path
    from pytest_ureason.judge.derive import derive

    try:
        judged = {**raw, "expect": [{"judge": {"expect": expectation}}]}
        instance = build_instance(judged, None, line)
    except InvalidField as exc:
        # the record's own field names: the expectation is not in an ``expect`` list there
        head = str(exc.loc[0]) if exc.loc else ""
        where = (fields or {}).get(head) or field_path(exc.loc)
        loader.error(line, f"{label}: field {where}: {exc.message}")
        return
    derived = derive(expectation)
    loader.add(replace(instance, expect=instance.expect + derived.specs, **extra))
