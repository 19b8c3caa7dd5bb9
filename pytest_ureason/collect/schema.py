"""Suite files: the instance schema, and YAML / JSONL loading with ``file:line`` errors.

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
instance or a generator spec; a JSONL file in a released benchmark's format (GenEval's
``evaluation_metadata.jsonl``, UReason's and UniSandbox's JSON lines) is recognised by its
records and read by its importer (:mod:`pytest_ureason.collect.formats`). A bidirectional instance
adds ``question`` and ``answer`` (and optionally ``accept``: other right answers) for the
``understand`` condition, and may show the model an image with the question:
``question_image`` (a file inside the suite's folder) or ``question_scene`` (a scene
description, rendered by the reference renderer). Loading never raises on bad content: every
problem becomes a :class:`SuiteError` naming the file, line and field, and every valid
instance still loads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pytest_ureason.collect.generators import GeneratorError, expand
from pytest_ureason.judge import assertions

SAFE_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_-])?$")
SUITE_SUFFIXES = (".yaml", ".yml", ".jsonl")
POOLED_TASK = "all"  # the summary's row over every task; no instance may use it


@dataclass(frozen=True)
class AssertionSpec:
    """One validated ``expect:`` entry."""

    name: str
    params: assertions.Params
    #: Derived by :mod:`pytest_ureason.judge.derive` from an expectation sentence, not written.
    derived: bool = False

    def describe(self) -> str:
        """Short text form, e.g. ``count(object=apple, op===, value=3)``."""
        args = ", ".join(f"{k}={v}" for k, v in self.params.model_dump(exclude_none=True).items())
        return f"{self.name}({args})" + (" [derived]" if self.derived else "")

    def to_dict(self) -> dict[str, Any]:
        """The suite-file form of this assertion."""
        return {self.name: self.params.model_dump(exclude_none=True)}


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


class _GeneratorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    generator: str
    count: int = Field(ge=0, le=1_000_000)
    seed: int
    task: str | None = _safe_id("task", optional=True)


class _HeaderModel(BaseModel):
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


def _first_error(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> InvalidField:
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
        raise _first_error(exc) from None
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
            raise _first_error(exc, ("expect", i, kind.name)) from None
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


def _line_of(node: Any, loc: tuple[int | str, ...], default: int) -> int:
    """1-based line of the deepest YAML node on ``loc`` that carries a position."""
    line = default
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int) and lc is not None:
                line = lc.item(part)[0] + 1
            elif lc is not None:
                line = lc.key(part)[0] + 1
            node = node[part]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


class SuiteLoader:
    """A suite being loaded: the format importers add instances or errors to it."""

    def __init__(self, path: Path):
        self.path = path
        self.suite = Suite(path, path.stem)
        self.seen: dict[str, int] = {}

    def error(self, line: int, message: str) -> None:
        self.suite.errors.append(SuiteError(self.path, line, message))

    def add(self, instance: Instance) -> None:
        if instance.question_image is not None:
            resolved = self.image_path(instance)
            if resolved is None:
                return
            instance = replace(instance, question_image=str(resolved))
        key = f"{instance.task}/{instance.id}"
        if key in self.seen:
            self.error(
                instance.line,
                f"instance {instance.id!r}: duplicate id (first defined at line {self.seen[key]})",
            )
            return
        self.seen[key] = instance.line
        self.suite.instances.append(instance)

    def image_path(self, instance: Instance) -> Path | None:
        """The question image of an instance: a file inside the suite file's folder."""
        rel = Path(str(instance.question_image))
        folder = self.path.parent.resolve()
        where = f"instance {instance.id!r}: field question_image"
        try:
            resolved = (folder / rel).resolve()
            resolved.relative_to(folder)
        except (ValueError, OSError):
            self.error(instance.line, f"{where}: must be a path inside {folder}, got {str(rel)!r}")
            return None
        if not resolved.is_file():
            self.error(instance.line, f"{where}: no such file {str(rel)!r} next to the suite")
            return None
        return resolved

    def entry(self, raw: Any, line: int, default_task: str | None, node: Any = None) -> None:
        if not isinstance(raw, dict):
            self.error(
                line,
                f"entry must be a mapping (an instance or a generator spec), "
                f"got {type(raw).__name__}",
            )
            return
        if "generator" in raw:
            self.generated(raw, line, default_task, node)
            return
        label = f"instance {raw.get('id')!r}" if isinstance(raw.get("id"), str) else "instance"
        try:
            self.add(build_instance(raw, default_task, line))
        except InvalidField as exc:
            where = _line_of(node, exc.loc, line) if node is not None else line
            self.error(where, f"{label}: field {field_path(exc.loc)}: {exc.message}")

    def generated(
        self, raw: dict[str, Any], line: int, default_task: str | None, node: Any
    ) -> None:
        try:
            spec = _GeneratorModel.model_validate(raw)
            produced = expand(spec.generator, spec.count, spec.seed)
        except ValidationError as exc:
            bad = _first_error(exc)
            where = _line_of(node, bad.loc, line) if node is not None else line
            self.error(where, f"generator spec: field {field_path(bad.loc)}: {bad.message}")
            return
        except GeneratorError as exc:
            self.error(line, f"generator spec: {exc}")
            return
        except Exception as exc:  # a team's generator may raise anything
            self.error(
                line,
                f"generator {raw.get('generator')!r} failed: {type(exc).__name__}: {exc}"[:500],
            )
            return
        task = spec.task or default_task
        if not isinstance(produced, list) or not all(isinstance(r, dict) for r in produced):
            self.error(line, f"generator {spec.generator!r} must return a list of dicts")
            return
        for raw_instance in produced:
            if task is not None and "task" not in raw_instance:
                raw_instance = {**raw_instance, "task": task}
            try:
                self.add(build_instance(raw_instance, None, line))
            except InvalidField as exc:
                self.error(
                    line,
                    f"generator {spec.generator!r} produced an invalid instance "
                    f"{raw_instance.get('id')!r}: field {field_path(exc.loc)}: {exc.message}",
                )


