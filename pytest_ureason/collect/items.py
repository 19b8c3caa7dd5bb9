"""Collection: suite files become real ``pytest.Function`` items.

Which files are suites (the naming rule): a ``.yaml``, ``.yml`` or ``.jsonl`` file that lies
below a folder named ``suites`` inside the rootdir, or whose name matches the ini list
``ureason_suite_globs`` (default ``*.suite.yaml *.suite.yml *.suite.jsonl``), or that is named
explicitly on the command line, or a ``.jsonl`` file (the released data format; YAML there is
more often configuration, such as ``mkdocs.yml``) that lies in (or below) a **data folder**
named on the command line: a folder given as an argument (not one that comes from ``testpaths``
or the current folder when no argument is given), where neither that folder nor any folder
between it and the file holds a ``.py`` file. ``pytest data/`` therefore collects a folder of
released files as it is, while ``pytest tests/`` (a folder of test modules) does not turn the
example JSONL kept beside the tests into suites.

Each instance becomes one item per condition and seed, named ``task/id[condition-sSEED]``, in
file order, then condition order, then seed order. A broken file or instance does not stop the
run: each problem becomes one failing item named ``suite-error[line-N]`` whose message names the
file, line and field; every valid instance still runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pytest_ureason import record
from pytest_ureason.collect.loader import SUITE_SUFFIXES, claim_ids, load_suite
from pytest_ureason.collect.schema import Case, Instance, Suite, SuiteError
from pytest_ureason.settings import Settings

CASE_KEY = pytest.StashKey[Case]()
SETTINGS_KEY = pytest.StashKey[Settings]()
SEEN_KEY = pytest.StashKey[dict[str, str]]()


class VerdictFailure(AssertionError):
    """An item whose image failed one or more assertions (or whose model call failed)."""


def not_judged(props: list[tuple[str, object]], reason: str) -> NoReturn:
    """Skip an item whose judge (detector, OCR, CLIP, judge model) is not installed or has
    no weights: never a verdict. The reason (one line, saying what to install) is recorded
    as ``ureason_not_judged`` so the summary counts these items apart from other skips."""
    props.append((record.REASON, reason))
    props.append((record.NOT_JUDGED, reason))
    pytest.skip(reason)


class SuiteErrorFailure(Exception):
    """A suite file problem, reported as a failing item."""


def is_suite_file(path: Path, config: pytest.Config) -> bool:
    """Whether ``path`` is collected as a suite (see the module docstring)."""
    if path.suffix not in SUITE_SUFFIXES:
        return False
    try:
        inside = path.resolve().relative_to(config.rootpath.resolve()).parts[:-1]
    except ValueError:
        inside = ()
    if "suites" in inside:
        return True
    if any(path.match(glob) for glob in config.getini("ureason_suite_globs")):
        return True
    explicit = {Path(config.invocation_params.dir, a.split("::")[0]).resolve() for a in config.args}
    resolved = path.resolve()
    if resolved in explicit:
        return True
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False  # folders come from testpaths or the current folder, not the user
    if path.suffix != ".jsonl":
        return False  # a data folder's YAML is configuration, not a suite
    return _in_data_folder(resolved, explicit, config)


_DATA_DIRS_KEY = pytest.StashKey[dict[Path, bool]]()


def _holds_python(folder: Path, config: pytest.Config) -> bool:
    """Whether ``folder`` holds a ``.py`` file (cached for the session)."""
    cache = config.stash.setdefault(_DATA_DIRS_KEY, {})
    if folder not in cache:
        try:
            cache[folder] = any(p.suffix == ".py" for p in folder.iterdir() if p.is_file())
        except OSError:
            cache[folder] = True  # unreadable: not a data folder
    return cache[folder]


def _in_data_folder(path: Path, explicit: set[Path], config: pytest.Config) -> bool:
    """Whether ``path`` lies below a folder named on the command line with no Python module
    in it or between it and the file (see the module docstring)."""
    folder = path.parent
    while True:
        if _holds_python(folder, config):
            return False
        if folder in explicit:
            return True
        if folder.parent == folder:
            return False
        folder = folder.parent


def _asked_conditions(config: pytest.Config) -> set[str]:
    """The conditions named by ``--condition`` or the ini (not the defaults)."""
    value = config.getoption("ureason_conditions", None) or config.getini("ureason_conditions")
    return {c.strip() for raw in value or [] for c in str(raw).split(",") if c.strip()}


def _pair_collected(instance: Instance, config: pytest.Config) -> bool:
    """Whether the file that carries ``instance``'s record (:attr:`Instance.paired_in`) is
    collected in this run too (then this instance yields no item of its own)."""
    if instance.paired_in is None:
        return False
    other = Path(instance.paired_in)
    if not other.is_file() or not is_suite_file(other, config):
        return False
    args = {Path(config.invocation_params.dir, a.split("::")[0]).resolve() for a in config.args}
    return any(a == other or a in other.parents for a in args)


def _instance_test(request: pytest.FixtureRequest, ureason_runner: Any) -> None:
    """Generate (batched, through the store) and judge one suite item."""
    ureason_runner.run_item(request.node)


class InstanceItem(pytest.Function):
    """One instance under one condition and seed."""

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point reports at the instance's line in the suite file."""
        case = self.stash[CASE_KEY]
        return self.path, max(case.instance.line - 1, 0), self.name

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """Verdict reasons, without a traceback into the plugin."""
        if isinstance(excinfo.value, VerdictFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class SuiteErrorItem(pytest.Item):
    """A failing item standing for one problem in a suite file."""

    def __init__(self, *, error: SuiteError, **kwargs: Any):
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        """Fail with the problem."""
        raise SuiteErrorFailure(str(self.error))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """Just the sentence."""
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the offending line."""
        return self.path, max(self.error.line - 1, 0), f"suite error at line {self.error.line}"


class SuiteFile(pytest.File):
    """A YAML or JSONL suite file."""

    def collect(self) -> Iterator[pytest.Item]:
        """One item per instance x condition x seed, and one per problem."""
        settings = self.config.stash[SETTINGS_KEY]
        try:
            suite = load_suite(self.path, settings.suite_format)
        except Exception as exc:  # a loader bug must not stop the other suites
            suite = Suite(self.path, self.path.stem)
            suite.errors.append(
                SuiteError(self.path, 1, f"cannot load suite: {type(exc).__name__}: {exc}"[:500])
            )
        errors = list(suite.errors)
        seen = self.config.stash.setdefault(SEEN_KEY, {})
        paired = [i for i in suite.instances if not _pair_collected(i, self.config)]
        # a record paired with a collected file runs in that file's instance
        instances, repeated = claim_ids(replace(suite, instances=paired), seen)
        errors += repeated
        names: set[str] = set()
        for error in errors:
            name, k = f"suite-error[line-{error.line}]", 1
            while name in names:  # several problems on one line keep distinct node ids
                k += 1
                name = f"suite-error[line-{error.line}-{k}]"
            names.add(name)
            yield SuiteErrorItem.from_parent(self, name=name, error=error)
        skip = None
        if settings.model is None:
            skip = pytest.mark.skip(reason="no model: pass --model NAME (e.g. --model reference)")
        shard = "{}/{}".format(*settings.shard) if settings.shard else None
        asked = _asked_conditions(self.config)
        for instance in instances:
            unscorable = None
            if instance.unscorable is not None:  # loaded, reported, never generated or passed
                unscorable = pytest.mark.skip(reason=instance.unscorable)
            for condition in settings.conditions:
                if condition == "understand" and instance.question is None:
                    continue  # only bidirectional instances are answered in text
                if instance.conditions and condition not in instance.conditions:
                    continue  # e.g. a UReason direct_<task> record runs `direct` only
                if condition in instance.conditions_if_asked and condition not in asked:
                    continue  # e.g. a UReason <task> record alone: `direct` only if asked
                for seed in range(settings.seeds):
                    case = Case(instance, condition, seed)
                    item = InstanceItem.from_parent(self, name=case.name, callobj=_instance_test)
                    item.stash[CASE_KEY] = case
                    item.extra_keyword_matches.update((condition, instance.task))
                    item.user_properties.extend(
                        record.identity(
                            settings.model or "",
                            condition,
                            instance.task,
                            instance.id,
                            seed,
                            # For `ureason report` / `--gate`: which suite version, which shard.
                            f"{suite.name}@{suite.version or 0}",
                            shard,
                        )
                    )
                    if skip is not None:
                        item.add_marker(skip)
                    elif unscorable is not None:
                        item.add_marker(unscorable)
                        item.user_properties.append((record.UNSCORABLE, instance.unscorable))
                    yield item
