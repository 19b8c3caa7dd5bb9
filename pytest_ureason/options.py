"""Command-line options and ini keys, and their reading and validation into one
:class:`~pytest_ureason.settings.Settings`.

Every option can also be set in ``[tool.pytest.ini_options]`` (or pytest.ini) under the ini key
in the table below; the command line wins.

=================  =====================  ==========================================
option             ini key                meaning
=================  =====================  ==========================================
--model            ureason_model          adapter name (``reference``, ...)
--model-path       ureason_model_path     local weights directory
--model-arg K=V    ureason_model_args     adapter option (repeatable)
--condition        ureason_conditions     direct / reasoning / decontext (repeatable)
--task             ureason_tasks          run only these tasks (repeatable)
--seeds            ureason_seeds          seeds per instance (default 1)
--store            ureason_store          generation store folder
--shard i/N        ureason_shard          run shard i of N (1-based) of the instances
--shard auto       ureason_shard          the shard from the launcher (:mod:`.run.launcher`)
--shard-count N    ureason_shard_count    shards of a Kubernetes indexed Job (auto)
--batch-size       ureason_batch_size     instances per group and per model call
--lookahead        ureason_lookahead      generate the next group while one is judged (on)
--detector         ureason_detector       object detector (``auto``, ``classical``, ``owlv2``...)
--ocr              ureason_ocr            OCR backend (``rapidocr`` or ``tesseract``)
--gpus             ureason_gpus           GPU ids, one per xdist worker (``0,1,2,3``)
--ureason-json     ureason_json           write the pass-rate summary as JSON here
--gate PATH        ureason_gate           gate the run against this baseline JSON
--gate-alpha       ureason_gate_alpha     significance level of the gate (0.05)
--gate-min-effect  ureason_gate_min_eff.. smallest pass-rate drop that fails (0.02)
--gate-allow-new   ureason_gate_allow_new run items missing from the baseline pass (no)
--rounds           ureason_rounds         interleaved: most reflect-refine rounds (2)
--suite-format     ureason_suite_format   JSONL format (``auto``, ``native``, ``ureason``...)
=================  =====================  ==========================================

Judges (issue 4): ``--detector-path`` (``ureason_detector_path``), ``--detector-device``,
``--detector-threshold TYPE=VALUE`` (repeatable), ``--clip-model``, ``--clip-weights``,
``--judge``, ``--judge-path``, ``--judge-arg KEY=VALUE`` (repeatable, like ``--model-*``),
``--text-judge``, ``--text-judge-path`` and ``--text-judge-arg KEY=VALUE`` (the reasoning
verdict's yes/no judge), ``--judge-protocol NAME=PATH`` / ``--text-judge-protocol NAME=PATH``
(the papers' protocols read from their released scripts, judging beside ours; ini
``ureason_judge_protocols`` / ``ureason_text_judge_protocols``), ``--refined-extraction``,
``--calibrate`` and the ini key ``ureason_accuracy_floor`` (see :func:`judge_config`).
Seed formats (issue 8): ``--suite-format`` and ``--derived-assertions advise|require``
(``ureason_derived_assertions``): whether derived assertions only advise (the default; the
yes/no judge alone decides, as the papers judged) or decide the item too.

``--ureason-regen-baseline`` (a flag) writes the ``--gate`` baseline instead of gating.
Without ``--gate-allow-new`` (a flag; ini ``ureason_gate_allow_new = true``) a baseline that
lacks items of the run fails the gate; the baseline is read and checked (JSON, fields, digest)
before any item runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pytest_ureason.collect.formats import FORMATS
from pytest_ureason.conditions import CONDITIONS, DEFAULT_CONDITIONS, EXTRACTIONS
from pytest_ureason.judge.detect import OBJECT_DETECTORS, OCR_BACKENDS, THRESHOLDS
from pytest_ureason.judge.judges import JudgeConfig
from pytest_ureason.judge.paper_parse import ProtocolError
from pytest_ureason.judge.paper_protocols import load as load_protocol
from pytest_ureason.judge.paper_protocols import split_spec
from pytest_ureason.run.launcher import LauncherError, shard_from_env
from pytest_ureason.settings import Settings

_OPTIONS: tuple[tuple[str, str, str, str, str | None], ...] = (
    # option, dest, ini key, ini type, help
    ("--model", "ureason_model", "ureason_model", "string", "model adapter to evaluate"),
    (
        "--model-path",
        "ureason_model_path",
        "ureason_model_path",
        "string",
        "local directory with the model's weights",
    ),
    ("--seeds", "ureason_seeds", "ureason_seeds", "string", "seeds per instance (default 1)"),
    ("--store", "ureason_store", "ureason_store", "string", "store (default .ureason/store)"),
    (
        "--shard",
        "ureason_shard",
        "ureason_shard",
        "string",
        "run shard i of N, e.g. 2/4; 'auto': from a Slurm array, Kubernetes indexed Job or "
        "torchrun's environment",
    ),
    (
        "--shard-count",
        "ureason_shard_count",
        "ureason_shard_count",
        "string",
        "with --shard auto: the shard count of a Kubernetes indexed Job (its completions); "
        "with another launcher, a check of its count",
    ),
    (
        "--batch-size",
        "ureason_batch_size",
        "ureason_batch_size",
        "string",
        "instances per generation group and model call (default 16)",
    ),
    (
        "--lookahead",
        "ureason_lookahead",
        "ureason_lookahead",
        "string",
        "on (default) or off: generate the next group in the background while the current "
        "group is judged (one process; xdist workers prepare group by group)",
    ),
    (
        "--detector",
        "ureason_detector",
        "ureason_detector",
        "string",
        "object detector: auto (default), classical, owlv2 or grounding-dino",
    ),
    ("--ocr", "ureason_ocr", "ureason_ocr", "string", "OCR backend: rapidocr or tesseract"),
    # GPU pool for xdist workers (pytest_ureason.run.gpus): one GPU per worker.
    (
        "--gpus",
        "ureason_gpus",
        "ureason_gpus",
        "string",
        "GPU ids handed one per xdist worker, e.g. 0,1,2,3 (default: CUDA_VISIBLE_DEVICES, "
        "else the GPUs nvidia-smi -L lists, else none)",
    ),
    (
        "--ureason-json",
        "ureason_json",
        "ureason_json",
        "string",
        "write pass rates and gaps as JSON to this path",
    ),
    # studies (issue 5): the interleaved condition's reflect-refine rounds
    (
        "--rounds",
        "ureason_rounds",
        "ureason_rounds",
        "string",
        "interleaved condition: most reflect-refine rounds after the draft (default 2)",
    ),
)
# Judges (issue 4): detector weights and thresholds, CLIP, the VQA judge model, calibration.
_JUDGE_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--detector-path", "ureason_detector_path", "local folder with the detector's weights"),
    ("--detector-device", "ureason_detector_device", "device of the judges (default: the GPU)"),
    ("--clip-model", "ureason_clip_model", "open_clip architecture or model config JSON"),
    ("--clip-weights", "ureason_clip_weights", "open_clip checkpoint file (or 'random')"),
    ("--judge", "ureason_judge", "model adapter that answers vqa assertions"),
    ("--judge-path", "ureason_judge_path", "local directory with the judge's weights"),
    ("--text-judge", "ureason_text_judge", "model adapter that judges reasoning text (yes/no)"),
    ("--text-judge-path", "ureason_text_judge_path", "local directory with its weights"),
    # seed formats (issue 8): the format of every JSONL suite instead of recognising it
    ("--suite-format", "ureason_suite_format", "auto, native, geneval, ureason or unisandbox"),
    ("--derived-assertions", "ureason_derived_assertions", "advise (default) or require"),
    (
        "--refined-extraction",
        "ureason_refined_extraction",
        "how decontext reads the refined prompt: ours, or ureason (the paper's rule; the "
        "default under --judge-protocol ureason=...)",
    ),
)
_JUDGE_LISTS: tuple[tuple[str, str, str], ...] = (
    ("--detector-threshold", "ureason_detector_thresholds", "score threshold TYPE=VALUE"),
    ("--judge-arg", "ureason_judge_args", "judge adapter option KEY=VALUE (repeatable)"),
    (
        "--text-judge-arg",
        "ureason_text_judge_args",
        "text judge adapter option KEY=VALUE (repeatable)",
    ),
    (
        "--judge-protocol",
        "ureason_judge_protocols",
        "also judge images by a paper's released script: ureason=PATH/evaluation/"
        "qwen_vision_batch.py or unisandbox=PATH (folder of its eval_*.py); repeatable",
    ),
    (
        "--text-judge-protocol",
        "ureason_text_judge_protocols",
        "also judge reasoning by a paper's released script: "
        "ureason=PATH/evaluation/qwen_text_batch.py",
    ),
)
_LISTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "--condition",
        "ureason_conditions",
        "ureason_conditions",
        f"condition to run (repeatable; {', '.join(CONDITIONS)}; "
        "default direct, reasoning, decontext)",
    ),
    ("--task", "ureason_tasks", "ureason_tasks", "run only this task (repeatable)"),
    (
        "--model-arg",
        "ureason_model_args",
        "ureason_model_args",
        "adapter option KEY=VALUE (repeatable)",
    ),
)


#: What ``--derived-assertions`` accepts: derived assertions only ``advise`` (the yes/no
#: judge alone decides an item, as the papers judged) or ``require`` (they decide too).
DERIVED_ROLES: tuple[str, ...] = ("advise", "require")

_OPTION_OF = {dest: option for option, dest, *_ in _OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    """Register the command-line options and ini keys."""
    group = parser.getgroup("ureason", "unified multimodal model conformance (pytest-ureason)")
    for option, dest, ini, kind, help_text in _OPTIONS:
        group.addoption(option, dest=dest, default=None, help=help_text)
        parser.addini(ini, help=help_text or "", type=kind, default=None)  # type: ignore[arg-type]
    for option, dest, ini, help_text in _LISTS:
        group.addoption(option, dest=dest, action="append", default=None, help=help_text)
        parser.addini(ini, help=help_text, type="linelist", default=[])
    for option, dest, help_text in _JUDGE_OPTIONS:
        group.addoption(option, dest=dest, default=None, help=help_text)
        parser.addini(dest, help=help_text, type="string", default=None)
    for option, dest, help_text in _JUDGE_LISTS:
        group.addoption(option, dest=dest, action="append", default=None, help=help_text)
        parser.addini(dest, help=help_text, type="linelist", default=[])
    group.addoption(
        "--calibrate",
        dest="ureason_calibrate",
        action="store_true",
        default=False,
        help="calibrate the run's detectors on goldens/calibration first; refuse to run when "
        "one falls below ureason_accuracy_floor",
    )
    parser.addini(
        "ureason_accuracy_floor",
        type="string",
        default="0.9",
        help="lowest calibrated accuracy per assertion type that --calibrate accepts",
    )
    parser.addini(
        "ureason_calibration_goldens",
        type="string",
        default=None,
        help="goldens folder --calibrate measures on (default: the package's goldens/calibration)",
    )
    # Release gate (pytest_ureason.results.gate): compare with a stored baseline, or write one.
    gate = parser.getgroup("ureason-gate", "pytest-ureason release gate")
    for option, dest, help_text in (
        ("--gate", "ureason_gate", "baseline JSON to gate this run against"),
        ("--gate-alpha", "ureason_gate_alpha", "significance level of the gate (default 0.05)"),
        (
            "--gate-min-effect",
            "ureason_gate_min_effect",
            "smallest pass-rate drop that fails the gate, 0..1 (default 0.02)",
        ),
    ):
        gate.addoption(option, dest=dest, default=None, help=help_text)
        parser.addini(dest, help=help_text, type="string", default=None)  # type: ignore[arg-type]
    gate.addoption(
        "--gate-allow-new",
        dest="ureason_gate_allow_new",
        action="store_true",
        help="accept run items that the baseline lacks (default: they fail the gate)",
    )
    parser.addini(
        "ureason_gate_allow_new",
        type="bool",
        default=False,
        help="accept run items that the --gate baseline lacks (default: they fail the gate)",
    )
    gate.addoption(
        "--ureason-regen-baseline",
        dest="ureason_regen_baseline",
        action="store_true",
        help="write (or refresh) the --gate baseline from this run instead of gating",
    )
    parser.addini(
        "ureason_suite_globs",
        type="args",
        default=["*.suite.yaml", "*.suite.yml", "*.suite.jsonl"],
        help="file names collected as suites outside a 'suites' folder",
    )


def option_value(config: pytest.Config, dest: str) -> str | None:
    """An option's value as text: the command line, else its ini key, else None."""
    value = config.getoption(dest)
    if value is None:
        ini = config.getini(dest)
        value = ini if ini not in ("", None) else None
    return None if value is None else str(value)


