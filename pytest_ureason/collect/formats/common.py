"""What the format importers share: safe item ids from released ids, case-folded record keys,
text checks, and adding an instance judged on an expectation sentence (with the assertions
:func:`pytest_ureason.judge.derive.derive` finds in it)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from pytest_ureason.collect.schema import InstanceSink, InvalidField, build_instance, field_path
from pytest_ureason.judge.derive import derive

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
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
    loader: InstanceSink,
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
