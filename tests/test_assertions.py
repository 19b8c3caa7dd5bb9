"""Assertions and the fluent API on rendered images, with the real detector and OCR."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason import ExpectError, expect
from pytest_ureason.judge.assertions import (
    CountParams,
    Observation,
    TextParams,
    edit_distance,
    evaluate,
    substring_distance,
)
from pytest_ureason.judge.detect.ocr import OcrUnavailable, TesseractBackend, get_ocr
from pytest_ureason.scene.grammar import parse_scene
from pytest_ureason.scene.render import render_scene


@pytest.fixture(scope="module")
def apples() -> Observation:
    return Observation(
        render_scene(
            parse_scene(
                "A picture of 3 red apples to the left of 2 blue cups. "
                'A sign that reads "DESSERTS 51".'
            )
        )
    )


def test_count_messages(apples: Observation) -> None:
    ok = evaluate("count", CountParams(object="apple", op="==", value=3), apples)
    assert ok.passed and ok.reason == "expected apple == 3, found 3"
    bad = evaluate("count", CountParams(object="apple", op="==", value=4), apples)
    assert not bad.passed
    assert bad.reason.startswith("expected apple == 4, found 3 (boxes: [[")
    assert bad.evidence["found"] == 3 and len(bad.evidence["boxes"]) == 3
    assert bad.detector == "classical"


@pytest.mark.parametrize(
    ("op", "value", "passed"),
    [
        (">=", 3, True),
        (">=", 4, False),
        ("<=", 3, True),
        ("<=", 2, False),
        (">", 2, True),
        ("<", 3, False),
    ],
)
def test_count_operators(apples: Observation, op: str, value: int, passed: bool) -> None:
    params = CountParams(object="apple", op=op, value=value)  # type: ignore[arg-type]
    assert evaluate("count", params, apples).passed is passed


def test_other_assertions(apples: Observation) -> None:
    e = expect(apples.image)
    e.present("cup")
    e.absent("dog")
    e.color("cup", "blue")
    e.relation("apple", "left of", "cup")
    e.count("cup") == 2
    e.count("cup") >= 1
    e.count("cup") != 3
    with pytest.raises(AssertionError, match=r"expected red cup, found blue, blue"):
        e.color("cup", "red")
    with pytest.raises(AssertionError, match=r"expected cup left of apple, found cup at"):
        e.relation("cup", "left of", "apple")
    with pytest.raises(AssertionError, match=r"expected apple absent, found 3"):
        e.absent("apple")
    with pytest.raises(AssertionError, match=r"expected dog present, found 0"):
        e.present("dog")
    with pytest.raises(AssertionError, match=r"expected cup == 5, found 2"):
        e.count("cup") == 5


def test_text_with_real_ocr(apples: Observation) -> None:
    e = expect(apples.image)
    verdict = e.text(contains="desserts")
    assert verdict.detector == "rapidocr" and "DESSERTS" in verdict.evidence["ocr"]
    e.text(contains="51")
    e.text(equals="desserts 51")
    e.text(contains="DESERTS", tolerance=1)
    with pytest.raises(AssertionError, match=r"expected text containing 'STRESSED', OCR read"):
        e.text(contains="STRESSED")
    with pytest.raises(AssertionError, match="edit distance 1"):
        e.text(contains="DESERTS")


def test_fluent_api_rejects_bad_arguments(apples: Observation) -> None:
    e = expect(apples.image)
    with pytest.raises(ExpectError, match="unknown object 'aple'"):
        e.count("aple")
    with pytest.raises(ExpectError, match="unknown color 'plaid'"):
        e.color("apple", "plaid")
    with pytest.raises(ExpectError, match="relation"):
        e.relation("apple", "inside", "cup")
    with pytest.raises(ExpectError, match="give exactly one of"):
        e.text()
    with pytest.raises(ExpectError, match="unknown assertion 'glow'"):
        e.check("glow")


def test_text_params_need_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TextParams(contains="a", equals="b")


@given(st.text(max_size=12), st.text(max_size=12))
@settings(max_examples=200, deadline=None)
def test_distances(a: str, b: str) -> None:
    assert edit_distance(a, b) == edit_distance(b, a)
    assert substring_distance(a, b) <= edit_distance(a, b)
    assert substring_distance(a, b + a + b) == 0
    assert edit_distance(a, a) == 0


@given(n=st.integers(0, 6), k=st.integers(0, 7))
@settings(max_examples=25, deadline=None)
def test_count_is_monotone(n: int, k: int) -> None:
    obs = Observation(render_scene(parse_scene(f"{n} green books")))
    ge = evaluate("count", CountParams(object="book", op=">=", value=k), obs).passed
    assert ge == (n >= k)
    if ge and k > 0:
        assert evaluate("count", CountParams(object="book", op=">=", value=k - 1), obs).passed


@pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="needs Debian's tesseract-ocr (.ci/run installs it)"
)
def test_tesseract_backend_reads_a_sign(apples: Observation) -> None:
    verdict = expect(apples.image, ocr="tesseract").text(contains="DESSERTS")
    assert verdict.detector == "tesseract"
    assert verdict.evidence["lines"] and verdict.evidence["lines"][0][2] > 0.5


def test_missing_ocr_backend_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr"):
        TesseractBackend()
    with pytest.raises(OcrUnavailable, match="unknown OCR backend 'paddle'"):
        get_ocr("paddle")
