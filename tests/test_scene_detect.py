"""The renderer and the classical detector: what is drawn comes back exactly."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.judge.assertions import Observation, RelationParams, evaluate
from pytest_ureason.judge.detect.classical import detect
from pytest_ureason.judge.detect.color import name_color, rgb_to_lab
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene, describe, parse_scene
from pytest_ureason.scene.render import badge_bits, decode_bits, render_scene

NAMES = [o.name for o in vocabulary.objects()]


def test_vocabulary_covers_coco_and_codes_fit_the_badge() -> None:
    assert len(NAMES) >= 80 and len(set(NAMES)) == len(NAMES)
    for coco in ("apple", "bench", "hot dog", "traffic light", "hair drier", "toothbrush"):
        assert coco in NAMES[:80]
    assert len(NAMES) <= 256


@pytest.mark.parametrize("code", range(len(NAMES)))
def test_badge_roundtrip_and_single_bit_flips_are_rejected(code: int) -> None:
    bits = badge_bits(code)
    assert decode_bits(bits) == code
    for i in range(16):
        flipped = list(bits)
        flipped[i] ^= 1
        assert decode_bits(flipped) != code


def test_every_object_is_detected_with_its_default_color() -> None:
    for start in range(0, len(NAMES), 9):
        names = NAMES[start : start + 9]
        scene = Scene(groups=[Group(n, 1) for n in names])
        found = detect(render_scene(scene, seed=start))
        assert sorted(d.label for d in found) == sorted(names)
        for det in found:
            assert det.color == vocabulary.lookup_object(det.label).default_color  # type: ignore[union-attr]


def test_palette_names_itself_in_lab() -> None:
    import numpy as np

    for color in vocabulary.PALETTE:
        reading = name_color(np.array([color.rgb] * 5, dtype=np.uint8))
        assert reading.name == color.name and reading.delta_e < 1e-6
    assert rgb_to_lab(np.array([255, 255, 255]))[0] == pytest.approx(100, abs=0.01)


scenes = st.builds(
    lambda picks, counts, colors: Scene(
        groups=[Group(n, c, col) for n, c, col in zip(picks, counts, colors, strict=False)]
    ),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True),
    st.lists(st.integers(0, 7), min_size=4, max_size=4),
    st.lists(st.sampled_from([*vocabulary.COLOR_NAMES, None]), min_size=4, max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(scene=scenes, seed=st.integers(0, 10_000))
def test_random_scenes_are_detected_exactly(scene: Scene, seed: int) -> None:
    found = detect(render_scene(scene, seed=seed))
    assert Counter(d.label for d in found) == Counter(
        {g.name: g.count for g in scene.groups if g.count}
    )
    for group in scene.groups:
        want = group.color or vocabulary.lookup_object(group.name).default_color  # type: ignore[union-attr]
        assert all(d.color == want for d in found if d.label == group.name)


@settings(max_examples=40, deadline=None)
@given(
    pair=st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True),
    counts=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    relation=st.sampled_from(["left of", "right of", "above", "below"]),
    seed=st.integers(0, 1000),
)
def test_relations_are_drawn_and_judged(
    pair: list[str], counts: tuple[int, int], relation: str, seed: int
) -> None:
    a, b = pair
    scene = Scene(groups=[Group(a, counts[0]), Group(b, counts[1])], relation=(0, relation, 1))  # type: ignore[arg-type]
    obs = Observation(render_scene(scene, seed=seed))
    assert evaluate("relation", RelationParams(subject=a, relation=relation, object=b), obs).passed  # type: ignore[arg-type]
    opposite = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    back = RelationParams(subject=a, relation=opposite[relation], object=b)  # type: ignore[arg-type]
    assert not evaluate("relation", back, obs).passed


@settings(max_examples=60, deadline=None)
@given(scene=scenes)
def test_describe_then_parse_is_identity(scene: Scene) -> None:
    again = parse_scene(describe(scene))
    assert [(g.name, g.count, g.color) for g in again.groups] == [
        (g.name, g.count, g.color) for g in scene.groups
    ]


def test_parser_reads_the_grammar() -> None:
    s = parse_scene('Three orange cats to the right of an orange. A sign that reads "OPEN".')
    assert [(g.name, g.count, g.color) for g in s.groups] == [
        ("cat", 3, "orange"),
        ("orange", 1, None),
    ]
    assert s.relation == (0, "right of", 1)
    assert s.texts == ["OPEN"]
    row = parse_scene("From right to left: a cup, a book, a clock.")
    assert row.order == "row" and [g.name for g in row.groups] == ["clock", "book", "cup"]
    assert parse_scene("an empty table with no candles").group("candle").count == 0  # type: ignore[union-attr]
    assert parse_scene("Tom's 2 apples and Mia's cup").group("apple").count == 2  # type: ignore[union-attr]


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_parser_never_raises(text: str) -> None:
    scene = parse_scene(text)
    assert sum(g.count for g in scene.groups) <= 36
