"""A deliberately degraded variant of the reference model, to show the release gate at work.

``reference-degraded`` is the reference model with one fault injected: for a deterministic
fraction of the prompts it draws (chosen by a hash of the prompt), the first number in the
prompt is raised by one before drawing, so counts come out wrong. Load it as a pytest plugin
from the repository root::

    python -m pytest suites -p benchmarks.degraded_model --model reference-degraded \
        --model-arg fraction=0.3 --gate goldens/baselines/reference.json

Options: ``fraction`` (0..1, default 0.3) and the reference model's own (``size``).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from pytest_ureason import register_model
from pytest_ureason.models.base import ModelLoadError
from pytest_ureason.reference.model import ReferenceModel

if TYPE_CHECKING:
    from PIL import Image

_NUMBER = re.compile(r"\b(\d+)\b")


def _chosen(prompt: str, fraction: float) -> bool:
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


@register_model("reference-degraded")
class DegradedReference(ReferenceModel):
    """The reference model drawing one object too many for a fraction of its prompts."""

    name = "reference-degraded"

    def __init__(self, model_path: str | None = None, options: dict[str, str] | None = None):
        options = dict(options or {})
        try:
            self.fraction = float(options.pop("fraction", "0.3"))
        except ValueError as exc:
            raise ModelLoadError(f"option fraction must be a number: {exc}") from None
        if not 0.0 <= self.fraction <= 1.0:
            raise ModelLoadError(f"option fraction must be in [0, 1], got {self.fraction}")
        super().__init__(model_path, options)
        self.settings: dict[str, Any] = {**self.settings, "fraction": self.fraction}
        self.revision += "-degraded"

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """Draw like the reference model, after raising the first number of chosen prompts."""
        changed = [
            _NUMBER.sub(lambda m: str(int(m.group(1)) + 1), p, count=1)
            if _chosen(p, self.fraction)
            else p
            for p in prompts
        ]
        return super().generate(changed, seeds, contexts)
