"""`--shard auto`: the shard from a launcher's environment (pytest_ureason.run.launcher), and the
`{shard}` placeholder of the per-shard junit and JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ureason.plugin import shard_of
from pytest_ureason.run.launcher import LauncherError, LauncherShard, shard_from_env, shard_label


def slurm(task: int, low: int | None, high: int | None, count: int | None) -> dict[str, str]:
    env = {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_JOB_ID": "77"}
    for name, value in (("MIN", low), ("MAX", high), ("COUNT", count)):
        if value is not None:
            env[f"SLURM_ARRAY_TASK_{name}"] = str(value)
    return env


@pytest.mark.parametrize(
    ("env", "index", "count"),
    [
        (slurm(0, 0, 3, 4), 1, 4),  # --array=0-3, all four variables (what Slurm sets)
        (slurm(3, 0, 3, 4), 4, 4),
        (slurm(1, 1, 2, 2), 1, 2),  # --array=1-2
        (slurm(2, 1, 2, None), 2, 2),  # MIN/MAX only
        (slurm(5, 5, None, 3), 1, 3),  # MIN with COUNT
        (slurm(7, None, 7, 3), 3, 3),  # MAX with COUNT
        (slurm(4, 0, 6, 4), 3, 4),  # --array=0-6:2 -> tasks 0, 2, 4, 6
        (slurm(9, 9, 9, 1), 1, 1),  # a one-task array
    ],
)
def test_slurm_array_tasks_map_onto_shards(env: dict[str, str], index: int, count: int) -> None:
    found = shard_from_env(env)
    assert (found.index, found.count) == (index, count)
    assert found.source.startswith(f"Slurm array task {env['SLURM_ARRAY_TASK_ID']} of ")


def test_every_task_of_an_array_gets_a_distinct_shard() -> None:
    for low, high, step in ((0, 7, 1), (1, 8, 1), (3, 15, 4)):
        tasks = range(low, high + 1, step)
        got = [shard_from_env(slurm(t, low, high, len(tasks))).index for t in tasks]
        assert got == list(range(1, len(tasks) + 1))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (slurm(1, None, None, 2), "SLURM_ARRAY_TASK_MIN is not"),
        (slurm(1, 1, None, None), "without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX"),
        (slurm(2, 1, 5, 3), "not a task of the array 1-5:2"),  # --array=1,2,5: task 2
        (slurm(1, 1, 4, 3), "not evenly stepped"),  # --array=1,2,4
        (slurm(9, 1, 4, 4), "SLURM_ARRAY_TASK_ID=9 is not a task of the array 1-4"),
        ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, "'x' is not an integer"),
        ({"JOB_COMPLETION_INDEX": "0"}, "pass --shard-count N"),
        ({"RANK": "0"}, "RANK is set without WORLD_SIZE"),
        ({"RANK": "4", "WORLD_SIZE": "4"}, "RANK=4 is outside 0..3 (WORLD_SIZE)"),
        ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE=0: the shard count must be at least 1"),
        ({"PATH": "/bin", "SLURM_JOB_ID": "5"}, "no launcher found: none of SLURM_ARRAY_TASK_ID"),
    ],
)
def test_launcher_variables_that_name_no_shard_are_errors(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(LauncherError) as info:
        shard_from_env(env)
    assert message in str(info.value)


def test_kubernetes_index_needs_the_count_and_torchrun_rank_is_zero_based() -> None:
    assert shard_from_env({"JOB_COMPLETION_INDEX": "2"}, 3) == LauncherShard(
        3, 3, "Kubernetes JOB_COMPLETION_INDEX=2 of --shard-count 3"
    )
    with pytest.raises(LauncherError, match=r"JOB_COMPLETION_INDEX=3 is outside 0..2"):
        shard_from_env({"JOB_COMPLETION_INDEX": "3"}, 3)
    assert shard_from_env({"RANK": "0", "WORLD_SIZE": "2"}) == LauncherShard(
        1, 2, "RANK=0 of WORLD_SIZE=2"
    )
    # A count given beside Slurm or torchrun checks the launcher's own count.
    assert shard_from_env({"RANK": "1", "WORLD_SIZE": "2"}, 2).index == 2
    with pytest.raises(LauncherError, match="--shard-count 4 disagrees with the launcher"):
        shard_from_env(slurm(1, 1, 2, 2), 4)
    # A Slurm array wins over a RANK that a wrapper may also export.
    both = {**slurm(2, 1, 2, 2), "RANK": "0", "WORLD_SIZE": "8"}
    assert (shard_from_env(both).index, shard_from_env(both).count) == (2, 2)
    assert shard_label((2, 4)) == "2-of-4" and shard_label(None) == "all"


def test_shard_auto_runs_its_shard_and_writes_its_own_files(
    pytester: pytest.Pytester, suite_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Slurm array tasks in turn (the variables Slurm sets): each runs the instances of its
    shard, says where the shard came from, and writes its own junit and JSON file."""
    for name in ("RANK", "WORLD_SIZE", "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    ids: dict[int, set[str]] = {}
    for task in (1, 2):
        for key, value in slurm(task, 1, 2, 2).items():
            monkeypatch.setenv(key, value)
        result = pytester.runpytest(
            "--model", "reference", "--condition", "direct", "--shard", "auto",
            "--junitxml=out/s-{shard}.xml", "--ureason-json=out/s-{shard}.json",
        )  # fmt: skip
        result.stdout.fnmatch_lines(
            [f"ureason: model reference, *shard {task}/2 (--shard auto: Slurm array task "
             f"{task} of 1-2)"]
        )  # fmt: skip
        data = json.loads((pytester.path / f"out/s-{task}-of-2.json").read_text())
        ids[task] = {item["instance"] for item in data["items"]}
        assert (
            f'name="ureason_shard" value="{task}/2"'
            in (pytester.path / f"out/s-{task}-of-2.xml").read_text()
        )
    assert ids[1].isdisjoint(ids[2]) and len(ids[1] | ids[2]) == 3
    for task, part in ids.items():
        assert all(shard_of("arithmetic", i, 2) == task for i in part)


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["--shard", "auto"], "*--shard auto: no launcher found*pass --shard i/N*"),
        ({"JOB_COMPLETION_INDEX": "1"}, ["--shard", "auto"], "*pass --shard-count N*"),
        ({}, ["--shard", "1/2", "--shard-count", "2"], "*--shard-count goes with --shard auto*"),
        ({"RANK": "0", "WORLD_SIZE": "2"}, ["--shard", "auto", "--shard-count", "3"],
         "*--shard-count 3 disagrees with the launcher (RANK=0 of WORLD_SIZE=2: 2 shards)*"),
    ],
)  # fmt: skip
def test_shard_auto_usage_errors(
    pytester: pytest.Pytester,
    suite_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    for name in ("SLURM_ARRAY_TASK_ID", "RANK", "WORLD_SIZE", "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = pytester.runpytest("--model", "reference", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_kubernetes_index_with_the_count_as_an_ini_key(
    pytester: pytest.Pytester, suite_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLURM_ARRAY_TASK_ID", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
    pytester.makeini(
        "[pytest]\nureason_store = .store\nureason_shard = auto\nureason_shard_count = 2\n"
    )
    result = pytester.runpytest("--model", "reference", "--condition", "direct", "--co")
    result.stdout.fnmatch_lines(
        ["*shard 1/2 (--shard auto: Kubernetes JOB_COMPLETION_INDEX=0 of --shard-count 2)"]
    )
