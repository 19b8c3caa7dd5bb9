"""The papers' judge protocols, read from their released evaluation scripts.

``--judge-protocol ureason=PATH`` (``evaluation/qwen_vision_batch.py`` of UReason, or a folder
holding it), ``--judge-protocol unisandbox=PATH`` (the folder of UniSandbox's ``eval_math.py``,
``eval_mapping.py`` and ``eval_knowledge.py``, or a folder with them under ``eval/``) and
``--text-judge-protocol ureason=PATH`` (``evaluation/qwen_text_batch.py``) read the template
constants and decoding settings of those scripts by parsing them
(:mod:`pytest_ureason.judge.paper_parse`; nothing of theirs is imported or run) into a
:class:`PaperProtocol`. Our own protocol (:mod:`pytest_ureason.judge.yesno`) still judges every
item and decides its outcome; a paper protocol judges the items of its format again, its
verdict recorded beside ours.

=============================  ====================================  ===========================
script                         constants (placeholders)              flow
=============================  ====================================  ===========================
qwen_vision_batch.py           EVALUATION_TEMPLATE (description)     image + filled template
qwen_text_batch.py             EVALUATION_TEMPLATE (user_prompt,     text only: the record's
                               model_thought, criteria)              prompt, the reasoning,
                                                                     ``expect_en``
eval_math.py                   CAPTION_PROMPT; EVALUATION_PROMPT_    image + caption prompt,
                               TEMPLATE (caption, expected_answer)   then text only: caption
                                                                     vs ``Answer``
eval_mapping.py                IDENTIFICATION_PROMPT; EVALUATION_    the same, with the
                               PROMPT_TEMPLATE (identified_object,   identified object
                               expected_answer)
eval_knowledge.py              CAPTION_PROMPT; EVAL_PROMPT_TEMPLATE  the same (first caption
                               (caption, gt)                         line)
=============================  ====================================  ===========================

Each stage is sent with the ``max_tokens`` and ``temperature`` of the script's own call
(:func:`judge_args`: the judge adapter's option names for them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pytest_ureason.judge.paper_parse import (
    Limits,
    ProtocolError,
    Template,
    parse_script,
    read_limits,
    read_template,
)

Kind = Literal["image", "reasoning"]
NAMES = ("ureason", "unisandbox")

#: (script file, constant, placeholders) per stage, by protocol, kind and family.
_SCRIPTS: dict[tuple[str, Kind], dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]]] = {
    ("ureason", "image"): {
        "ureason": (("qwen_vision_batch.py", "EVALUATION_TEMPLATE", ("description",)),),
    },
    ("ureason", "reasoning"): {
        "ureason": (
            (
                "qwen_text_batch.py",
                "EVALUATION_TEMPLATE",
                ("user_prompt", "model_thought", "criteria"),
            ),
        ),
    },
    ("unisandbox", "image"): {
        "math": (
            ("eval_math.py", "CAPTION_PROMPT", ()),
            ("eval_math.py", "EVALUATION_PROMPT_TEMPLATE", ("caption", "expected_answer")),
        ),
        "mapping": (
            ("eval_mapping.py", "IDENTIFICATION_PROMPT", ()),
            (
                "eval_mapping.py",
                "EVALUATION_PROMPT_TEMPLATE",
                ("identified_object", "expected_answer"),
            ),
        ),
        "knowledge": (
            ("eval_knowledge.py", "CAPTION_PROMPT", ()),
            ("eval_knowledge.py", "EVAL_PROMPT_TEMPLATE", ("caption", "gt")),
        ),
    },
}
#: Where a script may sit below a folder given as PATH.
_SUBFOLDERS = {"ureason": ("", "evaluation"), "unisandbox": ("", "eval")}
#: The judge adapter options that carry a call's token limit and temperature.
LIMIT_OPTIONS: dict[str, tuple[str, str]] = {
    "http": ("max_tokens", "temperature"),
    "qwen-vl": ("max_new_tokens", "temperature"),
    "janus-pro": ("answer_tokens", "text_temperature"),
    "composite": ("answer_tokens", "temperature"),
}


@dataclass(frozen=True)
class Stage:
    """One judge call of a protocol: its template and the script's decoding settings."""

    template: Template
    limits: Limits
    image: bool  # the image goes with this call (stage 1), else text only

    def describe(self) -> str:
        """``file:CONSTANT#sha`` of the template."""
        return f"{Path(self.template.path).name}:{self.template.name}#{self.template.sha}"


