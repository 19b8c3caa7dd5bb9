"""Collection: suite files become real ``pytest.Function`` items.

Which files are suites (the naming rule): a ``.yaml``, ``.yml`` or ``.jsonl`` file that lies
below a folder named ``suites`` inside the rootdir, or whose name matches the ini list
``ureason_suite_globs`` (default ``*.suite.yaml *.suite.yml *.suite.jsonl``), or that is named
explicitly on the command line.

Each instance becomes one item per condition and seed, named ``task/id[condition-sSEED]``, in
file order, then condition order, then seed order. A broken file or instance does not stop the
run: each problem becomes one failing item named ``suite-error[line-N]`` whose message names the
file, line and field; every valid instance still runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_ureason import record
from pytest_ureason.settings import Settings
from pytest_ureason.suite import SUITE_SUFFIXES, Case, Suite, SuiteError, claim_ids, load_suite

CASE_KEY = pytest.StashKey[Case]()
SETTINGS_KEY = pytest.StashKey[Settings]()
SEEN_KEY = pytest.StashKey[dict[str, str]]()


class VerdictFailure(AssertionError):
    """An item whose image failed one or more assertions (or whose model call failed)."""


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
    return path.resolve() in explicit


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
        instances, repeated = claim_ids(suite, seen)
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
        for instance in instances:
            for condition in settings.conditions:
                if condition == "understand" and instance.question is None:
                    continue  # only bidirectional instances are answered in text
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
                    yield item
