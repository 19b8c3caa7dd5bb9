"""pytest-ureason: conformance tests for unified multimodal models.

Public names are importable from here; importing the package loads no torch, transformers,
detector or OCR engine.
"""

from __future__ import annotations

# The model-judged assertions (clip, vqa, judge) register on import. Every submodule import
# runs this file first, so the registry is complete wherever it is read.
from pytest_ureason import judged as _judged  # noqa: F401
from pytest_ureason.assertions import Observation, Params, Verdict, assertion
from pytest_ureason.expect import ExpectError, expect
from pytest_ureason.generators import generator
from pytest_ureason.models.base import (
    ModelLoadError,
    UnifiedModel,
    Unsupported,
    load_model,
    register_model,
)
from pytest_ureason.suite import Instance, load_suite

__version__ = "0.1.0"

__all__ = [
    "ExpectError",
    "Instance",
    "ModelLoadError",
    "Observation",
    "Params",
    "UnifiedModel",
    "Unsupported",
    "Verdict",
    "__version__",
    "assertion",
    "expect",
    "generator",
    "load_model",
    "load_suite",
    "register_model",
]
