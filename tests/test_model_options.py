"""Adapter options: a bad number is our own error naming the adapter, the option and the value."""

from __future__ import annotations

import pytest

from pytest_ureason.models.base import ModelLoadError, load_model
from pytest_ureason.models.options import Options


def test_integers_and_numbers_are_checked_and_named() -> None:
    opts = Options("demo", {"steps": "12", "whole": "3.0", "rate": "0.5", "empty": ""})
    assert opts.integer("steps", 30, 1, 100) == 12 and opts.integer("whole", 1, 1, 9) == 3
    assert opts.number("rate", 1.0, 0.0, 1.0) == 0.5 and opts.integer("empty", 7, 1, 9) == 7
    assert opts.integer("absent", 4, 1, 9) == 4
    cases = [
        ("integer", "steps", "many", "demo: --model-arg steps='many' is not a number"),
        ("integer", "steps", "2.5", "demo: --model-arg steps='2.5' is not a whole number"),
        ("integer", "steps", "0", "demo: --model-arg steps=0 is outside 1..100"),
        ("integer", "steps", "1e9", "demo: --model-arg steps=1e9 is outside 1..100"),
        ("integer", "steps", "inf", "demo: --model-arg steps='inf' is not a whole number"),
        ("number", "rate", "nan", "demo: --model-arg rate='nan' is not a finite number"),
        ("number", "rate", "fast", "demo: --model-arg rate='fast' is not a number"),
        ("number", "rate", "-0.1", "demo: --model-arg rate=-0.1 is outside 0..1"),
    ]
    for kind, key, value, message in cases:
        one = Options("demo", {key: value})
        with pytest.raises(ModelLoadError) as info:
            if kind == "integer":
                one.integer(key, 30, 1, 100)
            else:
                one.number(key, 1.0, 0.0, 1.0)
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"retries": "2.5"}, "http: --model-arg retries='2.5' is not a whole number"),
        ({"retries": "-1"}, "http: --model-arg retries=-1 is outside 0..20"),
        ({"concurrency": "0"}, "http: --model-arg concurrency=0 is outside 1..256"),
        ({"timeout": "soon"}, "http: --model-arg timeout='soon' is not a number"),
        ({"timeout": "0"}, "http: --model-arg timeout=0 is outside"),
        ({"max_tokens": "lots"}, "http: --model-arg max_tokens='lots' is not a number"),
        ({"backoff": "nan"}, "http: --model-arg backoff='nan' is not a finite number"),
        ({"size": "big"}, "http: --model-arg size='big' is not WIDTHxHEIGHT"),
        ({"size": "0x512"}, "http: --model-arg size='0x512' is not WIDTHxHEIGHT"),
    ],
)
def test_http_numbers(args: dict[str, str], message: str) -> None:
    with pytest.raises(ModelLoadError) as info:
        load_model("http", None, {"base_url": "http://127.0.0.1:9/v1", "model": "m", **args})
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"steps": "ten"}, "composite: --model-arg steps='ten' is not a number"),
        ({"steps": "0"}, "composite: --model-arg steps=0 is outside 1..1000"),
        ({"height": "tall"}, "composite: --model-arg height='tall' is not a number"),
        ({"width": "33"}, "composite: --model-arg width=33 must be a multiple of 8"),
        ({"width": "-8"}, "composite: --model-arg width=-8 is outside 0..8192"),
        ({"reason_tokens": "1.5"}, "composite: --model-arg reason_tokens='1.5' is not a whole"),
    ],
)
def test_composite_numbers(args: dict[str, str], message: str) -> None:
    # Options are checked before the weights are looked for: these paths need not exist.
    with pytest.raises(ModelLoadError) as info:
        load_model("composite", None, {"llm": "/no/llm", "pipeline": "/no/pipe", **args})
    assert str(info.value).startswith(message)
