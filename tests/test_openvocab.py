"""Open-vocabulary detectors (OWLv2, Grounding DINO) through transformers: the real loading,
batching, device placement and output parsing code, on tiny random-weight checkpoints saved
like real ones. Their verdicts mean nothing; the code paths are what is tested."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytest_ureason.detect import (
    THRESHOLDS,
    DetectorUnavailable,
    load_detector,
    resolve_detector,
)
from pytest_ureason.detect.openvocab import find_weights, label_of_phrase, nms
from pytest_ureason.render import render_scene
from pytest_ureason.scene import parse_scene
from tests.conftest import write

pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pytest_ureason.detect.tiny import save_detector

    root = tmp_path_factory.mktemp("tiny-detectors")
    return {name: save_detector(name, root / name) for name in ("owlv2", "grounding-dino")}


def _images() -> list[Image.Image]:
    return [
        render_scene(parse_scene("3 red apples and a blue cup"), seed=1, size=160),
        render_scene(parse_scene("2 green books"), seed=2, size=120).resize((150, 110)),
        render_scene(parse_scene("a cup"), seed=3, size=160),
        Image.new("RGB", (90, 130), (250, 250, 250)),
    ]


@pytest.mark.parametrize("name", ["owlv2", "grounding-dino"])
def test_tiny_detector_loads_batches_and_parses(name: str, tiny_weights: dict[str, Path]) -> None:
    det = load_detector(name, str(tiny_weights[name]), "cpu")
    assert det.name == name and det.open_vocabulary
    assert next(det.model.parameters()).device.type == "cpu"  # type: ignore[attr-defined]
    det.batch_size = 1  # type: ignore[attr-defined]  # one pass per image...
    single = det.detect(_images(), ["apple", "cup"])
    det.batch_size = 8  # type: ignore[attr-defined]  # ...or the 160 px pair in one pass
    images = _images()
    labels = ["apple", "cup"]
    out = det.detect(images, labels)
    assert len(out) == len(images)
    floor = min(THRESHOLDS[name].values())
    for image, found in zip(images, out, strict=True):
        for d in found:
            assert d.label in labels
            assert 0 <= d.box[0] < d.box[2] < image.width
            assert 0 <= d.box[1] < d.box[3] < image.height
            assert d.score >= floor
            assert d.color in {"red", "orange", "yellow", "green", "blue", "purple", "pink",
                               "brown", "black", "white", "gray"}  # fmt: skip
    # The batched and single-image paths agree.
    for a, b in zip(single, out, strict=True):
        assert [(d.label, d.box) for d in a] == [(d.label, d.box) for d in b]
    assert det.detect(images, []) == [[], [], [], []]


def test_version_changes_with_the_weights(tiny_weights: dict[str, Path], tmp_path: Path) -> None:
    from pytest_ureason.detect.tiny import save_detector

    a = load_detector("owlv2", str(tiny_weights["owlv2"]), "cpu")
    other = save_detector("owlv2", tmp_path / "other")
    (other / "extra.txt").write_text("changes the folder")
    b = load_detector("owlv2", str(other), "cpu")
    assert a.version != b.version and a.version.startswith("owlv2-")


def test_missing_or_wrong_weights_are_clear(tiny_weights: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailable, match="holds no owlv2 model"):
        load_detector("owlv2", str(tmp_path), "cpu")
    # A Grounding DINO folder is not OWLv2 weights.
    assert find_weights("owlv2", str(tiny_weights["grounding-dino"])) is None
    with pytest.raises(ValueError, match="unknown object detector"):
        load_detector("yolo")


def test_auto_picks_what_it_finds(tiny_weights: dict[str, Path], tmp_path: Path) -> None:
    assert resolve_detector("auto", str(tiny_weights["owlv2"]))[0] == "owlv2"
    assert resolve_detector("auto", str(tiny_weights["grounding-dino"]))[0] == "grounding-dino"
    name, why = resolve_detector("auto", str(tmp_path))
    assert name == "classical" and "no open-vocabulary detector weights" in why
    assert resolve_detector("classical", str(tiny_weights["owlv2"]))[0] == "classical"


def test_nms_merges_overlaps_and_keeps_the_best() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5]], float)
    scores = np.array([0.5, 0.9, 0.7, 0.2])
    assert nms(boxes, scores, 0.5) == [1, 2]
    assert sorted(nms(boxes, scores, 0.99)) == [0, 1, 2, 3]


def test_grounding_dino_phrases_map_to_labels() -> None:
    labels = ["hot dog", "dog", "cup"]
    assert label_of_phrase("hot dog", labels) == "hot dog"
    assert label_of_phrase("a dog .", labels) == "dog"
    assert label_of_phrase("cup dog", labels) in ("cup", "dog")
    assert label_of_phrase("table", labels) is None


SUITE = """\
suite: demo/openvocab
{header}task: counting
instances:
  - id: apples
    prompt: Draw 3 red apples.
    refined: A picture of 3 red apples.
    expect:
      - count: {{object: apple, op: ">=", value: 0}}
      - present: {{object: cup}}
"""


def test_plugin_runs_an_open_vocabulary_detector(
    pytester: pytest.Pytester, tiny_weights: dict[str, Path]
) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(pytester.path / "suites" / "ov.yaml", SUITE.format(header=""))
    junit = pytester.path / "out.xml"
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct",
        "--detector-path", str(tiny_weights["owlv2"]), "--detector-device", "cpu",
        f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.stdout.fnmatch_lines(["*ureason judges: detector owlv2 (auto: owlv2 weights found*"])
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert props["ureason_detectors"] == "owlv2"
    verdicts = json.loads(props["ureason_verdicts"])
    assert verdicts[0]["passed"] is True  # >= 0 holds whatever random weights find
    assert verdicts[0]["evidence"]["threshold"] == THRESHOLDS["owlv2"]["count"]
    assert all(s >= THRESHOLDS["owlv2"]["count"] for s in verdicts[0]["evidence"]["scores"])
    # Evidence is stored per label and detector version: a rerun reads it back.
    evidence = [p.name for p in (pytester.path / ".store" / "evidence").rglob("*.json")]
    assert any(".apple.json" in n for n in evidence) and any(".cup.json" in n for n in evidence)


def test_a_suite_requiring_a_missing_detector_is_skipped(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(pytester.path / "suites" / "ov.yaml", SUITE.format(header="detector: owlv2\n"))
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", "-rs",
        "--detector-path", str(tmp_path), "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*detector 'owlv2' has no weights*--detector-path*"])
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", "-rs",
        "--detector", "classical", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*requires detector 'owlv2'; this run uses --detector classical*"])


def test_bad_threshold_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    result = pytester.runpytest("--detector-threshold", "count=2", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*--detector-threshold count must be a number in 0..1*"])
    result = pytester.runpytest("--detector-threshold", "size=0.2", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*--detector-threshold size: unknown assertion type*"])
