"""One GPU per xdist worker: the pool, the pin each worker sees, crash replacement, -n auto.

These run real xdist workers on the CPU: each worker only records the CUDA_VISIBLE_DEVICES it
was given (no GPU is touched). The pool was not exercised on GPUs in this repository's CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ureason.gpus import GpuPool, parse_gpus, pool_from

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


def _workers(pytester: pytest.Pytester) -> dict[str, str | None]:
    """The GPU each worker process saw when its session started."""
    return {p.name: json.loads(p.read_text()) for p in (pytester.path / "workers").iterdir()}


def test_n_auto_starts_one_worker_per_gpu_each_pinned(recorder: pytest.Pytester) -> None:
    result = recorder.runpytest_subprocess(
        "--model", "reference", "-p", "xdist", "-n", "auto", "--gpus", "3,5"
    )
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*created: 2/2 workers*"])
    assert _workers(recorder) == {"gw0": "3", "gw1": "5"}
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
