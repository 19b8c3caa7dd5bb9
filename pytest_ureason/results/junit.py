"""Read suite results back from junit XML files, merge them, and check the merge.

Every suite item's testcase carries ``ureason_*`` properties (see :mod:`pytest_ureason.run.runner`
and :mod:`pytest_ureason.collect.items`): model, condition, task, instance, seed, and where the item
ran, the image path, reasoning, prompt drawn, verdicts with their evidence, suite version,
model fingerprint and shard. Only the first five are required; files written before the
others existed still load.

Merging several files (shards, conditions, models, runs) checks that no item appears twice
(overlapping shards), names the shards of which no file has results, and names the items
that ran under some condition or seed of their task but not under another.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ureason import record
from pytest_ureason.record import Record, shard_of

REQUIRED = record.REQUIRED


class ResultsError(Exception):
    """A results file that cannot be read, naming the file, the testcase and the field."""


@dataclass(frozen=True)
class Item:
    """One suite item's result, with everything its testcase recorded."""

    record: Record
    props: dict[str, str]
    source: str  # file the item was read from
    name: str = ""  # testcase name, e.g. arithmetic/arith-001[direct-s0]

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """(model, condition, task, instance, seed): unique in a merged set of results."""
        r = self.record
        return (r.model, r.condition, r.task, r.instance, r.seed)

    @property
    def item_id(self) -> str:
        """The item's pytest name, ``task/instance[condition-sSEED]``."""
        r = self.record
        return f"{r.task}/{r.instance}[{r.condition}-s{r.seed}]"

    def verdicts(self) -> list[dict[str, Any]]:
        """The verdicts recorded for the item ([] when absent or unreadable)."""
        raw = self.props.get("ureason_verdicts")
        if not raw:
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            return []
        return [v for v in data if isinstance(v, dict)] if isinstance(data, list) else []

    def suite(self) -> tuple[str, str] | None:
        """(suite name, version) of the item, None when the file did not record it."""
        raw = self.props.get("ureason_suite")
        if not raw:
            return None
        name, _, version = raw.rpartition("@")
        return (name, version) if name else (raw, "0")

    def image_path(self) -> Path | None:
        """The stored image, resolved against the results file's folder when relative."""
        raw = self.props.get("ureason_image")
        if not raw:
            return None
        path = Path(raw)
        return path if path.is_absolute() else Path(self.source).parent / path


@dataclass
class Results:
    """Merged results of several files, with what the merge found wrong."""

    items: list[Item] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)
    missing_shards: list[str] = field(default_factory=list)
    missing_items: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    other_testcases: int = 0  # plain tests and suite-error items

    def records(self) -> list[Record]:
        """The records for :class:`pytest_ureason.results.summary.Summary`."""
        return [i.record for i in self.items]

    def problems(self) -> list[str]:
        """Every merge problem as one line each."""
        return [*self.overlaps, *self.missing_shards, *self.missing_items]


def outcome_of(case: ET.Element, props: dict[str, str]) -> str:
    """passed | failed | error | skipped, from a testcase's children and properties."""
    tags = {child.tag for child in case}
    state = next((t for t in ("failure", "error", "skipped") if t in tags), "passed")
    return record.outcome("failed" if state == "failure" else state, props)


def item_from_props(props: dict[str, str], outcome: str, where: str, source: str = "") -> Item:
    """Build an :class:`Item` from ``ureason_*`` properties.

    Raises:
        ResultsError: a required property is missing or malformed, naming ``where`` and it.
    """
    try:
        return Item(record.read(props, outcome, where), props, source)
    except record.RecordError as exc:
        raise ResultsError(str(exc)) from None


def read_file(path: str | Path) -> tuple[list[Item], int]:
    """The suite items of one junit XML file, and the number of other testcases.

    Raises:
        ResultsError: the file is unreadable, not XML, or a testcase is malformed.
    """
    path = Path(path)
    try:
        tree = ET.parse(path)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ET.ParseError as exc:
        line, col = exc.position
        raise ResultsError(f"{path}:{line}:{col}: not a junit XML file: {exc}") from None
    root = tree.getroot()
    if root.tag not in ("testsuites", "testsuite"):
        raise ResultsError(f"{path}: not a junit XML file (root element <{root.tag}>)")
    items: list[Item] = []
    others = 0
    for n, case in enumerate(root.iter("testcase"), 1):
        props: dict[str, str] = {}
        for prop in case.iter("property"):
            name = prop.get("name")
            if name is not None and name.startswith(record.PREFIX):
                props[name] = prop.get("value", "")
        if not record.is_suite_item(props):
            others += 1
            continue
        name = case.get("name", "")
        where = f"{path}: testcase {name!r} (#{n})"
        item = item_from_props(props, outcome_of(case, props), where, str(path))
        items.append(Item(item.record, item.props, item.source, name))
    return items, others


