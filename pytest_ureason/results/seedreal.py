"""Derived checks and the reasoning verdict measured on the seed benchmarks' released files.

Issue 14, section 3: our own judges on the real expectations. Read from a ``seed-data``
folder laid out as ``../shared/seed-data`` (UReason's ``<task>.jsonl`` with ``expect_en``,
UniSandbox's ``test_reasoning/*.jsonl`` and ``test_knowledge/*.jsonl`` with ``Answer``):

* :func:`sentences`: every expectation sentence, by record id (``ureason/<task>/<id>``,
  ``unisandbox/<folder>/<file stem>/<ID>`` with ``-a`` / ``-b`` for a mapping's side, as the
  loader names the instances);
* :func:`coverage`: per group of records, how many get at least one derived check;
* :func:`precision`: over labelled records (``tests/data/derive_labels.json``: record id ->
  the checks a faithful image must pass, written by reading the sentence), the derived
  checks that are among the labels, per task;
* :func:`reasoning_coverage`: over (expectation, refined prompt) pairs, how many prompts state
  something checkable and how many of those get a decided reasoning verdict
  (:func:`pytest_ureason.judge.derive.judge_text`).

Only the standard library and :mod:`pytest_ureason.judge.derive` are used; the sentences
stay in the seed-data folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ureason.judge.derive import derive, judge_text, read_facts, restates_task

UREASON_TASKS = ("code", "arithmetic", "spatial", "attribute", "text")


@dataclass(frozen=True)
class Sentence:
    """One released expectation sentence."""

    id: str  # ureason/<task>/<id>, unisandbox/<folder>/<stem>/<ID>[-a|-b]
    group: str  # ureason/<task>, unisandbox/test_reasoning/<math|mapping>, .../test_knowledge
    text: str


def _rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if isinstance(row, dict):
                yield n, {str(k).lower(): v for k, v in row.items()}


def sentences(seed_dir: Path) -> list[Sentence]:
    """Every expectation of the released UReason and UniSandbox files under ``seed_dir``.

    Raises:
        FileNotFoundError: a folder or file is missing.
        ValueError: a record without its id or expectation (naming file and line).
    """
    out: list[Sentence] = []
    for task in UREASON_TASKS:
        path = seed_dir / "ureason" / f"{task}.jsonl"
        for n, row in _rows(path):
            if "id" not in row or not isinstance(row.get("expect_en"), str):
                raise ValueError(f"{path}:{n}: field id/expect_en missing")
            out.append(Sentence(f"ureason/{task}/{row['id']}", f"ureason/{task}", row["expect_en"]))
    for folder in ("test_reasoning", "test_knowledge"):
        files = sorted((seed_dir / "unisandbox" / folder).glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"no UniSandbox files in {seed_dir / 'unisandbox' / folder}")
        sides: dict[tuple[str, str], set[str]] = {}
        for path in files:
            family = "mapping" if path.stem.startswith("mapping") else "math"
            group = f"unisandbox/{folder}" + (f"/{family}" if folder == "test_reasoning" else "")
            for n, row in _rows(path):
                if "id" not in row or "answer" not in row:
                    raise ValueError(f"{path}:{n}: field ID/Answer missing")
                rid = str(row["id"])
                taken = sides.setdefault((path.stem, rid), set())
                side = ""
                if "question_a" in row or "question_b" in row:
                    # as the loader: a record holding both questions takes A unless A is taken
                    side = (
                        "b"
                        if "question_b" in row and ("question_a" not in row or "a" in taken)
                        else "a"
                    )
                    taken.add(side)
                sid = f"unisandbox/{folder}/{path.stem}/{rid}" + (f"-{side}" if side else "")
                out.append(Sentence(sid, group, str(row["answer"])))
    return out


def describe(spec: Any) -> str:
    """A derived check in the labels' form: ``count(object=apple, op===, value=2)``."""
    return str(spec.describe()).removesuffix(" [derived]")


def coverage(items: Iterable[Sentence]) -> dict[str, dict[str, Any]]:
    """Per group, per benchmark (``ureason``, ``unisandbox``) and over ``all``: records, those
    with at least one derived check, the share."""
    counts: dict[str, list[int]] = {}
    for s in items:
        covered = int(bool(derive(s.text).specs))
        for key in (s.group, s.group.split("/")[0], "all"):
            c = counts.setdefault(key, [0, 0])
            c[0] += covered
            c[1] += 1
    return {
        k: {"covered": c, "records": n, "coverage": c / n if n else 0.0}
        for k, (c, n) in counts.items()
    }


@dataclass
class Precision:
    """Derived checks on labelled records: how many, how many are among the labels."""

    records: int = 0
    derived: int = 0
    correct: int = 0
    wrong: list[str] = field(default_factory=list)  # "record id: check"

    @property
    def rate(self) -> float:
        return self.correct / self.derived if self.derived else 0.0


def load_labels(path: Path) -> dict[str, list[str]]:
    """Record id -> expected checks (keys starting with ``_`` are notes).

    Raises:
        ValueError: a value that is not a list of strings (naming the record).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{path}: label {key!r} must be a list of check strings")
        out[key] = value
    return out


def precision(items: Iterable[Sentence], labels: dict[str, list[str]]) -> dict[str, Precision]:
    """Per group and over ``all``: derived checks of the labelled records and how many of them
    the labels list.

    Raises:
        KeyError: a labelled record id that is not among the sentences.
    """
    by_id = {s.id: s for s in items}
    missing = sorted(set(labels) - set(by_id))
    if missing:
        raise KeyError(f"labelled records not in the seed data: {missing[:5]}")
    out: dict[str, Precision] = {}
    for rid, expected in labels.items():
        s = by_id[rid]
        derived = [describe(spec) for spec in derive(s.text).specs]
        for key in (s.group, "all"):
            p = out.setdefault(key, Precision())
            p.records += 1
            p.derived += len(derived)
            good = [d for d in derived if d in expected]
            p.correct += len(good)
            if key == "all":
                p.wrong.extend(f"{rid}: {d}" for d in derived if d not in expected)
    return out


@dataclass
class ReasoningCoverage:
    """Reasoning verdicts from refined prompts: how many prompts state a checkable fact and
    how many of those are decided (right or wrong)."""

    items: int = 0
    stated: int = 0  # the prompt states something checkable and the expectation has checks
    right: int = 0
    wrong: int = 0

    @property
    def decided(self) -> int:
        return self.right + self.wrong

    @property
    def rate(self) -> float:
        return self.decided / self.stated if self.stated else 0.0


def states_something(text: str) -> bool:
    """Whether a scene prompt states what to draw in a form we read (an object, a count, a
    color, written text); a restated task statement does not."""
    if restates_task(text):
        return False
    facts = read_facts(text, as_text=True)
    return bool(facts.texts) or any(not m.negated for m in facts.mentions)


def reasoning_coverage(pairs: Iterable[tuple[str, str]]) -> ReasoningCoverage:
    """Over (expectation sentence, refined prompt) pairs: the verdict :func:`judge_text` gives
    where the expectation has derived checks and the prompt states something checkable."""
    out = ReasoningCoverage()
    for expectation, prompt in pairs:
        out.items += 1
        specs = derive(expectation).specs
        if not specs or not states_something(prompt):
            continue
        out.stated += 1
        verdict, _ = judge_text(specs, prompt)
        if verdict == "right":
            out.right += 1
        elif verdict == "wrong":
            out.wrong += 1
    return out
