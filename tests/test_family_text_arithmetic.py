"""The text and arithmetic families: generators, shipped suites, solvers and the literal baseline.

Every instance of ``suites/ureason/text.yaml`` and ``suites/ureason/arithmetic.yaml`` is drawn
three ways with the reference renderer: from its gold refined prompt and from the solver's
refined prompt (both must pass every assertion), and literally from the raw prompt (which must
fail at least 80% of the time: that gap is what the benchmark measures).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ureason.collect.generators import arithmetic as arithmetic_generator
from pytest_ureason.collect.generators import expand
from pytest_ureason.collect.generators import text as text_generator
from pytest_ureason.collect.loader import load_suite
from pytest_ureason.collect.schema import Instance, Suite
from pytest_ureason.judge.assertions import Observation, evaluate, substring_distance
from pytest_ureason.reference.solvers import Solution
from pytest_ureason.reference.solvers import arithmetic as arithmetic_solver
from pytest_ureason.reference.solvers import text as text_solver
from pytest_ureason.scene.grammar import NUMBER_WORDS, Group, describe, parse_scene
from pytest_ureason.scene.render import render_scene

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {"text": "text", "arithmetic": "arith"}  # family -> id prefix
SOLVERS = {"text": text_solver.solve, "arithmetic": arithmetic_solver.solve}


@cache
def suite(family: str) -> Suite:
    return load_suite(ROOT / "suites" / "ureason" / f"{family}.yaml")


def cases() -> list[Any]:
    return [
        pytest.param(family, inst, id=inst.id)
        for family in FAMILIES
        for inst in suite(family).instances
    ]


_OBSERVED: dict[str, Observation] = {}


def observe(text: str) -> Observation:
    """The reference drawing of a scene text, judged once per distinct scene (OCR is slow)."""
    scene = parse_scene(text)
    key = describe(scene)
    if key not in _OBSERVED:
        _OBSERVED[key] = Observation(render_scene(scene, seed=0))
    return _OBSERVED[key]


def failures(text: str, inst: Instance) -> list[str]:
    """Reasons of the assertions of ``inst`` that the drawing of ``text`` fails."""
    obs = observe(text)
    verdicts = [evaluate(spec.name, spec.params, obs) for spec in inst.expect]
    return [v.reason for v in verdicts if not v.passed]


# -- generators ---------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_generator_is_deterministic_and_seed_sensitive(family: str) -> None:
    first = expand(family, 30, 5)
    assert first == expand(family, 30, 5)
    other = expand(family, 30, 6)
    assert [i["prompt"] for i in first] != [i["prompt"] for i in other]
    assert expand(family, 0, 5) == []


@pytest.mark.parametrize("family", FAMILIES)
def test_generator_prompts_are_distinct_and_well_formed(family: str) -> None:
    items = expand(family, 300, 11)
    assert len({i["prompt"] for i in items}) == len(items)
    assert len({i["id"] for i in items}) == len(items)
    for i, item in enumerate(items):
        assert item["id"] == f"{FAMILIES[family]}-g11-{i:04d}"
        assert item["task"] == family
        assert item["expect"] and item["refined"] and "generated" in item["tags"]


def test_text_generator_covers_every_kind() -> None:
    kinds = {item["tags"][1] for item in expand("text", len(text_generator.KINDS), 3)}
    assert kinds == set(text_generator.KINDS)
    assert {item["tags"][1] for item in expand("arithmetic", 4, 3)} == {"expression", "story"}


def test_text_generator_is_leak_proof() -> None:
    for item in expand("text", 400, 21):
        spec = item["expect"][0]["text"]
        answer, tolerance = spec["contains"].lower(), spec.get("tolerance", 0)
        prompt = item["prompt"].lower()
        assert answer not in prompt, item["prompt"]
        assert substring_distance(answer, prompt) > tolerance, item["prompt"]
        # What the literal renderer would write on its signs never passes either.
        for literal in parse_scene(item["prompt"]).texts:
            assert substring_distance(answer, literal.lower()) > tolerance, item["prompt"]


def _numbers(prompt: str) -> set[int]:
    """Numbers in a prompt, independently of the solver: digit runs and number words."""
    found = {int(d) for d in re.findall(r"\d+", prompt)}
    words = re.findall(r"[a-z]+", prompt.lower())
    found |= {NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS and w not in ("a", "an", "no")}
    return found | ({12} if "dozen" in words else set())


def test_arithmetic_generator_is_leak_proof() -> None:
    for item in expand("arithmetic", 400, 21):
        literal = parse_scene(item["prompt"])
        counts = [e["count"] for e in item["expect"] if "count" in e]
        assert counts
        for count in counts:
            assert 1 <= count["value"] <= 12
            assert count["value"] not in _numbers(item["prompt"]), item["prompt"]
            copied = literal.group(count["object"])
            assert copied is None or copied.count != count["value"], item["prompt"]


def test_leak_guards_catch_leaks() -> None:
    apples = [Group("apple", 6, "red")]
    assert arithmetic_generator.leaks("Draw as many red apples as 6 * 1.", apples)
    assert arithmetic_generator.leaks("Draw as many red apples as six times one.", apples)
    assert arithmetic_generator.leaks("Draw 6 red apples, that is 2 * 3.", apples)
    assert not arithmetic_generator.leaks("Draw as many red apples as 2 * 3.", apples)
    assert arithmetic_generator.leaks("Draw red apples: 1 + 2.", [Group("apple", 3)])
    assert text_generator.leaks('Draw a sign with "apple" in capitals.', "APPLE")
    assert text_generator.leaks("Draw a sign with the month after Augusts.", "AUGUST")
    assert text_generator.leaks("Draw the day after Saturdy.", "SATURDAY")  # within 1 edit
    assert not text_generator.leaks('Draw a sign with "stressed" backwards.', "DESSERTS")


# -- shipped suites -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_suite_file_shape(family: str) -> None:
    loaded = suite(family)
    assert loaded.errors == []
    assert len(loaded.instances) >= 52
    handwritten = [i for i in loaded.instances if "handwritten" in i.tags]
    assert len(handwritten) >= 12
    assert all(re.fullmatch(rf"{FAMILIES[family]}-\d{{3}}", i.id) for i in handwritten)
    assert all(i.task == family and i.refined and i.expect for i in loaded.instances)


@pytest.mark.parametrize(("family", "inst"), cases())
def test_gold_refined_prompt_passes(family: str, inst: Instance) -> None:
    assert inst.refined is not None
    assert failures(inst.refined, inst) == []


@pytest.mark.parametrize(("family", "inst"), cases())
def test_solver_solves_instance(family: str, inst: Instance) -> None:
    solution = SOLVERS[family](inst.prompt)
    assert isinstance(solution, Solution), inst.prompt
    assert solution.family == family and solution.steps
    assert failures(solution.refined, inst) == [], solution


@pytest.mark.parametrize("family", FAMILIES)
def test_literal_direct_drawing_fails_most_instances(family: str) -> None:
    instances = suite(family).instances
    passed = [i.id for i in instances if not failures(i.prompt, i)]
    assert len(passed) <= 0.2 * len(instances), passed


def test_handwritten_prompts_do_not_leak() -> None:
    for inst in suite("arithmetic").instances:
        for spec in inst.expect:
            if spec.name == "count":
                assert spec.params.model_dump()["value"] not in _numbers(inst.prompt), inst.id
    for inst in suite("text").instances:
        params = next(s.params for s in inst.expect if s.name == "text").model_dump()
        assert (
            substring_distance(params["contains"].lower(), inst.prompt.lower())
            > params["tolerance"]
        ), inst.id


# -- solvers ------------------------------------------------------------------------------------

OTHER_FAMILIES = (
    "Draw a balloon in the color you get when you mix blue paint with yellow paint.",
    "Paint three umbrellas the colour of a flamingo.",
    "A cat sits on the left, a dog in the middle and a bird on the right. The cat and the "
    "bird swap places. Draw the row.",
    "From bottom to top: a box, a teddy bear, a balloon. Turn the tower upside down. Draw it.",
    "Draw a sign that reads the output of this program:\nprint(sum([2, 3, 4]))",
    "Draw as many apples as len('banana') returns.",
    "Draw 3 red apples to the left of a blue cup.",
    "A picture of 6 red apples.",
)


@pytest.mark.parametrize("prompt", OTHER_FAMILIES)
def test_solvers_ignore_other_families(prompt: str) -> None:
    assert text_solver.solve(prompt) is None
    assert arithmetic_solver.solve(prompt) is None


@pytest.mark.parametrize("family", FAMILIES)
def test_solvers_ignore_each_other(family: str) -> None:
    other = "arithmetic" if family == "text" else "text"
    for inst in suite(family).instances:
        assert SOLVERS[other](inst.prompt) is None, inst.id


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ('Draw a sign showing the word "drawer" spelled backwards.', "REWARD"),
        ("Today is Sunday. Draw a note saying what day it was yesterday.", "SATURDAY"),
        ("Draw a poster with the month three months before February.", "NOVEMBER"),
        ('Draw a label with the letter count of the word "kitten".', None),
        ("Draw a sign that shows the year five years after 1995.", "2000"),
        ('Draw a card showing "forty-two" written in digits.', "42"),
        ("Draw a banner showing the number 2024 as a Roman numeral.", "MMXXIV"),
        ('Write on a sign "dog" with every letter shifted three places forward.', "GRJ"),
        ("Draw a sign with the two letters just before 'C' in the alphabet.", "AB"),
        ("A sign says it may rain in March.", None),
    ],
)
def test_text_solver_rules(prompt: str, answer: str | None) -> None:
    solution = text_solver.solve(prompt)
    assert (solution.answer if solution else None) == answer


@pytest.mark.parametrize(
    ("prompt", "refined"),
    [
        ("Draw 12 ÷ 4 × 3 green cups.", "A picture of 9 green cups."),
        ("Draw as many keys as six times two minus four.", "A picture of 8 keys."),
        ("Draw as many keys as 7 / 2.", None),
        ("Draw as many keys as 5 / 0.", None),
        ("Draw as many keys as 9 * 9.", None),
        ("Ann has 7 apples. She gives away 9. Draw her apples.", None),
        ("Ann has 9 eggs. She shares them with 2 friends. Draw hers.", "A picture of 3 eggs."),
        ("Ben has 5 hats. Draw his hats.", None),
    ],
)
def test_arithmetic_solver_edge_cases(prompt: str, refined: str | None) -> None:
    solution = arithmetic_solver.solve(prompt)
    assert (solution.refined if solution else None) == refined


def test_number_helpers_round_trip() -> None:
    for n in range(1, 4000):
        assert text_solver.from_roman(text_solver.to_roman(n)) == n
    assert text_solver.from_roman("IIII") is None and text_solver.from_roman("VX") is None
    for n in range(100):
        assert text_solver.words_to_int(text_solver.int_to_words(n)) == n
    assert arithmetic_solver.to_int("a dozen") == 12
    assert arithmetic_solver.numbers_in("seven plus 12 minus twenty-one") == [7, 12, 21]


FRAGMENTS = (
    '"',
    "'",
    "(",
    ")",
    "×",
    "÷",
    "−",
    "-",
    "/",
    "0",
    "1",
    "99999999999",
    "XIV",
    "IIII",
    "I",
    " sign ",
    " reads ",
    " roman numeral ",
    " in Roman numerals ",
    " days after ",
    " Friday ",
    " May ",
    " months before ",
    " year ",
    " 1999 ",
    " letters after ",
    " alphabet ",
    " Z ",
    " each letter ",
    " next letter ",
    " 30 places forward ",
    " backwards ",
    " initials of ",
    " opposite of ",
    " in digits ",
    " twenty-",
    " Draw ",
    " as many apples as ",
    " has 12 cups ",
    " gives away half ",
    " shares them equally between herself and ",
    " splits them into zero ",
    " doubles ",
    " twice as many ",
    " 3 fly away ",
    " divided by ",
    " times ",
    " plus ",
    ".",
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    )
)
def test_solvers_never_raise(prompt: str) -> None:
    for solve in SOLVERS.values():
        result = solve(prompt)
        assert result is None or isinstance(result, Solution)
