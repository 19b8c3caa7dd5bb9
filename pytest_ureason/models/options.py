"""Typed reading of an adapter's ``--model-arg KEY=VALUE`` options, with our own errors.

Every bad value is a :class:`ModelLoadError` naming the adapter, the option and the value
(``janus-pro: --model-arg reason_tokens='2.5' is not a whole number``), never a bare
``ValueError``; numbers are range-checked and must be finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pytest_ureason.models.base import ModelLoadError


class Options:
    """The options of one adapter; each read removes its key, :meth:`done` rejects the rest.

    Args:
        adapter: adapter name, used in error messages.
        raw: the ``--model-arg`` pairs.
    """

    def __init__(self, adapter: str, raw: dict[str, str] | None):
        self.adapter = adapter
        self.raw = dict(raw or {})
        self.known: list[str] = []

    def _take(self, key: str) -> str | None:
        self.known.append(key)
        value = self.raw.pop(key, None)
        return None if value is None else value.strip()

    def text(self, key: str, default: str) -> str:
        """A string option."""
        value = self._take(key)
        return default if value in (None, "") else str(value)

    def optional(self, key: str) -> str | None:
        """A string option without default."""
        value = self._take(key)
        return value or None

    def _fail(self, key: str, value: str, problem: str, quote: bool = True) -> ModelLoadError:
        shown = repr(value) if quote else value
        return ModelLoadError(f"{self.adapter}: --model-arg {key}={shown} {problem}")

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """A finite number in ``[low, high]``."""
        value = self._take(key)
        if value is None or value == "":
            return float(default)
        try:
            number = float(value)
        except ValueError:
            raise self._fail(key, value, "is not a number") from None
        if not math.isfinite(number):
            raise self._fail(key, value, "is not a finite number")
        if not low <= number <= high:
            raise self._fail(key, value, f"is outside {low:g}..{high:g}", quote=False)
        return number

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number in ``[low, high]`` (``"3"``; ``"3.0"`` is accepted, ``"2.5"`` is not)."""
        value = self._take(key)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                raise self._fail(key, value, "is not a number") from None
            if not (math.isfinite(as_float) and as_float.is_integer()):
                raise self._fail(key, value, "is not a whole number") from None
            number = int(as_float)
        if not low <= number <= high:
            raise self._fail(key, value, f"is outside {low}..{high}", quote=False)
        return number

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        """One of ``choices``."""
        allowed = tuple(choices)
        value = self.text(key, default)
        if value not in allowed:
            raise self._fail(key, value, f"is not one of {', '.join(allowed)}")
        return value

    def done(self) -> None:
        """Reject options nobody read."""
        if self.raw:
            raise ModelLoadError(
                f"{self.adapter}: unknown --model-arg {', '.join(sorted(self.raw))} "
                f"(known: {', '.join(self.known)})"
            )
