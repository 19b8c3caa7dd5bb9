"""GenEval's prompt metadata (``evaluation_metadata.jsonl``) as a suite.

Each line is ``{"tag": ..., "prompt": ..., "include": [...], "exclude": [...]}`` where a clause
is ``{"class": NAME, "count": N, "color": COLOR, "position": [RELATION, INDEX]}`` (only
``class`` is required). Each line becomes one instance, id ``geneval-LLLLL`` (its line number),
task ``geneval-TAG``, tags ``[TAG, geneval]``, and its clauses become assertions:

========================================  ============================================
GenEval clause                            pytest-ureason assertion
========================================  ============================================
include ``{class: C}``                    ``present {object: C}``
include ``{class: C, count: N}``, N > 1   ``count {object: C, op: ">=", value: N}``
include ``{..., color: K}``               ``color {object: C, color: K}``
include ``{..., position: [R, i]}``       ``relation {subject: C, relation: R,
                                          object: include[i].class}``
exclude ``{class: C}``                    ``absent {object: C}``
exclude ``{class: C, count: N}``          ``count {object: C, op: "<", value: N}``
========================================  ============================================

This is GenEval's own reading: an include clause asks for *at least* N objects, and GenEval's
counting prompts pair it with an exclude clause of N + 1, which together ask for exactly N.
Class names are COCO's (``dining table``, ``potted plant``); relations are ``left of``,
``right of``, ``above``, ``below``. A line that breaks these rules becomes a suite error naming
its line and field; the other lines still load.
"""

from __future__ import annotations

from typing import Any

from pytest_ureason.collect.schema import InstanceSink, InvalidField, build_instance, field_path
from pytest_ureason.scene import vocabulary

RELATIONS = ("left of", "right of", "above", "below")


class ClauseError(ValueError):
    """A clause that cannot be mapped; ``field`` locates it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _object(clause: Any, field: str) -> str:
    if not isinstance(clause, dict):
        raise ClauseError(field, f"a clause must be a mapping, got {type(clause).__name__}")
    unknown = sorted(set(clause) - {"class", "count", "color", "position"})
    if unknown:
        raise ClauseError(field, f"unknown key(s) {unknown}")
    name = clause.get("class")
    if not isinstance(name, str):
        raise ClauseError(f"{field}.class", "'class' (an object name) is required")
    found = vocabulary.lookup_object(name)
    if found is None:
        raise ClauseError(f"{field}.class", f"unknown object {name!r}")
    return found.name


def _count(clause: dict[str, Any], field: str) -> int | None:
    count = clause.get("count")
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ClauseError(f"{field}.count", f"must be a positive integer, got {count!r}")
    return count


def expectations(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The assertions of one GenEval line (see the module docstring's table).

    Raises:
        ClauseError: a clause that cannot be mapped.
    """
    include = row.get("include") or []
    exclude = row.get("exclude") or []
    if not isinstance(include, list) or not isinstance(exclude, list):
        raise ClauseError("include", "'include' and 'exclude' must be lists")
    names = [_object(c, f"include[{i}]") for i, c in enumerate(include)]
    expect: list[dict[str, Any]] = []
    for i, (clause, name) in enumerate(zip(include, names, strict=True)):
        count = _count(clause, f"include[{i}]")
        if count is None or count == 1:
            expect.append({"present": {"object": name}})
        else:
            expect.append({"count": {"object": name, "op": ">=", "value": count}})
        if clause.get("color") is not None:
            expect.append({"color": {"object": name, "color": clause["color"]}})
        position = clause.get("position")
        if position is not None:
            field = f"include[{i}].position"
            if not (isinstance(position, list) and len(position) == 2):
                raise ClauseError(field, f"must be [relation, index], got {position!r}")
            relation, index = position
            if relation not in RELATIONS:
                raise ClauseError(field, f"relation must be one of {list(RELATIONS)}")
            if isinstance(index, bool) or not isinstance(index, int):
                raise ClauseError(field, f"index must be an integer, got {index!r}")
            if not 0 <= index < len(names) or index == i:
                raise ClauseError(field, f"index {index} names no other include clause")
            expect.append(
                {"relation": {"subject": name, "relation": relation, "object": names[index]}}
            )
    for i, clause in enumerate(exclude):
        name = _object(clause, f"exclude[{i}]")
        count = _count(clause, f"exclude[{i}]")
        if count is None or count == 1:
            expect.append({"absent": {"object": name}})
        else:
            expect.append({"count": {"object": name, "op": "<", "value": count}})
    if not expect:
        raise ClauseError("include", "no clause to check")
    return expect


def load_row(loader: InstanceSink, row: Any, line: int) -> None:
    """Add one GenEval line to a suite being loaded (or one error naming line and field)."""
    if not isinstance(row, dict):
        loader.error(line, f"GenEval line must be a JSON object, got {type(row).__name__}")
        return
    extra = sorted(set(row) - {"tag", "prompt", "include", "exclude"})
    if extra:
        loader.error(line, f"GenEval line: unknown field(s) {extra}")
        return
    try:
        expect = expectations(row)
    except ClauseError as exc:
        loader.error(line, f"GenEval line: field {exc.field}: {exc}")
        return
    tag = row.get("tag")
    raw = {
        "id": f"geneval-{line:05d}",
        "task": f"geneval-{tag}" if isinstance(tag, str) else tag,
        "prompt": row.get("prompt"),
        "expect": expect,
        "tags": [tag, "geneval"] if isinstance(tag, str) else ["geneval"],
    }
    try:
        loader.add(build_instance(raw, None, line))
    except InvalidField as exc:
        where = "tag" if exc.loc[:1] == ("task",) else field_path(exc.loc)
        loader.error(line, f"GenEval line: field {where}: {exc.message}")
