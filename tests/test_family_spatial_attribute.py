"""The spatial and attribute families: generators, solvers and shipped suites."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ureason.collect.generators import expand
from pytest_ureason.collect.loader import load_suite
from pytest_ureason.collect.schema import Instance
from pytest_ureason.judge.assertions import Observation, evaluate
from pytest_ureason.reference.solvers import attribute, spatial
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import parse_scene
from pytest_ureason.scene.render import render_scene

SUITES = Path(__file__).resolve().parent.parent / "suites" / "ureason"
FAMILIES = {"spatial": spatial.solve, "attribute": attribute.solve}
PREFIX = {"spatial": "spatial", "attribute": "attr"}


@cache
def _suite(family: str) -> tuple[Instance, ...]:
    suite = load_suite(SUITES / f"{family}.yaml")
    assert not suite.errors, [str(e) for e in suite.errors]
    return tuple(suite.instances)


def _passes(text: str, instance: Instance) -> bool:
    """Whether drawing ``text`` in the scene grammar passes every assertion of ``instance``."""
    obs = Observation(render_scene(parse_scene(text), seed=0))
    return all(evaluate(s.name, s.params, obs).passed for s in instance.expect)


def _params() -> list[Any]:
    return [
        pytest.param(family, instance, id=instance.id)
        for family in FAMILIES
        for instance in _suite(family)
    ]


# --- generators ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generator_is_deterministic_and_seed_sensitive(family: str) -> None:
    first, again = expand(family, 30, 5), expand(family, 30, 5)
    assert first == again
    other = expand(family, 30, 6)
    assert [d["prompt"] for d in first] != [d["prompt"] for d in other]
    assert len({d["prompt"] for d in first} & {d["prompt"] for d in other}) < 5


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generator_prompts_are_distinct_and_well_formed(family: str) -> None:
    produced = expand(family, 200, 11)
    assert len(produced) == 200
    assert len({d["prompt"] for d in produced}) == 200
    for k, d in enumerate(produced):
        assert d["id"] == f"{PREFIX[family]}-g11-{k:04d}"
        assert d["task"] == family and d["refined"] and d["expect"]
        assert "generated" in d["tags"]


def _initial_order(prompt: str) -> list[str]:
    """Reading order (left/top first) of the arrangement in a spatial prompt's first sentence."""
    first = prompt.split(". ")[0].replace(";", " ")
    first = re.sub(rf"\b(?:{'|'.join(vocabulary.COLOR_NAMES)})\s+", "", first)  # "an orange star"
    names = [vocabulary.canonical_object(m) for m in vocabulary.object_pattern().findall(first)]
    return names[::-1] if re.search(r"right to left|bottom to top", first) else names


def test_spatial_generator_is_leak_proof() -> None:
    for d in expand("spatial", 150, 3):
        final = [g.name for g in parse_scene(d["refined"]).groups]
        initial = _initial_order(d["prompt"])
        assert sorted(final) == sorted(initial), d["prompt"]
        assert final != initial, d["prompt"]


def test_attribute_generator_is_leak_proof() -> None:
    for d in expand("attribute", 150, 3):
        words = set(re.findall(r"[a-z]+", d["prompt"].lower()))
        for entry in d["expect"]:
            if "color" in entry:
                color, name = entry["color"]["color"], entry["color"]["object"]
                aliases = {"gray": {"grey"}, "purple": {"violet"}}.get(color, set())
                assert not words & {color, *aliases}, d["prompt"]
                obj = vocabulary.lookup_object(name)
                assert obj is not None and obj.default_color != color, d["prompt"]
            if "absent" in entry:
                rejected = vocabulary.lookup_object(entry["absent"]["object"])
                assert rejected is not None and rejected.name in d["prompt"], d["prompt"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_literal_drawing_of_generated_prompts_fails(family: str, tmp_path: Path) -> None:
    path = tmp_path / f"{family}.yaml"
    path.write_text(
        f"task: {family}\ninstances:\n  - {{generator: {family}, count: 60, seed: 9}}\n"
    )
    suite = load_suite(path)
    assert not suite.errors and len(suite.instances) == 60
    for instance in suite.instances:
        assert not _passes(instance.prompt, instance), instance.prompt


# --- shipped suites -------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_suite_shape(family: str) -> None:
    instances = _suite(family)
    assert len(instances) >= 52
    written = [i for i in instances if "handwritten" in i.tags]
    assert len(written) >= 12
    assert [i.id for i in written] == [
        f"{PREFIX[family]}-{k:03d}" for k in range(1, 1 + len(written))
    ]
    assert all(i.refined and i.expect and i.task == family for i in instances)


@pytest.mark.parametrize(("family", "instance"), _params())
def test_gold_refined_prompt_passes(family: str, instance: Instance) -> None:
    assert instance.refined is not None
    assert _passes(instance.refined, instance)


@pytest.mark.parametrize(("family", "instance"), _params())
def test_solver_passes(family: str, instance: Instance) -> None:
    solution = FAMILIES[family](instance.prompt)
    assert solution is not None, instance.prompt
    assert solution.family == family and solution.steps
    assert _passes(solution.refined, instance), (instance.prompt, solution)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_literal_direct_drawing_fails_most_instances(family: str) -> None:
    instances = _suite(family)
    failed = sum(not _passes(i.prompt, i) for i in instances)
    assert failed / len(instances) >= 0.8


# --- solvers --------------------------------------------------------------------------------

OTHER_FAMILIES = [
    "Draw as many apples as 3 + 4.",
    "Draw a number of stars equal to the result of 12 divided by 4.",
    'Draw a sign that reads the word "stressed" spelled backwards.',
    "Draw as many cats as this program prints: print(len('abc') * 2)",
    "A picture of 3 red apples to the left of a blue cup.",
]


@pytest.mark.parametrize("prompt", OTHER_FAMILIES)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_solvers_ignore_other_families(family: str, prompt: str) -> None:
    assert FAMILIES[family](prompt) is None


def test_spatial_and_attribute_ignore_each_other() -> None:
    for instance in _suite("attribute"):
        assert spatial.solve(instance.prompt) is None, instance.prompt
    for instance in _suite("spatial"):
        assert attribute.solve(instance.prompt) is None, instance.prompt


@pytest.mark.parametrize("other", ["arithmetic", "code", "text"])
def test_solvers_ignore_other_shipped_suites(other: str) -> None:
    path = SUITES / f"{other}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not there yet")
    for instance in load_suite(path).instances:
        for solve in FAMILIES.values():
            assert solve(instance.prompt) is None, (instance.id, instance.prompt)


