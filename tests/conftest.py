"""Shared fixtures of the plugin's own tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

# pytester's in-process runs drop modules first imported during a run; C extensions cannot be
# imported twice in one process, so load them here, before any run.
import numpy  # noqa: F401
import PIL.Image  # noqa: F401
import pytest
import scipy.ndimage  # noqa: F401

import pytest_ureason.detect.ocr  # noqa: F401  (keeps the loaded OCR engine across runs)

try:
    import cv2  # noqa: F401
    import omegaconf  # noqa: F401
    import onnxruntime  # noqa: F401
    import rapidocr  # noqa: F401
    import yaml  # noqa: F401
except ImportError:  # pragma: no cover - the ocr extra is part of the dev install
    pass

pytest_plugins = ["pytester"]

# The example of a team's own assertions is run by tests/test_examples.py with --model reference.
collect_ignore = ["examples"]

REPO = Path(__file__).resolve().parent.parent

ARITH_SUITE = """\
suite: demo/arithmetic
version: 1
task: arithmetic
instances:
  - id: add-1
    prompt: Draw as many red apples as the value of 2 + 3.
    refined: A picture of 5 red apples.
    expect:
      - count: {object: apple, op: "==", value: 5}
      - color: {object: apple, color: red}
  - id: mul-1
    prompt: Draw as many blue cups as the value of 3 × 2 − 4.
    refined: A picture of 2 blue cups.
    expect:
      - count: {object: cup, op: "==", value: 2}
  - id: lit-1
    prompt: Draw 3 green books.
    refined: A picture of 3 green books.
    expect:
      - count: {object: book, op: "==", value: 3}
"""


@pytest.fixture
def suite_dir(pytester: pytest.Pytester) -> Path:
    """A pytester project with one small suite under suites/."""
    pytester.makeini("[pytest]\nureason_store = .store\n")
    suites = pytester.mkdir("suites")
    (suites / "arith.yaml").write_text(ARITH_SUITE)
    return suites


def write(path: Path, text: str) -> Path:
    """Write dedented text, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path
