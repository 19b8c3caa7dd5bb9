"""Declarative assertions on images: a registry of small functions returning verdicts.

An assertion type is a function ``(observation, params) -> Verdict`` registered with
:func:`assertion` together with a pydantic model of its parameters, which is what a suite file's
``expect:`` entries are validated against::

    expect:
      - count: {object: apple, op: "==", value: 3}
      - color: {object: apple, color: red}
      - relation: {subject: apple, relation: left of, object: cup}
      - text: {contains: "51"}
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pytest_ureason.judge.observation import EvidenceCache, Observation
from pytest_ureason.scene import vocabulary

__all__ = [
    "COMPARE",
    "AssertionSpec",
    "EvidenceCache",
    "Observation",
    "Verdict",
    "assertion",
    "evaluate",
    "get_assertion",
]

if TYPE_CHECKING:
    from pytest_ureason.judge.detect.classical import Detection


@dataclass(frozen=True)
class Verdict:
    """The outcome of one assertion on one image."""

    passed: bool
    reason: str
    assertion: str
    detector: str
    evidence: dict[str, Any] = field(default_factory=dict)
    #: False when the judge gave no usable answer: the item is an error, not a pass or fail.
    decided: bool = True


class Params(BaseModel):
    """Base of every assertion's parameter model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class AssertionSpec:
    """One validated ``expect:`` entry: an assertion type's name and its parameters."""

    name: str
    params: Params
    #: Derived by :mod:`pytest_ureason.judge.derive` from an expectation sentence, not written.
    derived: bool = False

    def describe(self) -> str:
        """Short text form, e.g. ``count(object=apple, op===, value=3)``."""
        args = ", ".join(f"{k}={v}" for k, v in self.params.model_dump(exclude_none=True).items())
        return f"{self.name}({args})" + (" [derived]" if self.derived else "")

    def to_dict(self) -> dict[str, Any]:
        """The suite-file form of this assertion."""
        return {self.name: self.params.model_dump(exclude_none=True)}


