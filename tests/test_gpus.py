"""One GPU per xdist worker: the pool, the pin each worker sees, crash replacement, -n auto.

These run real xdist workers on the CPU: each worker only records the CUDA_VISIBLE_DEVICES it
was given (no GPU is touched). The pool was not exercised on GPUs in this repository's CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ureason.run.gpus import GpuPool, parse_gpus, pool_from

RECORD_TESTS = """
import json, os, pathlib

import pytest

OUT = pathlib.Path(__file__).parent / "records"
CRASH_ON = os.environ.get("CRASH_ON_GPU")


@pytest.mark.parametrize("k", range(12))
def test_record(k, request):
    wid = request.config.workerinput["workerid"]
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
    OUT.mkdir(exist_ok=True)
    (OUT / f"{wid}-{k}.json").write_text(json.dumps([wid, gpu]))
    marker = OUT.parent / "crashed"
    if CRASH_ON is not None and gpu == CRASH_ON and not marker.exists():
        marker.write_text(wid)
        os._exit(1)
"""


def test_parse_gpus() -> None:
    assert parse_gpus("0, 1,3") == ("0", "1", "3")
    assert parse_gpus("GPU-8d2f") == ("GPU-8d2f",)
    assert parse_gpus("") == () and parse_gpus(None) == ()
    with pytest.raises(ValueError, match="repeat"):
        parse_gpus("0,0")
    with pytest.raises(ValueError, match="neither an index"):
        parse_gpus("0,cuda:1")
    with pytest.raises(pytest.UsageError, match="CUDA_VISIBLE_DEVICES: GPU id 'x'"):
        pool_from(None, {"CUDA_VISIBLE_DEVICES": "x"})
    assert pool_from(None, {"CUDA_VISIBLE_DEVICES": "2,7"}).gpus == ("2", "7")
    assert pool_from("5", {"CUDA_VISIBLE_DEVICES": "2,7"}).gpus == ("5",)


def test_pool_hands_out_free_gpus_and_takes_them_back() -> None:
    pool = GpuPool(("0", "1"))
    assert pool.acquire("gw0") == "0" and pool.acquire("gw1") == "1"
    assert pool.acquire("gw1") == "1"  # asking twice does not take a second GPU
    assert pool.release("gw0") == "0" and pool.release("gw0") is None
    assert pool.acquire("gw2") == "0"  # the replacement gets the free GPU, whatever its id
    assert pool.acquire("gw3") == "0" and pool.load("0") == 2  # more workers than GPUs: share
    assert pool.acquire("gw4") == "1"
    with pytest.raises(LookupError):
        GpuPool(()).acquire("gw0")


def _records(pytester: pytest.Pytester) -> dict[str, set[str | None]]:
    by_worker: dict[str, set[str | None]] = {}
    for path in (pytester.path / "records").glob("*.json"):
        wid, gpu = json.loads(path.read_text())
        by_worker.setdefault(wid, set()).add(gpu)
    return by_worker


WORKER_CONFTEST = """
import json, os, pathlib

# At import time, before any plugin hook of the worker ran: what a conftest that imports torch
# here would see.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    _OUT = pathlib.Path(__file__).parent / "imported"
    _OUT.mkdir(exist_ok=True)
    (_OUT / _WORKER).write_text(json.dumps(os.environ.get("CUDA_VISIBLE_DEVICES")))


def pytest_sessionstart(session):
    workerinput = getattr(session.config, "workerinput", None)
    if workerinput is not None:
        out = pathlib.Path(__file__).parent / "workers"
        out.mkdir(exist_ok=True)
        gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
        (out / workerinput["workerid"]).write_text(json.dumps(gpu))
