"""Nothing read back from the store is trusted: a stored image that does not decode, or does
not have its size, and a cached detector output of the wrong shape are cache misses, made
again once and counted in the summary (also under xdist)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ARITH_SUITE, write

SHRINKING_ADAPTER = """\
import os
from pytest_ureason import register_model
from pytest_ureason.reference.model import ReferenceModel


@register_model("shrinking")
def make(path, options):
    return Shrinking()


class Shrinking(ReferenceModel):
    name = "shrinking"

    def generate(self, prompts, seeds, contexts=None):
        images = super().generate(prompts, seeds, contexts)
        if os.environ.get("UREASON_TEST_SHRINK"):  # not in the store key, on purpose
            images = [im.resize((100, 100)) for im in images]
        return images
"""

ARGS = ["--model", "reference", "--condition", "direct", "-p", "no:randomly"]


@pytest.fixture
def store(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(pytester.path / "suites/a.yaml", ARITH_SUITE)
    return pytester.path / ".store"


def _corrupt(pngs: list[Path]) -> None:
    """Cut one to 0 bytes, one to half, replace one by random bytes (same length)."""
    empty, half, noise = pngs
    empty.write_bytes(b"")
    data = half.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    noise.write_bytes(os.urandom(noise.stat().st_size))


def test_corrupt_stored_images_are_regenerated_once_and_counted(
    pytester: pytest.Pytester, store: Path
) -> None:
    first = pytester.runpytest(*ARGS)
    outcomes = first.parseoutcomes()
    pngs = sorted((store / "images").rglob("*.png"))
    assert len(pngs) == 3
    good = {p: p.read_bytes() for p in pngs}
    _corrupt(pngs)
    again = pytester.runpytest(*ARGS, "--ureason-json=r.json")
    assert again.parseoutcomes() == outcomes  # same verdicts, no PIL traceback
    again.stdout.fnmatch_lines(
        [
            "generation: 3 images made*0 reused*",
            "store: 3 stored images and 0 cached detector/judge outputs failed verification*",
        ]
    )
    assert "Traceback" not in again.stdout.str()
    throughput = json.loads((pytester.path / "r.json").read_text())["throughput"]
    assert throughput["repaired_images"] == 3
    assert {p: p.read_bytes() for p in pngs} == good  # made again, byte for byte
    third = pytester.runpytest(*ARGS)
    third.stdout.fnmatch_lines(["generation: 0 images made*3 reused*"])
    assert "failed verification" not in third.stdout.str()


def test_a_stored_image_of_the_wrong_size_is_regenerated(
    pytester: pytest.Pytester, store: Path
) -> None:
    pytester.runpytest(*ARGS, "-k", "lit").assert_outcomes(passed=1)
    [png] = list((store / "images").rglob("*.png"))
    Image.new("RGB", (100, 100), (238, 236, 228)).save(png)  # decodes, but not as asked
    result = pytester.runpytest(*ARGS, "-k", "lit")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["store: 1 stored images and 0 cached*"])
    with Image.open(png) as img:
        assert img.size == (384, 384)


def test_a_regenerated_image_that_fails_too_errors_naming_the_file(
    pytester: pytest.Pytester, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(SHRINKING_ADAPTER)
    args = ["--model", "shrinking", "--detector", "classical", "--condition", "direct", "-k", "lit"]
    pytester.runpytest(*args).assert_outcomes(passed=1)
    [png] = list((store / "images").rglob("*.png"))
    png.write_bytes(png.read_bytes()[:100])
    monkeypatch.setenv("UREASON_TEST_SHRINK", "1")
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*stored image {png} failed verification: is 100x100, the model was asked for 384x384*"]
    )


def test_repairs_are_counted_across_xdist_workers(pytester: pytest.Pytester, store: Path) -> None:
    pytester.runpytest(*ARGS)
    _corrupt(sorted((store / "images").rglob("*.png")))
    result = pytester.runpytest_subprocess(*ARGS, "-p", "xdist", "-n", "2")
    result.stdout.fnmatch_lines(["store: 3 stored images and 0 cached*"])


def test_cached_detector_outputs_of_the_wrong_shape_are_recomputed(
    pytester: pytest.Pytester, store: Path
) -> None:
    first = pytester.runpytest(*ARGS)
    outcomes = first.parseoutcomes()
    cached = sorted((store / "evidence").rglob("*.json"))
    assert len(cached) == 3
    good = {p: json.loads(p.read_text()) for p in cached}
    shapes: list[object] = [{"foo": 1}, [["apple", [1, 2], 0.9, "red", 1.0]], "apple"]
    for path, shape in zip(cached, shapes, strict=True):
        path.write_text(json.dumps(shape))
    again = pytester.runpytest(*ARGS)
    assert again.parseoutcomes() == outcomes
    again.stdout.fnmatch_lines(
        ["store: 0 stored images and 3 cached detector/judge outputs failed verification*"]
    )
    assert {p: json.loads(p.read_text()) for p in cached} == good  # rewritten