def _object_name(value: str) -> str:
    obj = vocabulary.lookup_object(value)
    if obj is None:
        names = [o.name for o in vocabulary.objects()]
        close = difflib.get_close_matches(value.lower(), names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown object {value!r}{hint}")
    return obj.name


class ObjectParams(Params):
    """Parameters naming one object class."""

    object: str

    @field_validator("object")
    @classmethod
    def _known(cls, value: str) -> str:
        return _object_name(value)


class CountParams(ObjectParams):
    """``count``: how many of an object, compared with ``op``."""

    op: Literal["==", ">=", "<=", ">", "<"] = "=="
    value: int = Field(ge=0, le=1000)


class ColorParams(ObjectParams):
    """``color``: every instance of the object has this palette color."""

    color: str

    @field_validator("color")
    @classmethod
    def _palette(cls, value: str) -> str:
        name = vocabulary.canonical_color(value)
        if name is None:
            raise ValueError(
                f"unknown color {value!r} (known: {', '.join(vocabulary.COLOR_NAMES)})"
            )
        return name


class RelationParams(Params):
    """``relation``: where the subject's instances stand relative to the object's."""

    subject: str
    relation: Literal["left of", "right of", "above", "below"]
    object: str

    @field_validator("relation", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> Any:
        return (
            " ".join(value.replace("_", " ").split()).lower() if isinstance(value, str) else value
        )

    @field_validator("subject", "object")
    @classmethod
    def _known(cls, value: str) -> str:
        return _object_name(value)


class TextParams(Params):
    """``text``: OCR contains (or equals) a string, case-insensitively, within an edit distance."""

    contains: str | None = Field(default=None, min_length=1)
    equals: str | None = Field(default=None, min_length=1)
    tolerance: int = Field(default=0, ge=0, le=10)

    @model_validator(mode="after")
    def _one_of(self) -> TextParams:
        if (self.contains is None) == (self.equals is None):
            raise ValueError("give exactly one of 'contains' or 'equals'")
        return self


AssertionFn = Callable[[Observation, Any], Verdict]


@dataclass(frozen=True)
class AssertionType:
    """A registered assertion: its name, parameter model and function."""

    name: str
    params: type[Params]
    fn: AssertionFn


_REGISTRY: dict[str, AssertionType] = {}


def assertion(name: str, params: type[Params]) -> Callable[[AssertionFn], AssertionFn]:
    """Register an assertion type.

    Args:
        name: the key used in suite files (``count``, ``color``, ...).
        params: pydantic model (subclass of :class:`Params`) of its parameters.
    """

    def register(fn: AssertionFn) -> AssertionFn:
        _REGISTRY[name] = AssertionType(name, params, fn)
        return fn

    return register


def get_assertion(name: str) -> AssertionType:
    """The assertion type ``name``.

    Raises:
        KeyError: with a message listing the known names.
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown assertion {name!r} (known: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name]


#: The assertion types judged by the object detector.
OBJECT_ASSERTIONS = ("count", "present", "absent", "color", "relation")


def object_labels(specs: tuple[AssertionSpec, ...]) -> list[str]:
    """The object classes an instance's assertions name (asked of an open-vocabulary
    detector in one pass)."""
    labels: list[str] = []
    for spec in specs:
        for key in ("object", "subject"):
            value = getattr(spec.params, key, None)
            if isinstance(value, str) and spec.name in OBJECT_ASSERTIONS:
                labels.append(value)
    return list(dict.fromkeys(labels))


def _boxes(dets: list[Detection]) -> list[list[int]]:
    return [list(d.box) for d in dets]


def _det_evidence(obs: Observation, dets: list[Detection], purpose: str) -> dict[str, Any]:
    """Boxes, and for scored detectors the scores and the threshold that applied."""
    evidence: dict[str, Any] = {"boxes": _boxes(dets)}
    if obs.detector_name != "classical":
        evidence["scores"] = [d.score for d in dets]
        evidence["threshold"] = obs.judges.threshold(purpose)
    return evidence


#: The comparisons of ``count`` (and of derived counts read from a scene text).
COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


@assertion("count", CountParams)
def count(obs: Observation, p: CountParams) -> Verdict:
    """Pass when the number of detected instances satisfies ``op value``."""
    found = obs.objects(p.object, "count")
    ok = COMPARE[p.op](len(found), p.value)
    label = f"count({p.object} {p.op} {p.value})"
    reason = f"expected {p.object} {p.op} {p.value}, found {len(found)}"
    return Verdict(
        ok,
        reason + ("" if ok else f" (boxes: {_boxes(found)})"),
        label,
        obs.detector_name,
        {"found": len(found), **_det_evidence(obs, found, "count")},
    )


@assertion("present", ObjectParams)
def present(obs: Observation, p: ObjectParams) -> Verdict:
    """Pass when at least one instance is detected."""
    found = obs.objects(p.object, "present")
    return Verdict(
        bool(found),
        f"expected {p.object} present, found {len(found)}",
        f"present({p.object})",
        obs.detector_name,
        _det_evidence(obs, found, "present"),
    )


@assertion("absent", ObjectParams)
def absent(obs: Observation, p: ObjectParams) -> Verdict:
    """Pass when no instance is detected."""
    found = obs.objects(p.object, "present")
    reason = f"expected {p.object} absent, found {len(found)}"
    if found:
        reason += f" (boxes: {_boxes(found)})"
    evidence = _det_evidence(obs, found, "present")
    return Verdict(not found, reason, f"absent({p.object})", obs.detector_name, evidence)


@assertion("color", ColorParams)
def color(obs: Observation, p: ColorParams) -> Verdict:
    """Pass when the object is present and every instance has the expected color."""
    found = obs.objects(p.object, "color")
    colors = [d.color for d in found]
    ok = bool(found) and all(c == p.color for c in colors)
    if not found:
        reason = f"expected {p.color} {p.object}, found no {p.object}"
    else:
        reason = f"expected {p.color} {p.object}, found {', '.join(colors)}"
    evidence = {
        "colors": colors,
        "delta_e": [d.color_delta_e for d in found],
        **_det_evidence(obs, found, "color"),
    }
    return Verdict(ok, reason, f"color({p.object} is {p.color})", obs.detector_name, evidence)


RELATION_MARGIN = 0.02  # of the image side: centroids closer than this are "level"


@assertion("relation", RelationParams)
def relation(obs: Observation, p: RelationParams) -> Verdict:
    """Pass when the subject's centroid is on the stated side of the object's centroid."""
    subj, obj = obs.objects(p.subject, "relation"), obs.objects(p.object, "relation")
    label = f"relation({p.subject} {p.relation} {p.object})"
    if not subj or not obj:
        missing = " and ".join(n for n, d in ((p.subject, subj), (p.object, obj)) if not d)
        return Verdict(
            False,
            f"expected {p.subject} {p.relation} {p.object}, {missing} not found",
            label,
            obs.detector_name,
            {},
        )
    sx = sum(d.center[0] for d in subj) / len(subj)
    sy = sum(d.center[1] for d in subj) / len(subj)
    ox = sum(d.center[0] for d in obj) / len(obj)
    oy = sum(d.center[1] for d in obj) / len(obj)
    margin = RELATION_MARGIN * max(obs.image.size)
    ok = {
        "left of": sx < ox - margin,
        "right of": sx > ox + margin,
        "above": sy < oy - margin,
        "below": sy > oy + margin,
    }[p.relation]
    reason = (
        f"expected {p.subject} {p.relation} {p.object}, found {p.subject} at "
        f"({sx:.0f}, {sy:.0f}) and {p.object} at ({ox:.0f}, {oy:.0f})"
    )
    evidence = {
        "subject_center": [sx, sy],
        "object_center": [ox, oy],
        "subject_boxes": _boxes(subj),
        "object_boxes": _boxes(obj),
    }
    return Verdict(ok, reason, label, obs.detector_name, evidence)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def substring_distance(needle: str, haystack: str) -> int:
    """Smallest edit distance between ``needle`` and any substring of ``haystack``."""
    prev = [0] * (len(haystack) + 1)
    for i, cn in enumerate(needle, 1):
        cur = [i]
        for j, ch in enumerate(haystack, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (cn != ch)))
        prev = cur
    return min(prev)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@assertion("text", TextParams)
def text(obs: Observation, p: TextParams) -> Verdict:
    """Pass when the OCR text contains (or equals) the expected string."""
    read = obs.ocr.text
    if p.contains is not None:
        want, dist = p.contains, substring_distance(_norm(p.contains), _norm(read))
        label = f"text(contains {want!r})"
    else:
        want, dist = p.equals or "", edit_distance(_norm(p.equals or ""), _norm(read))
        label = f"text(equals {want!r})"
    ok = dist <= p.tolerance
    verb = "containing" if p.contains is not None else "equal to"
    reason = f"expected text {verb} {want!r}, OCR read {read!r} (edit distance {dist})"
    evidence = {
        "ocr": read,
        "distance": dist,
        "lines": [[ln.text, list(ln.box), ln.score] for ln in obs.ocr.lines],
    }
    return Verdict(ok, reason, label, obs.ocr_name, evidence)


def evaluate(name: str, params: Params, obs: Observation) -> Verdict:
    """Run one registered assertion."""
    return get_assertion(name).fn(obs, params)
