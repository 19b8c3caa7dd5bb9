"""The suite schema: what a suite file may hold, validated into :class:`Instance` records.

A YAML suite is a mapping::

    suite: ureason/arithmetic     # optional display name (default: the file's stem)
    version: 1                    # optional integer, bumped when instances change meaning
    detector: owlv2               # optional: the object detector the verdicts require
    task: arithmetic              # default task of the instances below
    instances:
      - id: arith-001             # letters, digits, '.', '_', '-'; safe as a file name
        prompt: Draw as many apples as 3 + 4.
        refined: A picture of 7 apples.
        expect:
          - count: {object: apple, op: "==", value: 7}
        tags: [handwritten]
      - generator: arithmetic     # expands deterministically into instances
        count: 40
        seed: 1

(a bare list of entries is accepted too). A JSONL suite holds one entry per line, each an
instance or a generator spec. A bidirectional instance adds ``question`` and ``answer`` (and
optionally ``accept``: other right answers) for the ``understand`` condition, and may show the
model an image with the question: ``question_image`` (a file inside the suite's folder) or
``question_scene`` (a scene description, rendered by the reference renderer).

This module holds the records (:class:`Instance`, :class:`Case`, :class:`Suite`,
:class:`SuiteError`), the pydantic models of the file's parts, :func:`build_instance` with its
:class:`InvalidField` error, and :class:`InstanceSink`, what a reader adds instances and errors
to. Reading files is :mod:`pytest_ureason.collect.loader`'s; the importers of released formats
(:mod:`pytest_ureason.collect.formats`) build on this module and are called by the loader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pytest_ureason.judge import assertions
from pytest_ureason.judge.assertions import AssertionSpec

SAFE_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_-])?$")
POOLED_TASK = "all"  # the summary's row over every task; no instance may use it


@dataclass(frozen=True)
class Instance:
    """One benchmark item."""

    id: str
    task: str
    prompt: str
    expect: tuple[AssertionSpec, ...]
    refined: str | None = None
    tags: tuple[str, ...] = ()
    question: str | None = None
    answer: str | None = None
    line: int = 0
    accept: tuple[str, ...] = ()
    question_image: str | None = None  # absolute path, checked at load time
    question_scene: str | None = None  # a scene description, rendered for the question
    detector: str | None = None  # the object detector its verdicts require (issue 4)
    #: Why a released record cannot be scored (e.g. its answer is ``N/A``): its items skip
    #: with this reason instead of generating (set by the importers of :mod:`.formats`).
    unscorable: str | None = None
    #: The prompt the ``direct`` condition draws when it differs from ``prompt`` (UReason's
    #: ``direct_<task>.jsonl`` prompt of the same id).
    direct_prompt: str | None = None
    #: The only conditions this instance runs under (empty: every condition of the run).
    conditions: tuple[str, ...] = ()
    #: Conditions it runs under only when named by ``--condition`` / the ini.
    conditions_if_asked: tuple[str, ...] = ()
    #: A released file whose instances carry this one's records (a UReason ``direct_`` file's
    #: ``<task>.jsonl``): when that file is collected too, this instance yields no item.
    paired_in: str | None = None


@dataclass(frozen=True, eq=False)
class Case:
    """One test item: an instance under a condition with a seed.

    Equality and hashing use :attr:`key` only (instances may hold unhashable parameters).
    """

    instance: Instance
    condition: str
    seed: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(task, id, condition, seed): unique within a run."""
        return (self.instance.task, self.instance.id, self.condition, self.seed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Case) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def name(self) -> str:
        """The item name, ``task/id[condition-sSEED]``."""
        return f"{self.instance.task}/{self.instance.id}[{self.condition}-s{self.seed}]"


