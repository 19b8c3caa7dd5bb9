"""The model protocol and the adapter registry.

An adapter is any object with the three batched methods of :class:`UnifiedModel`. It is made by
a *factory* registered under a name, either in code with :func:`register_model` or by a third
party through the entry-point group ``pytest_ureason.models``::

    [project.entry-points."pytest_ureason.models"]
    my-umm = "my_package.adapter:MyModel"

A factory is called as ``factory(model_path, options)`` where ``model_path`` is ``--model-path``
(or None) and ``options`` the ``--model-arg KEY=VALUE`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

#: ``image.info`` key under which an adapter leaves a note about an image (stored, reported).
MODEL_NOTES = "ureason.notes"


if TYPE_CHECKING:
    from PIL import Image

ENTRY_POINT_GROUP = "pytest_ureason.models"


class Unsupported(Exception):
    """Raised by an adapter for a capability it does not have; items needing it are skipped."""


class ModelLoadError(RuntimeError):
    """A model could not be found or loaded; the message says where it looked and how to fix it."""


@runtime_checkable
class UnifiedModel(Protocol):
    """A unified multimodal model behind a small, batched protocol.

    Attributes:
        name: registry name of the adapter.
        revision: model revision or weights fingerprint (enters the store key).
        settings: adapter settings that change outputs (enter the store key).

    An adapter may also name, in a ``speed_options`` tuple, the options (``--model-arg`` /
    ``--judge-arg`` keys) that change only speed, never outputs, such as a batch size: they
    stay out of judge cache keys (:func:`pytest_ureason.judge.yesno.model_identity`).
    """

    name: str
    revision: str
    settings: dict[str, Any]

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        """Write reasoning text for each prompt."""
        ...

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """Draw one image per prompt, conditioned on the optional context (reasoning)."""
        ...

    def answer(
        self, images: list[Image.Image | None], questions: list[str], seeds: list[int]
    ) -> list[str]:
        """Answer each question in text, about its image when one is given."""
        ...


ModelFactory = Callable[[str | None, dict[str, str]], UnifiedModel]
_REGISTRY: dict[str, ModelFactory] = {}

#: Adapters shipped with the plugin, imported only when named (no reinstall needed to find
#: them, and no torch import until one is used).
BUILTIN: dict[str, str] = {
    "reference": "pytest_ureason.reference.model:ReferenceModel",
    "janus-pro": "pytest_ureason.models.janus:JanusProModel",
    "composite": "pytest_ureason.models.composite:CompositeModel",
    "http": "pytest_ureason.models.http:HttpModel",
    "qwen-vl": "pytest_ureason.models.qwen_vl:QwenVLModel",
}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Register an adapter factory under ``name`` (used by ``--model NAME``)."""

    def register(factory: ModelFactory) -> ModelFactory:
        _REGISTRY[name] = factory
        return factory

    return register


def _entry_point_factories() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def model_names() -> list[str]:
    """Every adapter name known in code or through entry points."""
    return sorted({*_REGISTRY, *BUILTIN, *_entry_point_factories()})


class ItemErrors(Exception):
    """Raised by a batched model call whose inputs failed one by one (not the batch as a whole):
    ``results`` holds, per input, its output or its exception. A batch runner assigns these
    per input instead of halving and resending the batch (see
    :func:`pytest_ureason.models.batching.run_batched`); any other caller sees one exception naming
    the first failure.
    """

    def __init__(self, results: list[Any]):
        self.results = results
        errors = [r for r in results if isinstance(r, BaseException)]
        first = f"{type(errors[0]).__name__}: {errors[0]}" if errors else "no error"
        super().__init__(f"{len(errors)} of {len(results)} inputs failed; the first: {first}")


def get_factory(name: str) -> ModelFactory:
    """The factory registered for ``name``.

    Raises:
        ModelLoadError: no adapter of that name, or its entry point fails to import.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        factory: ModelFactory = getattr(import_module(module), attr)
        return factory
    eps = _entry_point_factories()
    if name not in eps:
        raise ModelLoadError(
            f"unknown model {name!r} (known: {', '.join(model_names())}); third-party adapters "
            f"register in the entry-point group {ENTRY_POINT_GROUP!r}"
        )
    try:
        loaded: ModelFactory = eps[name].load()
    except Exception as exc:
        raise ModelLoadError(f"adapter {name!r} failed to import: {exc}") from exc
    return loaded


def load_model(
    name: str, path: str | None = None, options: dict[str, str] | None = None
) -> UnifiedModel:
    """Build the adapter ``name``.

    Raises:
        ModelLoadError: unknown adapter, or the factory failed.
    """
    factory = get_factory(name)
    try:
        model = factory(path, dict(options or {}))
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"model {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
    missing = [m for m in ("reason", "generate", "answer") if not callable(getattr(model, m, None))]
    if missing:
        raise ModelLoadError(f"model {name!r} does not implement {', '.join(missing)}")
    if not isinstance(getattr(model, "name", None), str):
        raise ModelLoadError(f"model {name!r}: the adapter has no 'name' string attribute")
    revision, settings = getattr(model, "revision", None), getattr(model, "settings", None)
    if revision is not None and not isinstance(revision, str):
        raise ModelLoadError(f"model {name!r}: 'revision' must be a string, got {revision!r}")
    if settings is not None and not isinstance(settings, dict):
        raise ModelLoadError(f"model {name!r}: 'settings' must be a dict, got {settings!r}")
    return model
