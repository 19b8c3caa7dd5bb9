"""The validated options of one pytest run, as one frozen :class:`Settings`.

The options and ini keys themselves, and their reading and validation into a :class:`Settings`,
are :mod:`pytest_ureason.options`'s; every stage of the run reads the result from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_ureason.judge.judges import JudgeConfig


@dataclass(frozen=True)
class Settings:
    """Validated options of one pytest run."""

    model: str | None
    model_path: str | None
    model_args: dict[str, str]
    conditions: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: int
    store: Path
    shard: tuple[int, int] | None
    batch_size: int
    detector: str
    ocr: str
    json_path: Path | None
    judges: JudgeConfig = field(default_factory=JudgeConfig)
    calibrate: bool = False
    accuracy_floor: float = 0.9
    calibration_goldens: Path | None = None
    rounds: int = 2
    gpus: str | None = None
    suite_format: str = "auto"
    #: Where ``--shard auto`` found the shard (``Slurm array task 3 of 1-4``), else None.
    shard_source: str | None = None
    #: ``advise``: derived assertions are recorded but the yes/no judge alone decides.
    derived_assertions: str = "advise"
    #: Generate the next group while the current one is judged (``--lookahead on``).
    lookahead: bool = True
    #: How ``decontext`` extracts the refined prompt (``conditions.EXTRACTIONS``).
    refined_extraction: str = "ours"