def _load_yaml(loader: SuiteLoader, text: str) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        doc = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        loader.error(line, f"invalid YAML: {' '.join(str(exc.problem or exc.context).split())}")
        return
    except YAMLError as exc:
        loader.error(1, f"invalid YAML: {' '.join(str(exc).split())}")
        return
    except RecursionError:
        loader.error(1, "invalid YAML: nested too deeply")
        return
    if isinstance(doc, list):
        header = _HeaderModel(instances=list(doc))
        entries: Any = doc
    elif isinstance(doc, dict):
        try:
            header = _HeaderModel.model_validate(dict(doc))
        except ValidationError as exc:
            bad = _first_error(exc)
            loader.error(_line_of(doc, bad.loc, 1), f"field {field_path(bad.loc)}: {bad.message}")
            return
        entries = doc["instances"]
    else:
        loader.error(1, "a suite file must be a mapping with 'instances:' or a list of entries")
        return
    if header.suite:
        loader.suite.name = header.suite
    loader.suite.version = header.version
    for i, raw in enumerate(entries):
        line = entries.lc.item(i)[0] + 1 if hasattr(entries, "lc") else 1
        loader.entry(raw, line, header.task, raw)
    if header.detector is not None:  # a suite-wide detector requirement
        loader.suite.instances = [
            replace(i, detector=i.detector or header.detector) for i in loader.suite.instances
        ]


def _load_jsonl(loader: SuiteLoader, text: str, fmt: str = "auto") -> None:
    from pytest_ureason.collect.formats import choose_format, row_loader

    records: list[tuple[int, Any]] = []
    for number, row in enumerate(text.splitlines(), start=1):
        if not row.strip():
            continue
        bad = next((i for i, c in enumerate(row) if "\udc80" <= c <= "\udcff"), None)
        if bad is not None:  # a byte that is not UTF-8 (decoded with surrogateescape)
            byte = ord(row[bad]) - 0xDC00
            loader.error(number, f"not UTF-8 text: byte 0x{byte:02x} at column {bad + 1}")
            continue
        try:
            records.append((number, json.loads(row)))
        except json.JSONDecodeError as exc:
            loader.error(number, f"invalid JSON: {exc.msg} at column {exc.colno}")
        except RecursionError:
            loader.error(number, "invalid JSON: nested too deeply")
    if fmt == "auto":  # the records decide the format of the whole file
        fmt = choose_format([raw for _, raw in records])
    load_row = row_loader(fmt, loader.path)
    for number, raw in records:
        if load_row is not None:
            load_row(loader, raw, number)
        else:
            loader.entry(raw, number, None)


def load_suite(path: str | Path, fmt: str = "auto") -> Suite:
    """Load a YAML or JSONL suite file.

    Args:
        path: the file.
        fmt: the JSONL format (:data:`pytest_ureason.collect.formats.FORMATS`); ``auto`` recognises
            it from the records (the format most records show).

    Returns:
        The suite, with every valid instance and one :class:`SuiteError` per problem.
    """
    path = Path(path)
    loader = SuiteLoader(path)
    try:
        data = path.read_bytes()
        # JSONL: a line that is not UTF-8 becomes its own error; the other lines still load
        errors = "surrogateescape" if path.suffix == ".jsonl" else "strict"
        text = data.decode("utf-8-sig", errors=errors)
    except (OSError, UnicodeDecodeError) as exc:
        loader.error(1, f"cannot read suite file: {exc}")
        return loader.suite
    if path.suffix == ".jsonl":
        _load_jsonl(loader, text, fmt)
    else:
        _load_yaml(loader, text)
    return loader.suite


def suite_files(paths: list[str]) -> list[Path]:
    """The suite files named by command-line paths: a folder gives every suite file below it
    (sorted), a file gives itself."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in SUITE_SUFFIXES))
        else:
            files.append(path)
    return files


def claim_ids(suite: Suite, seen: dict[str, str]) -> tuple[list[Instance], list[SuiteError]]:
    """The one cross-file duplicate-id check: ``task/id`` is unique over all suites of a run.

    Args:
        suite: a loaded suite.
        seen: ``task/id`` -> ``file:line`` of its first definition, shared across suites
            (updated here).

    Returns:
        The suite's instances defined first here, and an error for each one defined earlier.
    """
    kept: list[Instance] = []
    errors: list[SuiteError] = []
    for instance in suite.instances:
        key = f"{instance.task}/{instance.id}"
        here = f"{suite.path}:{instance.line}"
        first = seen.setdefault(key, here)
        if first != here:
            errors.append(
                SuiteError(
                    suite.path,
                    instance.line,
                    f"instance {instance.id!r}: task/id {key!r} is already defined at {first}",
                )
            )
            continue
        kept.append(instance)
    return kept, errors
