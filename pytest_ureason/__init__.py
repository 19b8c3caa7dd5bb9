"""pytest-ureason: conformance tests for unified multimodal models.

Public names are importable from here; importing the package loads no torch, transformers,
detector or OCR engine.
"""

from __future__ import annotations

from pytest_ureason.collect.generators import generator
from pytest_ureason.collect.loader import load_suite
from pytest_ureason.collect.schema import Instance

# The model-judged assertions (clip, vqa, judge) register on import. Every submodule import
# runs this file first, so the registry is complete wherever it is read.
from pytest_ureason.judge import model_assertions as _judged  # noqa: F401
from pytest_ureason.judge.assertions import Observation, Params, Verdict, assertion
from pytest_ureason.judge.expect import ExpectError, expect
from pytest_ureason.models.base import (
    ModelLoadError,
    UnifiedModel,
    Unsupported,
    load_model,
    register_model,
)

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
