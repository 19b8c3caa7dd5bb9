"""Shared fixtures of the plugin's own tests."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

# pytester's in-process runs drop modules first imported during a run; C extensions cannot be
# imported twice in one process, so load them here, before any run.
import numpy  # noqa: F401
import PIL.Image  # noqa: F401
import pytest
import scipy.ndimage  # noqa: F401

import pytest_ureason.judge.detect.ocr  # noqa: F401  (keeps the loaded OCR engine across runs)

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


@pytest.fixture(autouse=True, scope="session")
def _digest_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Weight digests go to a temporary folder, never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("digests")
    old = os.environ.get("UREASON_DIGEST_CACHE")
    os.environ["UREASON_DIGEST_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("UREASON_DIGEST_CACHE", None)
    else:
        os.environ["UREASON_DIGEST_CACHE"] = old


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


SEED_EXAMPLES = Path(__file__).parent / "examples" / "seed_formats"


def copy_seed_examples(pytester: pytest.Pytester, *names: str) -> list[str]:
    """Copy example files of the released seed formats into a pytester dir (with a store)."""
    import shutil

    pytester.makeini("[pytest]\nureason_store = .store\n")
    out = []
    for name in names:
        target = pytester.path / "data" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SEED_EXAMPLES / name, target)
        out.append(str(target))
    return out


#: A one-instance suite with a `vqa` assertion (needs `--judge`).
VQA_SUITE = """\
suite: demo/vqa
task: counting
instances:
  - id: apples
    prompt: Draw 3 red apples.
    refined: A picture of 3 red apples.
    expect:
      - vqa: {question: "How many apples are there?", answer: "3"}
"""
