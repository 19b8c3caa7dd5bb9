"""pytest hooks of pytest-ureason: options, collection, grouping, fixtures, summary.

The hooks stay thin; the work lives in the modules they call. Importing this module imports no
torch, transformers, detector or OCR engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_ureason import options
from pytest_ureason import settings as settings_mod
from pytest_ureason.collect.items import CASE_KEY, SETTINGS_KEY, SuiteFile, is_suite_file
from pytest_ureason.judge.detect import resolve_detector
from pytest_ureason.judge.judges import JudgeConfig, Judges, shared
from pytest_ureason.models.base import ModelLoadError, UnifiedModel, get_factory
from pytest_ureason.models.batching import assign_groups
from pytest_ureason.record import shard_of
from pytest_ureason.run.launcher import shard_label
from pytest_ureason.run.runner import GROUP_KEY, Runner, needs_run_detector
from pytest_ureason.run.store import check_store

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.collect.schema import Case
    from pytest_ureason.results.collector import ResultsCollector  # noqa: F401

GROUPS_KEY = pytest.StashKey[dict[str, list["Case"]]]()
COLLECTOR_KEY = pytest.StashKey["ResultsCollector | None"]()
RUNNER_KEY = pytest.StashKey[Runner]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register options and ini keys."""
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Pin an xdist worker to its GPU first; validate options; register the results collector
    and xdist hooks when a model is set."""
    from pytest_ureason.run.gpus import pin_worker

    pin_worker(config)
    settings = _shard_paths(config, options.from_config(config))
    config.stash[SETTINGS_KEY] = settings
    config.stash[COLLECTOR_KEY] = None
    config.addinivalue_line("markers", "ureason: a pytest-ureason suite item")
    if settings.model is None:
        if config.getoption("ureason_gate") or config.getoption("ureason_regen_baseline"):
            raise pytest.UsageError("--gate needs --model: a gate compares a model's run")
        return
    try:
        factory = get_factory(settings.model)
        # An adapter may check its options before any item runs (e.g. http: api_key_env).
        check = getattr(factory, "check_options", None)
        if callable(check):
            check(settings.model_args)
    except ModelLoadError as exc:
        raise pytest.UsageError(f"--model: {exc}") from None
    for option, name in (
        ("--judge", settings.judges.judge),
        ("--text-judge", settings.judges.text_judge),
    ):
        if name is not None:
            try:
                get_factory(name)
            except ModelLoadError as exc:
                raise pytest.UsageError(f"{option}: {exc}") from None
    if hasattr(config, "workerinput"):
        return
    if _distributed(config):  # the controller sees no items: refuse on the options alone
        check_detector_fallback(settings, None)
    if settings.calibrate:
        from dataclasses import replace

        from pytest_ureason.results.calibration import gate_run

        judges = settings.judges
        if _distributed(config) and judges.device is None:
            # The workers own the GPUs: the controller calibrates on the CPU, never touching CUDA
            # (the result is cached in the store, so this is paid once per judge version).
            judges = replace(judges, device="cpu")
        gate_run(judges, settings.accuracy_floor, settings.store, settings.calibration_goldens)
    check_store(settings.store)
    from pytest_ureason.results.collector import ResultsCollector, check_json_path

    if settings.json_path is not None:
        check_json_path(settings.json_path)

    collector = ResultsCollector(settings, config)
    config.stash[COLLECTOR_KEY] = collector
    config.pluginmanager.register(collector, "ureason-results")
    from pytest_ureason.results.gate_plugin import options_of  # --gate / --ureason-regen-baseline

    gate = options_of(config)
    if gate is not None:
        config.pluginmanager.register(gate, "ureason-gate")
    if config.pluginmanager.hasplugin("xdist"):
        from pytest_ureason.run.xdist import XdistHooks

        config.pluginmanager.register(XdistHooks(collector), "ureason-xdist")
        from pytest_ureason.run.gpus import GpuHooks, controller_pool

        pool = controller_pool(config, settings.gpus)
        if len(pool):
            config.pluginmanager.register(GpuHooks(pool), "ureason-gpus")


def _shard_paths(config: pytest.Config, settings: settings_mod.Settings) -> settings_mod.Settings:
    """``{shard}`` in ``--junitxml`` and ``--ureason-json`` becomes this process's shard
    (``2-of-4``, ``all`` unsharded), so every array task writes its own files (runs before
    pytest's junitxml plugin reads the path)."""
    label = shard_label(settings.shard)
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath and "{shard}" in xmlpath:
        config.option.xmlpath = xmlpath.replace("{shard}", label)
    if settings.json_path is not None and "{shard}" in str(settings.json_path):
        from dataclasses import replace

        return replace(settings, json_path=Path(str(settings.json_path).replace("{shard}", label)))
    return settings


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` with a model and a GPU pool: one worker per GPU."""
    if options.option_value(config, "ureason_model") is None:
        return None
    from pytest_ureason.run.gpus import controller_pool

    return len(controller_pool(config, options.option_value(config, "ureason_gpus"))) or None


def _distributed(config: pytest.Config) -> bool:
    """Whether xdist will run the items in worker processes."""
    if not config.pluginmanager.hasplugin("xdist"):
        return False
    return bool(config.getoption("numprocesses", None) or config.getoption("tx", None))


def check_detector_fallback(settings: settings_mod.Settings, needing: int | None) -> None:
    """Refuse a run whose object assertions would be judged by the classical fallback on
    images it cannot read.

    The rule: ``--detector auto`` (the default) resolved to ``classical`` (no OWLv2 or
    Grounding DINO weights found), the model's adapter does not declare
    ``renders_reference_scenes`` (the reference model and adapters built on it do), and
    ``needing`` > 0 collected items have a ``count``/``present``/``absent``/``color``/
    ``relation`` assertion on a generated image (:func:`pytest_ureason.run.runner.
    needs_run_detector`); ``needing`` None means unknown (the xdist controller, which sees no
    items) and refuses too. A ``--judge`` does not lift it: it answers ``vqa`` and ``judge``
    assertions only. ``--detector classical`` named explicitly is obeyed.

    Raises:
        pytest.UsageError: refused; the message says what to pass instead.
    """
    judges = settings.judges
    if settings.model is None or judges.detector != "auto" or needing == 0:
        return
    if getattr(get_factory(settings.model), "renders_reference_scenes", False):
        return
    name, why = resolve_detector(judges.detector, judges.detector_path)
    if name != "classical":
        return
    which = (
        f"{needing} collected items have"
        if needing is not None
        else "under xdist the controller cannot tell whether any item has"
    )
    raise pytest.UsageError(
        f"--model {settings.model}: --detector {why}, and the classical fallback reads only "
        f"the reference renderer's badge-marked icons, so its verdicts on this model's images "
        f"would mean nothing; {which} count/present/absent/color/relation assertions. Pass "
        "--detector-path DIR (OWLv2 or Grounding DINO weights), or --detector owlv2|"
        "grounding-dino with its weights in the Hugging Face cache, or --detector classical "
        "to use the classical detector anyway (--judge answers only vqa and judge assertions)."
    )


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """One header line with the model, conditions and store."""
    s = config.stash.get(SETTINGS_KEY, None)
    if s is None or s.model is None:
        return None
    shard = f", shard {s.shard[0]}/{s.shard[1]}" if s.shard else ""
    if s.shard_source:
        shard += f" (--shard auto: {s.shard_source})"
    return [
        f"ureason: model {s.model}, conditions {', '.join(s.conditions)}, seeds {s.seeds}, "
        f"detector {s.detector}, ocr {s.ocr}, store {s.store}{shard}",
        judges_line(s.judges),
    ]


def judges_line(judges: JudgeConfig) -> str:
    """Which judges the run uses and why (``auto`` names what it picked)."""
    name, why = resolve_detector(judges.detector, judges.detector_path)
    clip = f"{judges.clip_model} ({judges.clip_weights})" if judges.clip_weights else "off"
    line = (
        f"ureason judges: detector {name} ({why}), ocr {judges.ocr}, clip {clip}, "
        f"vqa judge {judges.judge or 'none'}, yes/no judge "
        f"{judges.judge or 'the model under test (stand-in)'}, text judge "
        f"{judges.text_judge or 'derived assertions'}"
    )
    if judges.judge_protocols or judges.text_judge_protocols:
        from pytest_ureason.judge.paper_protocols import load

        made = [load(s, "image") for s in judges.judge_protocols]
        made += [load(s, "reasoning") for s in judges.text_judge_protocols]
        line += ", beside our protocol: " + "; ".join(
            f"{p.kind} {p.label} ({', '.join(p.templates())})" for p in made
        )
    return line


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Say which judges produced the verdicts (issue 4)."""
    s = config.stash.get(SETTINGS_KEY, None)
    if s is not None and s.model is not None and not hasattr(config, "workerinput"):
        terminalreporter.write_line(judges_line(s.judges))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Suite files (see :func:`pytest_ureason.collect.items.is_suite_file`)."""
    if is_suite_file(file_path, parent.config):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply ``--task`` and ``--shard``, then assign generation groups."""
    s = config.stash[SETTINGS_KEY]
    if s.tasks:
        present = {c.instance.task for item in items if (c := item.stash.get(CASE_KEY, None))}
        unknown = [t for t in s.tasks if t not in present]
        if unknown and present:
            raise pytest.UsageError(
                f"--task {', '.join(unknown)}: no such task in the collected "
                f"suites (tasks: {', '.join(sorted(present))})"
            )
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        case = item.stash.get(CASE_KEY, None)
        if case is None:
            ok = s.shard is None or s.shard[0] == 1  # plain tests run in the first shard only
        else:
            ok = (not s.tasks or case.instance.task in s.tasks) and (
                s.shard is None
                or shard_of(case.instance.task, case.instance.id, s.shard[1]) == s.shard[0]
            )
        (keep if ok else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    if not hasattr(config, "workerinput") and not _distributed(config):
        cases = [c for item in items if (c := item.stash.get(CASE_KEY, None)) is not None]
        check_detector_fallback(s, sum(needs_run_detector(c) for c in cases))
    groups = assign_groups([item.nodeid for item in items], s.batch_size)
    by_group: dict[str, list[Case]] = {}
    for item in items:
        case = item.stash.get(CASE_KEY, None)
        if case is not None and case.instance.unscorable is None:  # unscorable: never drawn
            item.stash[GROUP_KEY] = groups[item.nodeid]
            by_group.setdefault(groups[item.nodeid], []).append(case)
    config.stash[GROUPS_KEY] = by_group


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Hand the generation counters to the results collector (on an xdist worker: send them
    to the controller), before the collector writes its summary."""
    runner = session.config.stash.get(RUNNER_KEY, None)
    if runner is not None:
        runner.close()  # a group being generated ahead is finished and stored
    counters = runner.throughput_counters() if runner is not None else None
    if counters is None:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["ureason_throughput"] = counters
    else:
        collector = session.config.stash.get(COLLECTOR_KEY, None)
        if collector is not None:
            collector.add_throughput(counters)


def _progress_writer(config: pytest.Config) -> Callable[[str], None] | None:
    """Write a progress line past output capture (items run captured); None on xdist workers,
    whose progress the controller prints from the reports it receives."""
    if hasattr(config, "workerinput"):
        return None
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return None

    def show(line: str) -> None:
        def write() -> None:
            if reporter._tw.width_of_current_line:  # after the progress characters
                reporter._tw.line()
            reporter.write_line(line)

        if capman is None:
            write()
            return
        with capman.global_and_fixture_disabled():
            write()

    return show


@pytest.fixture(scope="session")
def ureason_runner(pytestconfig: pytest.Config) -> Runner:
    """The per-worker runner: loads the model once, prepares groups, judges items."""
    runner = pytestconfig.stash.get(RUNNER_KEY, None)
    if runner is None:
        runner = Runner(
            pytestconfig.stash[SETTINGS_KEY],
            pytestconfig.stash.get(GROUPS_KEY, {}),
            _progress_writer(pytestconfig),
            lookahead=pytestconfig.stash[SETTINGS_KEY].lookahead
            and not hasattr(pytestconfig, "workerinput"),
        )
        pytestconfig.stash[RUNNER_KEY] = runner
    return runner


@pytest.fixture(scope="session")
def ureason_model(pytestconfig: pytest.Config, ureason_runner: Runner) -> UnifiedModel:
    """The model under test (``--model``); skips the test when none is given."""
    if pytestconfig.stash[SETTINGS_KEY].model is None:
        pytest.skip("no model: pass --model NAME (e.g. --model reference)")
    return ureason_runner.harness.model


@pytest.fixture(scope="session")
def ureason_judges(pytestconfig: pytest.Config) -> Judges:
    """The run's judges (``--detector``, ``--ocr``, ``--clip-*``, ``--judge``), loaded lazily,
    once per worker: ``expect(image, judges=ureason_judges).vqa(...)``."""
    return shared(pytestconfig.stash[SETTINGS_KEY].judges)


@pytest.fixture
def generate(ureason_runner: Runner, ureason_model: UnifiedModel) -> Callable[..., Image.Image]:
    """``generate(prompt, seed=0, context=None)``: an image from the model under test, through
    the generation store (a rerun reuses it)."""
    return ureason_runner.generate_one