def _get_list(config: pytest.Config, dest: str, *, commas: bool = True) -> list[str]:
    """A repeatable option (or its ini lines); values may also be comma-separated."""
    value = config.getoption(dest) or config.getini(dest)
    parts = (str(raw).split(",") if commas else [str(raw)] for raw in value)
    return [v.strip() for part in parts for v in part if v.strip()]


def _path(config: pytest.Config, dest: str, default: str | None) -> Path | None:
    """A path option: relative to the invocation folder on the command line, to the rootdir
    in an ini file.

    Raises:
        pytest.UsageError: the option or ini key is given but empty (an empty path would
            mean the current folder).
    """
    option = _OPTION_OF.get(dest, dest)
    cli = config.getoption(dest)
    if cli is not None:
        if not str(cli).strip():
            raise pytest.UsageError(f"{option} is empty: give a path")
        return Path(config.invocation_params.dir, str(cli))
    ini = config.getini(dest)
    if isinstance(ini, str) and ini.strip() == "":  # set, but to nothing (unset is None)
        raise pytest.UsageError(f"ini {dest} is empty: give a path ({option})")
    ini = ini or default
    return Path(config.rootpath, str(ini)) if ini else None


def _int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise pytest.UsageError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise pytest.UsageError(f"{name} must be between {low} and {high}, got {value}")
    return value