def _final(prompt: str) -> tuple[str | None, list[str]]:
    solution = spatial.solve(prompt)
    assert solution is not None, prompt
    scene = parse_scene(solution.refined)
    return scene.order, [g.name for g in scene.groups]


@pytest.mark.parametrize(
    ("operation", "order", "names"),
    [
        ("Rotate it 90 degrees clockwise.", "column", ["cat", "dog", "bird"]),
        ("Rotate it 90 degrees counterclockwise.", "column", ["bird", "dog", "cat"]),
        ("Rotate it 180 degrees.", "row", ["bird", "dog", "cat"]),
        (
            "Rotate it 90 degrees clockwise, then rotate it 90 degrees clockwise again.",
            "row",
            ["bird", "dog", "cat"],
        ),
        ("Rotate the row by ninety degrees to the right.", "column", ["cat", "dog", "bird"]),
        ("Move the cat one place to the right.", "row", ["dog", "cat", "bird"]),
        ("The dog moves to the leftmost position.", "row", ["dog", "cat", "bird"]),
        ("Swap the first two objects, counting from the right.", "row", ["cat", "bird", "dog"]),
        ("Swap the middle object and the last object.", "row", ["cat", "bird", "dog"]),
    ],
)
def test_spatial_operations(operation: str, order: str, names: list[str]) -> None:
    assert _final(f"From left to right: a cat, a dog, a bird. {operation}") == (order, names)


def test_spatial_column_rotations() -> None:
    column = "A column from top to bottom: a cat, a dog, a bird."
    assert _final(f"{column} Turn it a quarter turn clockwise.") == ("row", ["bird", "dog", "cat"])
    assert _final(f"{column} Turn it a quarter turn anticlockwise.") == (
        "row",
        ["cat", "dog", "bird"],
    )


@pytest.mark.parametrize(
    "prompt",
    [
        "From left to right: a cat, a dog, a bird. Rotate it 90 degrees.",
        "From left to right: a cat, a dog, a bird. Swap the cat and the horse.",
        "From left to right: a cat, a dog, a bird. Move the cat to the very top.",
        "From left to right: a cat, a dog, a bird. Draw them.",
        "From left to right: a cat, a cat, a bird. Swap the first and the last.",
    ],
)
def test_spatial_gives_up_on_unreadable_operations(prompt: str) -> None:
    assert spatial.solve(prompt) is None


@pytest.mark.parametrize(
    ("prompt", "refined"),
    [
        ("Add white paint to red paint and draw a car with it.", "A picture of a pink car."),
        ("Draw a car painted like coal.", "A picture of a black car."),
        ("Draw three bananas the color of a ripe tomato.", "A picture of 3 red bananas."),
        ("Draw the one that is a vegetable: a carrot, a lamp or a cow.", "A picture of a carrot."),
        ("Draw the smallest animal among a cat, an elephant and a mouse.", "A picture of a mouse."),
    ],
)
def test_attribute_phrasings(prompt: str, refined: str) -> None:
    solution = attribute.solve(prompt)
    assert solution is not None and solution.refined == refined


@pytest.mark.parametrize(
    "prompt",
    [
        "Draw the largest animal among a horse, a cow and a cat.",  # horse and cow tie
        "Draw a car in the color you get by mixing green and pink paint.",  # unknown mix
        "Draw the fruit among an apple, a banana and a chair.",  # two fruits
        "Draw a car in the color of a mystery.",  # unknown thing
    ],
)
def test_attribute_gives_up_when_unresolved(prompt: str) -> None:
    assert attribute.solve(prompt) is None


# --- robustness -----------------------------------------------------------------------------

_WORDS = [
    "a",
    "the",
    "cat",
    "dog",
    "red",
    "blue",
    "from",
    "left to right",
    "top to bottom",
    "swap",
    "move",
    "rotate",
    "90 degrees",
    "clockwise",
    "counterclockwise",
    "180",
    "far left",
    "first",
    "last",
    "middle",
    "reverse",
    "one place to the right",
    "mix",
    "color of",
    "largest",
    "fruit",
    "among",
    "banana",
    "snow",
    ",",
    ".",
    "and",
    "then",
    "counting from the right",
    "on the left",
    "in the middle",
    "at the top",
    "3",
    "elephant",
    "teddy bear",
    "the red one",
    "at the ends",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.text(max_size=300), st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join))
)
def test_solvers_never_raise(text: str) -> None:
    for solve in FAMILIES.values():
        found = solve(text)
        assert found is None or found.refined
