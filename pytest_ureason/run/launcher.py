"""``--shard auto``: this process's shard, read from the launcher's environment variables.

Pure functions over a mapping of environment variables (no ``os.environ`` read here), so every
launcher variant is tested without one. Launchers, in the order they are looked for:

- **Slurm job array**: ``SLURM_ARRAY_TASK_ID`` with ``SLURM_ARRAY_TASK_MIN`` and
  ``SLURM_ARRAY_TASK_MAX`` and/or ``SLURM_ARRAY_TASK_COUNT`` (Slurm sets all four; two of the
  last three anchor the array). ``--array=0-7``, ``1-8`` and evenly stepped ``0-14:2`` arrays
  map onto shards 1..N; a task id off the array's step (a list such as ``1,2,5``) is an error,
  so no such array can silently drop instances.
- **Kubernetes indexed Job**: ``JOB_COMPLETION_INDEX`` (0-based); Kubernetes exports no total,
  so the count comes from ``--shard-count`` / ``ureason_shard_count`` (the Job's completions).
- **torchrun** (and launchers like it): ``RANK`` (0-based) with ``WORLD_SIZE``.

``--shard-count`` given beside a Slurm array or torchrun must agree with the launcher's count
(a cross-check that the submitted array has the size the team meant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class LauncherError(ValueError):
    """No launcher, or a launcher's variables that cannot name a shard (the message says why)."""


@dataclass(frozen=True)
class LauncherShard:
    """A 1-based shard ``index`` of ``count`` and where it came from (for the report header)."""

    index: int
    count: int
    source: str


def _int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise LauncherError(f"{name}={raw!r} is not an integer") from None


def _slurm(env: Mapping[str, str]) -> LauncherShard:
    task = _int(env, "SLURM_ARRAY_TASK_ID")
    low = _int(env, "SLURM_ARRAY_TASK_MIN")
    high = _int(env, "SLURM_ARRAY_TASK_MAX")
    count = _int(env, "SLURM_ARRAY_TASK_COUNT")
    assert task is not None
    if low is None and high is not None and count is not None:
        low = high - count + 1 if count > 0 else None
    if low is None:
        raise LauncherError(
            "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not (nor MAX with COUNT): "
            "cannot tell where the array starts; pass --shard i/N"
        )
    if count is None:
        if high is None:
            raise LauncherError(
                "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or "
                "SLURM_ARRAY_TASK_MAX: cannot tell the array's size; pass --shard i/N"
            )
        count = high - low + 1
    if high is None:
        high = low + count - 1
    if count < 1 or high < low:
        raise LauncherError(
            f"Slurm array of {count} task(s) from {low} to {high} is not a usable array"
        )
    step = 1 if count == 1 else (high - low) // (count - 1)
    if count > 1 and (step < 1 or low + step * (count - 1) != high):
        raise LauncherError(
            f"Slurm array of {count} tasks from {low} to {high} is not evenly stepped "
            "(a list of task ids?): submit --array=0-N-1 or pass --shard i/N"
        )
    if not low <= task <= high or (task - low) % step:
        raise LauncherError(
            f"SLURM_ARRAY_TASK_ID={task} is not a task of the array {low}-{high}"
            + (f":{step}" if step > 1 else "")
            + " (a list of task ids, not a range?): submit --array=0-N-1 or pass --shard i/N"
        )
    index = (task - low) // step + 1
    span = f"{low}-{high}" + (f":{step}" if step > 1 else "")
    return LauncherShard(index, count, f"Slurm array task {task} of {span}")


def _zero_based(env: Mapping[str, str], index_name: str, count: int, count_from: str) -> int:
    index = _int(env, index_name)
    assert index is not None
    if count < 1:
        raise LauncherError(f"{count_from}={count}: the shard count must be at least 1")
    if not 0 <= index < count:
        raise LauncherError(f"{index_name}={index} is outside 0..{count - 1} ({count_from})")
    return index + 1


def shard_from_env(env: Mapping[str, str], count: int | None = None) -> LauncherShard:
    """The shard of this process under the launcher that ``env`` shows.

    Args:
        env: environment variables (``os.environ``).
        count: ``--shard-count`` / ``ureason_shard_count``: the Kubernetes Job's completions;
            with another launcher, a cross-check of its count.

    Raises:
        LauncherError: no launcher's variables are set, or they are malformed or inconsistent.
    """
    if _int(env, "SLURM_ARRAY_TASK_ID") is not None:
        found = _slurm(env)
    elif _int(env, "JOB_COMPLETION_INDEX") is not None:
        if count is None:
            raise LauncherError(
                "JOB_COMPLETION_INDEX is set (a Kubernetes indexed Job) but Kubernetes exports "
                "no shard count: pass --shard-count N (or ini ureason_shard_count), N being the "
                "Job's completions"
            )
        index = _zero_based(env, "JOB_COMPLETION_INDEX", count, "--shard-count")
        return LauncherShard(
            index, count, f"Kubernetes JOB_COMPLETION_INDEX={index - 1} of --shard-count {count}"
        )
    elif _int(env, "RANK") is not None:
        world = _int(env, "WORLD_SIZE")
        if world is None:
            raise LauncherError("RANK is set without WORLD_SIZE: cannot tell the shard count")
        index = _zero_based(env, "RANK", world, "WORLD_SIZE")
        found = LauncherShard(index, world, f"RANK={index - 1} of WORLD_SIZE={world}")
    else:
        raise LauncherError(
            "no launcher found: none of SLURM_ARRAY_TASK_ID (a Slurm array), "
            "JOB_COMPLETION_INDEX (a Kubernetes indexed Job) or RANK/WORLD_SIZE (torchrun) is "
            "set; pass --shard i/N outside a launcher"
        )
    if count is not None and count != found.count:
        raise LauncherError(
            f"--shard-count {count} disagrees with the launcher ({found.source}: "
            f"{found.count} shards)"
        )
    return found


def shard_label(shard: tuple[int, int] | None) -> str:
    """What ``{shard}`` in ``--junitxml`` / ``--ureason-json`` becomes: ``2-of-4``, or ``all``."""
    return "all" if shard is None else f"{shard[0]}-of-{shard[1]}"
