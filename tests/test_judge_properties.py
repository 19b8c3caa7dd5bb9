"""Hypothesis properties of the judges: random rendered scenes are judged correctly by the
classical detector, and assertions are monotone and consistent where logic says they must be."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ureason.judge.assertions import (
    ColorParams,
    CountParams,
    ObjectParams,
    Observation,
    RelationParams,
    evaluate,
)
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene
from pytest_ureason.scene.render import render_scene

NAMES = [o.name for o in vocabulary.objects()]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenes(draw: st.DrawFn) -> Scene:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    groups = [
        Group(n, draw(st.integers(1, 6)), draw(st.sampled_from(vocabulary.COLOR_NAMES)))
        for n in names
    ]
    scene = Scene(groups=groups)
    if len(groups) >= 2 and draw(st.booleans()):
        scene.relation = (0, draw(st.sampled_from(["left of", "right of", "above", "below"])), 1)
    return scene


def _count(obs: Observation, name: str, op: str, n: int) -> bool:
    return evaluate("count", CountParams(object=name, op=op, value=n), obs).passed  # type: ignore[arg-type]


@SETTINGS
@given(scene=scenes(), seed=st.integers(0, 10_000), size=st.sampled_from([256, 320, 384]))
def test_random_scenes_are_judged_correctly(scene: Scene, seed: int, size: int) -> None:
    obs = Observation(render_scene(scene, seed=seed, size=size))
    for g in scene.groups:
        assert _count(obs, g.name, "==", g.count), (g, obs.detections)
        assert evaluate("color", ColorParams(object=g.name, color=g.color or ""), obs).passed
        assert evaluate("present", ObjectParams(object=g.name), obs).passed
    missing = next(n for n in NAMES if scene.group(n) is None)
    assert evaluate("absent", ObjectParams(object=missing), obs).passed
    if scene.relation is not None:
        a, rel, b = scene.relation
        subject, obj = scene.groups[a].name, scene.groups[b].name
        params = RelationParams(subject=subject, relation=rel, object=obj)
        assert evaluate("relation", params, obs).passed


@SETTINGS
@given(scene=scenes(), seed=st.integers(0, 10_000), n=st.integers(0, 8))
def test_counts_are_monotone(scene: Scene, seed: int, n: int) -> None:
    obs = Observation(render_scene(scene, seed=seed, size=256))
    for name in [g.name for g in scene.groups] + ["apple"]:
        if _count(obs, name, ">=", n) and n > 0:
            assert _count(obs, name, ">=", n - 1)
        if _count(obs, name, "<=", n):
            assert _count(obs, name, "<=", n + 1)
        if _count(obs, name, "==", n):
            assert _count(obs, name, ">=", n) and _count(obs, name, "<=", n)
            assert not _count(obs, name, ">", n) and not _count(obs, name, "<", n)
        present = evaluate("present", ObjectParams(object=name), obs).passed
        absent = evaluate("absent", ObjectParams(object=name), obs).passed
        assert present != absent
        assert present == _count(obs, name, ">=", 1)


@SETTINGS
@given(scene=scenes(), seed=st.integers(0, 10_000))
def test_relations_are_antisymmetric(scene: Scene, seed: int) -> None:
    if len(scene.groups) < 2:
        return
    obs = Observation(render_scene(scene, seed=seed, size=256))
    a, b = scene.groups[0].name, scene.groups[1].name
    for rel, opposite in (("left of", "right of"), ("above", "below")):
        ab = evaluate("relation", RelationParams(subject=a, relation=rel, object=b), obs).passed
        ba = evaluate("relation", RelationParams(subject=b, relation=rel, object=a), obs).passed
        flip = RelationParams(subject=a, relation=opposite, object=b)  # type: ignore[arg-type]
        assert not (ab and ba)
        assert not (ab and evaluate("relation", flip, obs).passed)