@dataclass(frozen=True)
class SuiteError:
    """A problem in a suite file, located by line."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Suite:
    """A loaded suite file: its valid instances and its errors."""

    path: Path
    name: str
    version: int | None = None
    instances: list[Instance] = field(default_factory=list)
    errors: list[SuiteError] = field(default_factory=list)


def _safe_id(kind: str, *, optional: bool = False) -> Any:
    if optional:
        return Field(default=None, pattern=SAFE_ID.pattern, description=f"{kind}: file-name safe")
    return Field(pattern=SAFE_ID.pattern, description=f"{kind}: safe as a file name")


class _InstanceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = _safe_id("id")
    task: str = _safe_id("task")
    prompt: str = Field(min_length=1, max_length=20000)
    expect: list[dict[str, Any]] = Field(min_length=1)
    refined: str | None = Field(default=None, min_length=1)
    tags: list[str] = Field(default_factory=list)
    question: str | None = Field(default=None, min_length=1, max_length=20000)
    answer: str | None = Field(default=None, min_length=1, max_length=2000)
    accept: list[str] = Field(default_factory=list)
    question_image: str | None = Field(default=None, min_length=1, max_length=500)
    question_scene: str | None = Field(default=None, min_length=1, max_length=2000)
    detector: Literal["classical", "owlv2", "grounding-dino"] | None = None

    @model_validator(mode="after")
    def _question_with_answer(self) -> _InstanceModel:
        if (self.question_image or self.question_scene) and self.question is None:
            raise ValueError("'question_image' / 'question_scene' need a 'question'")
        if self.question_image and self.question_scene:
            raise ValueError("give 'question_image' or 'question_scene', not both")
        if (self.question is None) != (self.answer is None):
            missing = "answer" if self.answer is None else "question"
            raise ValueError(
                f"a bidirectional instance needs both 'question' and 'answer' ({missing} missing)"
            )
        if self.accept and self.answer is None:
            raise ValueError("'accept' lists alternatives to 'answer', which is missing")
        return self

    @field_validator("task")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == POOLED_TASK:
            raise ValueError(f"{POOLED_TASK!r} is reserved for the pooled row of the summary")
        return value


class GeneratorModel(BaseModel):
    """A generator spec entry: ``generator``, ``count``, ``seed`` and an optional ``task``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    generator: str
    count: int = Field(ge=0, le=1_000_000)
    seed: int
    task: str | None = _safe_id("task", optional=True)


class HeaderModel(BaseModel):
    """A YAML suite file's mapping: its header keys and the ``instances`` list."""

    model_config = ConfigDict(extra="forbid", strict=True)
    suite: str | None = None
    version: int | None = None
    task: str | None = _safe_id("task", optional=True)
    detector: Literal["classical", "owlv2", "grounding-dino"] | None = None
    instances: list[Any]


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a field path, e.g. ``expect[0].count``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class InvalidField(Exception):
    """An instance record that does not validate, at field ``loc``."""

    def __init__(self, loc: tuple[int | str, ...], message: str):
        super().__init__(message)
        self.loc, self.message = loc, message


def first_error(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> InvalidField:
    """The first problem pydantic found, as an :class:`InvalidField` with a readable message
    (``prefix`` is prepended to its location)."""
    err = exc.errors(include_url=False)[0]
    loc = prefix + tuple(err["loc"])
    msg = err["msg"]
    if err["type"] == "string_pattern_mismatch":
        msg = "must be letters, digits, '.', '_' or '-' (safe as a file name)"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif "input" in err and err["type"] not in ("missing",):
        shown = repr(err["input"])
        msg += f", got {shown[:60]}"
    return InvalidField(loc, msg[0].lower() + msg[1:])


def build_instance(raw: dict[str, Any], default_task: str | None, line: int) -> Instance:
    """Validate one instance record (``line`` of its file) into an :class:`Instance`.

    Raises:
        InvalidField: the record does not validate (with the field's location).
    """
    data = dict(raw)
    if "task" not in data and default_task is not None:
        data["task"] = default_task
    try:
        model = _InstanceModel.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc) from None
    specs = []
    for i, entry in enumerate(model.expect):
        if len(entry) != 1:
            raise InvalidField(
                ("expect", i),
                "each assertion is a mapping with exactly one key "
                f"(an assertion type), got {sorted(entry)}",
            )
        name, params = next(iter(entry.items()))
        try:
            kind = assertions.get_assertion(str(name))
        except KeyError as exc:
            raise InvalidField(("expect", i), str(exc.args[0])) from None
        try:
            specs.append(AssertionSpec(kind.name, kind.params.model_validate(params)))
        except ValidationError as exc:
            raise first_error(exc, ("expect", i, kind.name)) from None
    return Instance(
        model.id,
        model.task,
        model.prompt,
        tuple(specs),
        model.refined,
        tuple(model.tags),
        model.question,
        model.answer,
        line,
        tuple(model.accept),
        model.question_image,
        model.question_scene,
        model.detector,
    )


class InstanceSink(Protocol):
    """Where a reader of suite records puts what it finds: the loader implements it, the format
    importers (:mod:`pytest_ureason.collect.formats`) write to it."""

    def error(self, line: int, message: str) -> None:
        """Record a problem at ``line`` of the file being read."""
        ...

    def add(self, instance: Instance) -> None:
        """Add a validated instance (the sink may still refuse it with an error)."""
        ...
