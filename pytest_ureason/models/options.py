"""Typed reading of an adapter's ``--model-arg KEY=VALUE`` options, with our own errors."""

from __future__ import annotations

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

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """A number in ``[low, high]``."""
        value = self._take(key)
        if value is None:
            return float(default)
        try:
            number = float(value)
        except ValueError:
            raise ModelLoadError(
                f"{self.adapter}: --model-arg {key}={value!r} is not a number"
            ) from None
        if not low <= number <= high:
            raise ModelLoadError(
                f"{self.adapter}: --model-arg {key}={value} is outside {low:g}..{high:g}"
            )
        return number

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        """One of ``choices``."""
        allowed = tuple(choices)
        value = self.text(key, default)
        if value not in allowed:
            raise ModelLoadError(
                f"{self.adapter}: --model-arg {key}={value!r} is not one of {', '.join(allowed)}"
            )
        return value

    def done(self) -> None:
        """Reject options nobody read."""
        if self.raw:
            raise ModelLoadError(
                f"{self.adapter}: unknown --model-arg {', '.join(sorted(self.raw))} "
                f"(known: {', '.join(self.known)})"
            )