"""


@pytest.fixture
def recorder(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_records=RECORD_TESTS)
    pytester.makeconftest(WORKER_CONFTEST)
    return pytester


def _workers(pytester: pytest.Pytester, when: str = "workers") -> dict[str, str | None]:
    """The GPU each worker process saw when its session started (``"imported"``: when its
    conftest was imported)."""
    return {p.name: json.loads(p.read_text()) for p in (pytester.path / when).iterdir()}


def test_n_auto_starts_one_worker_per_gpu_each_pinned(recorder: pytest.Pytester) -> None:
    result = recorder.runpytest_subprocess(
        "--model", "reference", "-p", "xdist", "-n", "auto", "--gpus", "3,5"
    )
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*created: 2/2 workers*"])
    assert _workers(recorder) == {"gw0": "3", "gw1": "5"}
    assert _workers(recorder, "imported") == {"gw0": "3", "gw1": "5"}
    assert _records(recorder) == {"gw0": {"3"}, "gw1": {"5"}}


def test_crashed_worker_is_replaced_on_the_freed_gpu(
    recorder: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRASH_ON_GPU", "5")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # the pool comes from the environment
    result = recorder.runpytest_subprocess("--model", "reference", "-p", "xdist", "-n", "2")
    result.stdout.fnmatch_lines(["*replacing crashed worker gw1*"])
    seen = _records(recorder)
    crashed = (recorder.path / "crashed").read_text()
    assert crashed == "gw1" and seen["gw1"] == {"5"} and seen["gw0"] == {"3"}
    # The replacement has a new id; it gets the GPU the crash freed (arithmetic on the id,
    # 2 % 2 -> "3", would have put two workers on GPU 3).
    assert _workers(recorder) == {"gw0": "3", "gw1": "5", "gw2": "5"}
    assert _workers(recorder, "imported") == {"gw0": "3", "gw1": "5", "gw2": "5"}
    result.stdout.fnmatch_lines(["*FAILED test_records.py::test_record*worker 'gw1' crashed*"])


def test_manual_tx_pin_is_kept(recorder: pytest.Pytester) -> None:
    result = recorder.runpytest_subprocess(
        "--model",
        "reference",
        "-p",
        "xdist",
        "--gpus",
        "3,5",
        "--tx",
        "popen//env:CUDA_VISIBLE_DEVICES=7",
        "--tx",
        "popen//env:CUDA_VISIBLE_DEVICES=8",
        "--dist",
        "load",
    )
    result.assert_outcomes(passed=12)
    assert _records(recorder) == {"gw0": {"7"}, "gw1": {"8"}}


def test_bad_gpu_ids_are_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--model", "reference", "-p", "xdist", "--gpus", "0,0")
    result.stderr.fnmatch_lines(["*--gpus: GPU ids repeat: '0,0'*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_each_worker_has_its_gpu_in_the_environment_at_import_time(
    recorder: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    result = recorder.runpytest_subprocess(
        "--model", "reference", "-p", "xdist", "-n", "2", "--gpus", "0,1"
    )
    result.assert_outcomes(passed=12)
    # Set by execnet from the spec's env before the worker imported its first conftest, so
    # a conftest or plugin importing torch already sees one GPU.
    assert _workers(recorder, "imported") == {"gw0": "0", "gw1": "1"}
    assert _workers(recorder) == {"gw0": "0", "gw1": "1"}
    assert _records(recorder) == {"gw0": {"0"}, "gw1": {"1"}}


SMI_OUTPUT = """\
GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0a1b2c3d-1111-2222-3333-444455556666)
GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-9f8e7d6c-1111-2222-3333-444455556666)
  MIG 3g.40gb     Device  0: (UUID: MIG-aaaa1111-2222-3333-4444-555566667777)
  MIG 3g.40gb     Device  1: (UUID: MIG-bbbb1111-2222-3333-4444-555566667777)
GPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-1234abcd-1111-2222-3333-444455556666)
"""


def test_nvidia_smi_listing_is_parsed() -> None:
    from pytest_ureason.run.gpus import parse_smi_list

    assert parse_smi_list(SMI_OUTPUT) == (
        "0",
        "MIG-aaaa1111-2222-3333-4444-555566667777",
        "MIG-bbbb1111-2222-3333-4444-555566667777",
        "2",
    )
    assert parse_smi_list("") == () and parse_smi_list("No devices were found") == ()


def _fake_smi(folder: Path, output: str, code: int = 0) -> Path:
    """An ``nvidia-smi`` stand-in (no driver here) that prints a real listing for ``-L``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "listing.txt").write_text(output)
    smi = folder / "nvidia-smi"
    smi.write_text(
        f'#!/bin/sh\n[ "$1" = "-L" ] || exit 9\ncat "{folder}/listing.txt"\nexit {code}\n'
    )
    smi.chmod(0o755)
    return folder


def test_pool_falls_back_to_nvidia_smi_then_to_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    two = "GPU 0: NVIDIA H100 (UUID: GPU-a)\nGPU 1: NVIDIA H100 (UUID: GPU-b)\n"
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", f"{_fake_smi(tmp_path / 'smi', two)}{os.pathsep}{path}")
    assert pool_from(None, {}).gpus == ("0", "1")
    assert pool_from(None, {"CUDA_VISIBLE_DEVICES": ""}).gpus == ()  # set but empty: none
    assert pool_from("3", {}).gpus == ("3",)
    monkeypatch.setenv("PATH", f"{_fake_smi(tmp_path / 'broken', two, 6)}{os.pathsep}{path}")
    assert pool_from(None, {}).gpus == ()  # nvidia-smi failed: no pool
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert pool_from(None, {}).gpus == ()  # no nvidia-smi: no pool (CPU)


def test_n_auto_sizes_to_the_gpus_nvidia_smi_lists(
    recorder: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    listing = "GPU 0: NVIDIA H100 (UUID: GPU-a)\nGPU 1: NVIDIA H100 (UUID: GPU-b)\n"
    smi = _fake_smi(tmp_path / "smi", listing)
    monkeypatch.setenv("PATH", f"{smi}{os.pathsep}{os.environ['PATH']}")
    result = recorder.runpytest_subprocess("--model", "reference", "-p", "xdist", "-n", "auto")
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*created: 2/2 workers*"])
    assert _workers(recorder, "imported") == {"gw0": "0", "gw1": "1"}


def test_without_nvidia_smi_workers_run_unpinned(
    recorder: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import sys

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    # A PATH with python but no nvidia-smi.
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    result = recorder.runpytest_subprocess("--model", "reference", "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=12)
    assert _workers(recorder, "imported") == {"gw0": None, "gw1": None}
