"""Properties every registered generator has: deterministic, seed-sensitive, valid, leak-proof."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.collect.generators import GeneratorError, expand, generator_names
from pytest_ureason.scene.grammar import number_word

NAMES = generator_names()
# Families whose reasoning decides the count (attribute prompts may state a count plainly).
COUNT_IS_THE_ANSWER = {"code", "arithmetic"}


def test_one_generator_per_ureason_family() -> None:
    assert set(NAMES) >= {"code", "arithmetic", "spatial", "attribute", "text"}


@pytest.mark.parametrize("name", NAMES)
@given(seed=st.integers(0, 2**31), count=st.integers(1, 6))
@settings(max_examples=10, deadline=None)
def test_deterministic_and_seed_sensitive(name: str, seed: int, count: int) -> None:
    first = expand(name, count, seed)
    assert first == expand(name, count, seed)
    assert len(first) == count
    other = expand(name, count, seed + 1)
    assert [r["prompt"] for r in first] != [r["prompt"] for r in other]


@pytest.mark.parametrize("name", NAMES)
def test_instances_are_valid_and_counts_do_not_leak(name: str, tmp_path: object) -> None:
    from pytest_ureason.collect.schema import build_instance

    rows = expand(name, 60, 7)
    assert len({r["id"] for r in rows}) == len({r["prompt"] for r in rows}) == 60
    for row in rows:
        instance = build_instance(row, None, 1)  # raises on any schema problem
        assert instance.refined
        if name not in COUNT_IS_THE_ANSWER:
            continue
        for spec in instance.expect:
            if spec.name == "count" and spec.params.value > 1:  # type: ignore[attr-defined]
                value = spec.params.value  # type: ignore[attr-defined]
                words = {str(value), number_word(value)}
                found = [w for w in words if re.search(rf"\b{re.escape(w)}\b", row["prompt"])]
                assert not found, f"{row['id']}: the count {value} appears in the prompt"


def test_unknown_generator_and_bad_count() -> None:
    with pytest.raises(GeneratorError, match="unknown generator 'nope'"):
        expand("nope", 1, 0)
    with pytest.raises(GeneratorError, match="count must be >= 0"):
        expand("code", -1, 0)


def test_draw_fresh_is_bounded() -> None:
    from pytest_ureason.collect.generators import draw_fresh

    draws = iter(range(100))
    assert draw_fresh(lambda: next(draws), lambda c: c == 4, tries=10, what="t") == 4
    with pytest.raises(GeneratorError, match="t: no fresh instance after 3 tries"):
        draw_fresh(lambda: 0, lambda c: False, tries=3, what="t")
