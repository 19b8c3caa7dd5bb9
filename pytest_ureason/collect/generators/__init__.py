"""Deterministic, leak-proof instance generators, one module per task family.

A generator is a plain function ``(count, seed) -> list[dict]`` registered under a name with
:func:`generator`. Each dict has the same shape as a hand-written instance in a suite file
(``id``, ``task``, ``prompt``, ``refined``, ``expect``, optional ``tags``), and goes through the
same validation. The same ``(count, seed)`` always yields the same instances; another seed yields
fresh ones. *Leak-proof* means the answer that drives the image never appears literally in the
prompt, so copying words from the prompt cannot pass the item.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

GeneratorFn = Callable[[int, int], list[dict[str, Any]]]
T = TypeVar("T")

_REGISTRY: dict[str, GeneratorFn] = {}
_BUILTIN_MODULES = ("arithmetic", "attribute", "code", "spatial", "text", "gapeval", "unisandbox")


class GeneratorError(ValueError):
    """A generator name is unknown or a generator spec is invalid."""


def generator(name: str) -> Callable[[GeneratorFn], GeneratorFn]:
    """Register a generator function under ``name``.

    Args:
        name: the value of ``generator:`` in a suite entry.

    Returns:
        A decorator that registers and returns the function unchanged.
    """

    def register(fn: GeneratorFn) -> GeneratorFn:
        _REGISTRY[name] = fn
        return fn

    return register


def draw_fresh(draw: Callable[[], T], accept: Callable[[T], bool], *, tries: int, what: str) -> T:
    """Draw candidates until one is accepted (fresh, leak-proof, in range...).

    Args:
        draw: makes one candidate (from the generator's seeded ``random.Random``).
        accept: whether a candidate may be used.
        tries: most candidates to draw; bounds the work for any ``count``.
        what: names the generator in the error.

    Raises:
        GeneratorError: no candidate was accepted in ``tries`` draws (the count asked for is
            larger than the generator's space of distinct instances).
    """
    for _ in range(tries):
        candidate = draw()
        if accept(candidate):
            return candidate
    raise GeneratorError(f"{what}: no fresh instance after {tries} tries")


def _load_builtins(only: str | None = None) -> None:
    for module in _BUILTIN_MODULES:
        if only is None or module == only:
            importlib.import_module(f"{__name__}.{module}")


def generator_names() -> list[str]:
    """Names of every registered generator, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def expand(name: str, count: int, seed: int) -> list[dict[str, Any]]:
    """Expand a generator spec into raw instance dicts.

    Args:
        name: registered generator name.
        count: number of instances (>= 0).
        seed: seed of the expansion; same seed, same instances.

    Raises:
        GeneratorError: unknown name or bad count.
    """
    if name not in _REGISTRY:
        _load_builtins(name if name in _BUILTIN_MODULES else None)
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise GeneratorError(f"unknown generator {name!r} (known: {known})")
    if count < 0:
        raise GeneratorError(f"count must be >= 0, got {count}")
    return _REGISTRY[name](count, seed)