def from_config(config: pytest.Config) -> Settings:
    """Read and validate the options.

    Raises:
        pytest.UsageError: a value is malformed, with the option named.
    """
    for raw in config.getoption("ureason_conditions") or []:
        if any(not part.strip() for part in str(raw).split(",")):
            raise pytest.UsageError(
                f"--condition {raw!r} names an empty condition (known: {', '.join(CONDITIONS)})"
            )
    conditions = tuple(dict.fromkeys(c.strip() for c in _get_list(config, "ureason_conditions")))
    for c in conditions:
        if c not in CONDITIONS:
            raise pytest.UsageError(
                f"--condition {c!r} is not a condition (known: {', '.join(CONDITIONS)})"
            )
    shard_raw = option_value(config, "ureason_shard")
    shard, shard_source = None, None
    shard_count_raw = option_value(config, "ureason_shard_count")
    shard_count = _int("--shard-count", shard_count_raw, 0, 1, 1_000_000)
    if shard_count_raw is not None and (shard_raw or "").strip() != "auto":
        raise pytest.UsageError("--shard-count goes with --shard auto (--shard i/N names N)")
    if shard_raw is not None and shard_raw.strip() == "auto":
        try:
            found = shard_from_env(os.environ, shard_count or None)
        except LauncherError as exc:
            raise pytest.UsageError(f"--shard auto: {exc}") from None
        shard, shard_source = (found.index, found.count), found.source
    elif shard_raw is not None:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard_raw)
        if m is None or not 1 <= int(m.group(1)) <= int(m.group(2)):
            raise pytest.UsageError(
                f"--shard must be i/N with 1 <= i <= N, got {shard_raw!r} (or auto)"
            )
        shard = (int(m.group(1)), int(m.group(2)))
    model_args = _pairs(config, "ureason_model_args", "--model-arg")
    store = _path(config, "ureason_store", ".ureason/store")
    assert store is not None
    judges = judge_config(config)
    return Settings(
        model=option_value(config, "ureason_model"),
        model_path=option_value(config, "ureason_model_path"),
        model_args=model_args,
        conditions=conditions or DEFAULT_CONDITIONS,
        tasks=tuple(t.strip() for t in _get_list(config, "ureason_tasks")),
        seeds=_int("--seeds", option_value(config, "ureason_seeds"), 1, 1, 1000),
        store=store,
        shard=shard,
        shard_source=shard_source,
        batch_size=_int("--batch-size", option_value(config, "ureason_batch_size"), 16, 1, 4096),
        lookahead=_choice(
            "--lookahead", option_value(config, "ureason_lookahead") or "on", ("on", "off")
        )
        == "on",
        detector=judges.detector,
        ocr=judges.ocr,
        json_path=_path(config, "ureason_json", None),
        rounds=_int("--rounds", option_value(config, "ureason_rounds"), 2, 0, 10),
        gpus=option_value(config, "ureason_gpus"),
        suite_format=_choice(
            "--suite-format", option_value(config, "ureason_suite_format") or "auto", FORMATS
        ),
        derived_assertions=_choice(
            "--derived-assertions",
            option_value(config, "ureason_derived_assertions") or "advise",
            DERIVED_ROLES,
        ),
        judges=judges,
        refined_extraction=_extraction(config, judges),
        calibrate=bool(config.getoption("ureason_calibrate")),
        accuracy_floor=_floor(config.getini("ureason_accuracy_floor")),
        calibration_goldens=(
            Path(config.rootpath, str(config.getini("ureason_calibration_goldens")))
            if config.getini("ureason_calibration_goldens")
            else None
        ),
    )


