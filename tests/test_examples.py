"""The README's example of a team's own assertions runs for real on the reference model."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPO


def test_example_team_assertions(pytester: pytest.Pytester) -> None:
    shutil.copy(REPO / "tests/examples/test_team_assertions.py", pytester.path)
    result = pytester.runpytest("--model", "reference", "test_team_assertions.py")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: expected dog == 5, found 2*"])


def test_generate_fixture_skips_without_model(pytester: pytest.Pytester) -> None:
    shutil.copy(REPO / "tests/examples/test_team_assertions.py", pytester.path)
    result = pytester.runpytest("test_team_assertions.py", "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["*no model: pass --model NAME*"])