@dataclass(frozen=True)
class PaperProtocol:
    """A paper's protocol for one kind of verdict, per family of records."""

    name: str  # ureason | unisandbox
    kind: Kind
    source: str  # the path given
    families: tuple[tuple[str, tuple[Stage, ...]], ...]

    def stages(self, family: str) -> tuple[Stage, ...]:
        """The stages of ``family`` (empty: the protocol does not judge it)."""
        return dict(self.families).get(family, ())

    @property
    def sha(self) -> str:
        """Short SHA-256 over every template and decoding setting of the protocol."""
        blob = "\n".join(
            f"{fam}|{s.template.name}|{s.template.text}|{s.limits.max_tokens}|{s.limits.temperature}"
            for fam, stages in self.families
            for s in stages
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    @property
    def label(self) -> str:
        """``name#sha``: what every verdict of this protocol names."""
        return f"{self.name}#{self.sha}"

    def templates(self) -> list[str]:
        """``file:CONSTANT#sha`` of each template, in order."""
        return [s.describe() for _, stages in self.families for s in stages]


def family_of(tags: tuple[str, ...], protocol: str) -> str | None:
    """The family of a record, by its importer's tags, that ``protocol`` judges (None: not
    one of its records)."""
    if protocol == "ureason":
        return "ureason" if "ureason" in tags else None
    if protocol == "unisandbox" and "unisandbox" in tags:
        for family in ("math", "mapping", "knowledge"):
            if family in tags:
                return family
    return None


def split_spec(spec: str, flag: str) -> tuple[str, str]:
    """``NAME=PATH`` into (name, path).

    Raises:
        ProtocolError: not NAME=PATH, or an unknown NAME.
    """
    name, sep, path = spec.partition("=")
    name, path = name.strip(), path.strip()
    if not sep or not path:
        raise ProtocolError(f"{flag} must be NAME=PATH (NAME: {', '.join(NAMES)}), got {spec!r}")
    if name not in NAMES:
        raise ProtocolError(f"{flag} {name!r} is unknown (known: {', '.join(NAMES)})")
    return name, path


def _find(name: str, path: Path, script: str, many: bool) -> Path:
    """The script file: ``path`` itself (a file, for a one-script protocol), else
    ``path/script`` or ``path/<subfolder>/script``."""
    if path.is_file():
        if many or path.name != script:
            if many:
                raise ProtocolError(
                    f"{path}: {name} needs the folder that holds {script} and its sibling "
                    "scripts, not a file"
                )
            raise ProtocolError(f"{path}: expected the script {script} (or a folder holding it)")
        return path
    if not path.is_dir():
        raise ProtocolError(f"{path}: no such file or folder")
    for sub in _SUBFOLDERS[name]:
        candidate = path / sub / script if sub else path / script
        if candidate.is_file():
            return candidate
    where = " or ".join(str(path / s / script if s else path / script) for s in _SUBFOLDERS[name])
    raise ProtocolError(f"{path}: {script} is not there (looked for {where})")


@cache
def load(spec: str, kind: Kind, base: str = ".") -> PaperProtocol:
    """The protocol of ``NAME=PATH`` for ``kind`` verdicts (a relative PATH is taken from
    ``base``). Parsed once per process.

    Raises:
        ProtocolError: the spec, a script, a constant or its call is not as released.
    """
    flag = "--judge-protocol" if kind == "image" else "--text-judge-protocol"
    name, raw = split_spec(spec, flag)
    plan = _SCRIPTS.get((name, kind))
    if plan is None:
        raise ProtocolError(f"{flag} {name}: the paper has no {kind} judge protocol")
    root = Path(base, raw).expanduser()
    scripts = {f for stages in plan.values() for f, _, _ in stages}
    trees: dict[str, tuple[Path, object]] = {}
    families: list[tuple[str, tuple[Stage, ...]]] = []
    for family, stages in plan.items():
        made: list[Stage] = []
        for index, (script, constant, fields) in enumerate(stages):
            if script not in trees:
                found = _find(name, root, script, len(scripts) > 1)
                trees[script] = (found, parse_script(found))
            file, tree = trees[script]
            template = read_template(file, tree, constant, fields)  # type: ignore[arg-type]
            limits = read_limits(file, tree, constant)  # type: ignore[arg-type]
            made.append(Stage(template, limits, image=(kind == "image" and index == 0)))
        families.append((family, tuple(made)))
    return PaperProtocol(name, kind, str(root), tuple(families))


def judge_args(
    adapter: str, args: tuple[tuple[str, str], ...], limits: Limits
) -> tuple[tuple[tuple[str, str], ...], str]:
    """The judge's options with a stage's token limit and temperature set, and a note of what
    was applied (``max_tokens=512 temperature=0``, or why nothing could be)."""
    names = LIMIT_OPTIONS.get(adapter)
    temperature = f"{limits.temperature:g}"
    if names is None:
        return args, (
            f"not applied: adapter {adapter!r} has no token-limit option "
            f"(the script asks max_tokens={limits.max_tokens} temperature={temperature})"
        )
    tokens_opt, temp_opt = names
    merged = dict(args)
    merged[tokens_opt] = str(limits.max_tokens)
    merged[temp_opt] = temperature
    return tuple(
        sorted(merged.items())
    ), f"{tokens_opt}={limits.max_tokens} {temp_opt}={temperature}"