def load_results(paths: list[str | Path]) -> Results:
    """Read and merge junit XML files, checking overlaps and what is missing.

    Raises:
        ResultsError: a file cannot be read (the first such file is named).
    """
    results = Results(files=[str(p) for p in paths])
    first: dict[tuple[str, str, str, str, int], Item] = {}
    shards: dict[int, set[int]] = defaultdict(set)
    read: list[Item] = []
    for path in paths:
        items, others = read_file(path)
        results.other_testcases += others
        read.extend(items)
    for item in _label_runs(read):
        seen = first.get(item.key)
        if seen is not None:
            if len(results.overlaps) < 50:
                results.overlaps.append(
                    f"overlap: {item.record.model} {item.item_id} is in both "
                    f"{seen.source} and {item.source}"
                )
            continue
        first[item.key] = item
        results.items.append(item)
        shard = item.props.get("ureason_shard", "")
        index, sep, count = shard.partition("/")
        if sep and index.isdigit() and count.isdigit():
            shards[int(count)].add(int(index))
    for total, present in sorted(shards.items()):
        for k in range(1, total + 1):
            if k not in present:
                results.missing_shards.append(f"missing: shard {k}/{total} (no file has its items)")
    results.missing_items = _holes(results.items)
    return results


def _label_runs(items: list[Item]) -> list[Item]:
    """Tell runs of one adapter with different weights or settings apart: when a model name
    comes with several fingerprints, each run's model becomes ``name@fingerprint``."""
    prints: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.props.get("ureason_fingerprint"):
            prints[item.record.model].add(item.props["ureason_fingerprint"])
    out = []
    for item in items:
        r = item.record
        fp = item.props.get("ureason_fingerprint", "")
        if fp and len(prints[r.model]) > 1:
            label = f"{r.model}@{fp[:8]}"
            r = Record(label, r.condition, r.task, r.instance, r.seed, r.outcome)
            item = Item(r, item.props, item.source, item.name)
        out.append(item)
    return out


def _holes(items: list[Item], limit: int = 50) -> list[str]:
    """Items that ran under some condition or seed of their (model, task) but not another.

    Only instances with a question have an ``understand`` item: without the suites at hand, an
    instance is taken to have one when any model or seed answered it (``--suites`` checks
    exactly).
    """
    grid: dict[tuple[str, str], dict[str, set[Any]]] = defaultdict(
        lambda: {"conditions": set(), "seeds": set(), "instances": set()}
    )
    present = set()
    answered: set[tuple[str, str]] = set()  # (task, instance) with an understand item
    for item in items:
        r = item.record
        g = grid[(r.model, r.task)]
        g["conditions"].add(r.condition)
        g["seeds"].add(r.seed)
        g["instances"].add(r.instance)
        present.add(item.key)
        if r.condition == "understand":
            answered.add((r.task, r.instance))
    holes: list[str] = []
    total = 0
    for (model, task), g in sorted(grid.items()):
        for inst in sorted(g["instances"]):
            for cond in sorted(g["conditions"]):
                if cond == "understand" and (task, inst) not in answered:
                    continue
                for seed in sorted(g["seeds"]):
                    if (model, cond, task, inst, seed) not in present:
                        total += 1
                        if len(holes) < limit:
                            holes.append(f"missing: {model} {task}/{inst}[{cond}-s{seed}]")
    if total > limit:
        holes.append(f"missing: ... and {total - limit} more items")
    return holes


def missing_from_suites(
    results: Results, instances: list[tuple[str, str, bool]], limit: int = 50
) -> list[str]:
    """Items of the suites' instances that no file holds, per model in the results.

    Args:
        results: the merged results (their conditions and seeds per model are expected).
        instances: (task, id, has a question) of every instance in the suites; ``understand``
            items are expected only for instances with a question.
    """
    present = {item.key for item in results.items}
    shards = {
        int(n)
        for i in results.items
        if (n := i.props.get(record.SHARD, "").partition("/")[2]).isdigit()
    }
    lines: list[str] = []
    total = 0
    for model in sorted({i.record.model for i in results.items}):
        conds = sorted({i.record.condition for i in results.items if i.record.model == model})
        seeds = sorted({i.record.seed for i in results.items if i.record.model == model})
        for task, inst, question in instances:
            for cond in conds:
                if cond == "understand" and not question:
                    continue
                for seed in seeds:
                    if (model, cond, task, inst, seed) in present:
                        continue
                    total += 1
                    if len(lines) < limit:
                        where = "".join(
                            f" (shard {shard_of(task, inst, n)}/{n})" for n in sorted(shards)
                        )
                        lines.append(f"missing: {model} {task}/{inst}[{cond}-s{seed}]{where}")
    if total > limit:
        lines.append(f"missing: ... and {total - limit} more items")
    return lines
