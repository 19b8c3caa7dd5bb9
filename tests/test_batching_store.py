"""Batched calls with failure isolation, group assignment, and the atomic store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pytest_ureason.models.batching import Failed, assign_groups, instance_of, run_batched
from pytest_ureason.run.store import Store, content_key


@given(
    n=st.integers(0, 60),
    batch=st.integers(1, 17),
    bad=st.sets(st.integers(0, 59), max_size=5),
)
@settings(max_examples=150, deadline=None)
def test_only_inputs_that_fail_alone_fail(n: int, batch: int, bad: set[int]) -> None:
    calls: list[list[int]] = []

    def fn(xs: list[int]) -> list[int]:
        calls.append(xs)
        if any(x in bad for x in xs):
            raise MemoryError("out of memory")
        return [x * 10 for x in xs]

    out = run_batched(fn, list(range(n)), batch)
    assert len(out) == n
    for i, result in enumerate(out):
        if i in bad:
            assert isinstance(result, Failed) and isinstance(result.error, MemoryError)
        else:
            assert result == i * 10
    assert max((len(c) for c in calls), default=0) <= batch


def test_wrong_output_count_is_a_failure() -> None:
    out = run_batched(lambda xs: xs[:1], [1, 2, 3], 3)  # too few outputs: split until single
    assert out == [1, 2, 3]
    empty = run_batched(lambda xs: [], [1, 2], 2)
    assert all(isinstance(r, Failed) and "0 outputs for 1 inputs" in str(r.error) for r in empty)
    with pytest.raises(ValueError, match="batch_size"):
        run_batched(lambda xs: xs, [1], 0)


def test_groups_keep_instances_together() -> None:
    ids = [f"s/a.yaml::t/i{i}[{c}-s0]" for i in range(5) for c in ("direct", "decontext")]
    ids += ["tests/test_x.py::test_plain", "s/b.yaml::t/j0[direct-s0]"]
    groups = assign_groups(ids, 2)
    assert groups[ids[0]] == groups[ids[1]] == groups[ids[2]] == groups[ids[3]]
    assert groups[ids[4]] != groups[ids[0]]
    assert len({groups[i] for i in ids[:10]}) == 3
    assert groups["tests/test_x.py::test_plain"] == "tests/test_x.py::test_plain"
    assert groups["s/b.yaml::t/j0[direct-s0]"] == "s/b.yaml::group-0"
    assert instance_of("tests/test_x.py::test_param[a]") is None


def test_content_key_depends_on_every_field() -> None:
    base = {"model": "m", "revision": "r1", "settings": {"cfg": 5}, "prompt": "p", "seed": 0}
    key = content_key(**base)
    assert key == content_key(**dict(reversed(list(base.items()))))
    for field, other in [
        ("revision", "r2"),
        ("settings", {"cfg": 6}),
        ("prompt", "q"),
        ("seed", 1),
    ]:
        assert content_key(**{**base, field: other}) != key


def test_store_roundtrip_is_atomic(tmp_path: Path) -> None:
    store = Store(tmp_path)
    key = content_key(x=1)
    assert not store.has_image(key)
    path = store.put_image(key, Image.new("RGB", (8, 8), (1, 2, 3)), {"prompt": "p"})
    assert store.has_image(key) and path == store.image_path(key)
    assert store.image_meta(key) == {"prompt": "p", "image_size": [8, 8]}  # checked on reads
    assert store.check_image(key) is None and store.check_image(key, (8, 9)) is not None
    store.put_text("k" * 64, "reasoning", {"seed": 0})
    assert store.get_text("k" * 64) == "reasoning"
    assert store.get_text("z" * 64) is None
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_crash_during_write_leaves_no_record(tmp_path: Path) -> None:
    class Exploding:
        size = (8, 8)

        def save(self, fh: object, format: str) -> None:
            raise KeyboardInterrupt

    store = Store(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        store.put_image("ab" * 32, Exploding(), {})  # type: ignore[arg-type]
    assert not store.has_image("ab" * 32)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_corrupt_text_record_is_regenerated_not_fatal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put_text("cd" * 32, "ok", {})
    path = next(tmp_path.rglob("*.json"))
    os.truncate(path, 5)
    assert store.get_text("cd" * 32) is None
