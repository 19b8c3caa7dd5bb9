"""Reading suite files: YAML and JSONL, with ``file:line`` errors, and suite discovery.

A JSONL file in a released benchmark's format (GenEval's ``evaluation_metadata.jsonl``,
UReason's and UniSandbox's JSON lines) is recognised by its records and read by its importer
(:mod:`pytest_ureason.collect.formats`); every other entry is validated against
:mod:`pytest_ureason.collect.schema`. Loading never raises on bad content: every problem
becomes a :class:`~pytest_ureason.collect.schema.SuiteError` naming the file, line and field,
and every valid instance still loads. :func:`claim_ids` is the one check that ``task/id`` is
unique over all suites of a run (collection and ``ureason suites`` both use it).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pytest_ureason.collect.formats import choose_format, row_loader
from pytest_ureason.collect.generators import GeneratorError, expand
from pytest_ureason.collect.schema import (
    GeneratorModel,
    HeaderModel,
    Instance,
    InvalidField,
    Suite,
    SuiteError,
    build_instance,
    field_path,
    first_error,
)

SUITE_SUFFIXES = (".yaml", ".yml", ".jsonl")


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
    """A suite being loaded (an :class:`~pytest_ureason.collect.schema.InstanceSink`): the
    entries of the file and the format importers add instances or errors to it."""

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
            spec = GeneratorModel.model_validate(raw)
            produced = expand(spec.generator, spec.count, spec.seed)
        except ValidationError as exc:
            bad = first_error(exc)
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
        header = HeaderModel(instances=list(doc))
        entries: Any = doc
    elif isinstance(doc, dict):
        try:
            header = HeaderModel.model_validate(dict(doc))
        except ValidationError as exc:
            bad = first_error(exc)
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