def _pairs(config: pytest.Config, dest: str, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in _get_list(config, dest, commas=False):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"{option} must be KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _floor(raw: str | None) -> float:
    try:
        value = float(raw or "0.9")
    except ValueError:
        raise pytest.UsageError(f"ureason_accuracy_floor must be a number, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise pytest.UsageError(f"ureason_accuracy_floor must be between 0 and 1, got {value}")
    return value


def judge_config(config: pytest.Config) -> JudgeConfig:
    """The judges' options (issue 4) as a :class:`~pytest_ureason.judge.judges.JudgeConfig`.

    Raises:
        pytest.UsageError: a malformed threshold or judge argument, with the option named.
    """
    known = sorted(THRESHOLDS["classical"])
    overrides: dict[str, float] = {}
    for key, raw in _pairs(config, "ureason_detector_thresholds", "--detector-threshold").items():
        if key not in known:
            raise pytest.UsageError(
                f"--detector-threshold {key}: unknown assertion type (known: {', '.join(known)})"
            )
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            raise pytest.UsageError(
                f"--detector-threshold {key} must be a number in 0..1, got {raw!r}"
            )
        overrides[key] = value
    return JudgeConfig(
        detector=_choice(
            "--detector", option_value(config, "ureason_detector") or "auto", OBJECT_DETECTORS
        ),
        detector_path=option_value(config, "ureason_detector_path"),
        device=option_value(config, "ureason_detector_device"),
        threshold_overrides=tuple(sorted(overrides.items())),
        ocr=_choice("--ocr", option_value(config, "ureason_ocr") or "rapidocr", OCR_BACKENDS),
        clip_model=option_value(config, "ureason_clip_model") or "ViT-B-16",
        clip_weights=option_value(config, "ureason_clip_weights"),
        judge=option_value(config, "ureason_judge"),
        judge_path=option_value(config, "ureason_judge_path"),
        judge_args=tuple(sorted(_pairs(config, "ureason_judge_args", "--judge-arg").items())),
        text_judge=option_value(config, "ureason_text_judge"),
        text_judge_path=option_value(config, "ureason_text_judge_path"),
        text_judge_args=tuple(
            sorted(_pairs(config, "ureason_text_judge_args", "--text-judge-arg").items())
        ),
        judge_protocols=_protocols(config, "ureason_judge_protocols", "image"),
        text_judge_protocols=_protocols(config, "ureason_text_judge_protocols", "reasoning"),
    )


def _protocols(config: pytest.Config, dest: str, kind: str) -> tuple[str, ...]:
    """The paper protocols of a repeatable option, each read (parsed, never imported) now,
    with its PATH made absolute (from the invocation folder; an ini line's from the rootdir).

    Raises:
        pytest.UsageError: a spec, script or constant that is not as released, naming the
            file and the constant.
    """
    flag = "--judge-protocol" if kind == "image" else "--text-judge-protocol"
    cli = config.getoption(dest)
    raw = [str(v) for v in (cli or config.getini(dest) or [])]
    base = config.invocation_params.dir if cli else config.rootpath
    specs: list[str] = []
    seen: set[str] = set()
    for spec in raw:
        try:
            name, path = split_spec(spec, flag)
            if name in seen:
                raise ProtocolError(f"{flag} names {name} twice")
            seen.add(name)
            full = f"{name}={Path(base, Path(path).expanduser()).resolve()}"
            load_protocol(full, kind)  # type: ignore[arg-type]
        except ProtocolError as exc:
            raise pytest.UsageError(str(exc)) from None
        specs.append(full)
    return tuple(specs)


def _extraction(config: pytest.Config, judges: JudgeConfig) -> str:
    """``--refined-extraction``; by default the paper's rule when a UReason protocol runs."""
    raw = option_value(config, "ureason_refined_extraction")
    if raw is not None:
        return _choice("--refined-extraction", raw.strip(), EXTRACTIONS)
    specs = judges.judge_protocols + judges.text_judge_protocols
    return "ureason" if any(s.startswith("ureason=") for s in specs) else "ours"


def _choice(name: str, value: str, known: tuple[str, ...]) -> str:
    if value not in known:
        raise pytest.UsageError(f"{name} {value!r} is unknown (known: {', '.join(known)})")
    return value
