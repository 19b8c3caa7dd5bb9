"""Packaging: entry points, cheap import, the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from pytest_ureason.cli.main import main
from tests.conftest import REPO, write

HEAVY = (
    "torch",
    "transformers",
    "rapidocr",
    "onnxruntime",
    "cv2",
    "PIL",
    "numpy",
    "scipy",
    "ruamel",
)


def test_entry_points() -> None:
    assert [ep.value for ep in entry_points(group="pytest11") if ep.name == "ureason"] == [
        "pytest_ureason.plugin"
    ]
    assert any(ep.name == "ureason" for ep in entry_points(group="console_scripts"))
    assert "reference" in {ep.name for ep in entry_points(group="pytest_ureason.models")}


def test_importing_the_plugin_loads_no_heavy_module() -> None:
    code = (
        "import sys, pytest_ureason, pytest_ureason.plugin; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_results_plugin_only_registered_with_a_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_probe="""
        def test_probe(pytestconfig):
            print("REGISTERED", pytestconfig.pluginmanager.has_plugin("ureason-results"))
    """
    )
    assert "REGISTERED False" in pytester.runpytest("-s").stdout.str()
    assert "REGISTERED True" in pytester.runpytest("-s", "--model", "reference").stdout.str()


def test_cli_suites_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suites", str(REPO / "suites")]) == 0
    out = capsys.readouterr().out
    for task in ("code", "arithmetic", "spatial", "attribute", "text"):
        assert f"ureason/{task} v1:" in out
    write(tmp_path / "bad.yaml", "task: t\ninstances:\n  - id: x\n    prompt: 3\n    expect: []\n")
    assert main(["suites", str(tmp_path)]) == 1
    assert f"{tmp_path / 'bad.yaml'}:4: instance 'x': field prompt" in capsys.readouterr().out


def test_cli_suites_reports_duplicates_across_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = {"id": "x-1", "task": "t", "prompt": "a cup", "expect": [{"present": {"object": "cup"}}]}
    write(tmp_path / "a.jsonl", json.dumps(row) + "\n")
    write(tmp_path / "b.jsonl", json.dumps(row) + "\n")
    assert main(["suites", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{tmp_path / 'b.jsonl'}:1: instance 'x-1': task/id 't/x-1' is already defined at "
        f"{tmp_path / 'a.jsonl'}:1" in out
    )


def test_cli_expand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expand", "code", "--count", "3", "--seed", "4"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["code-g4-0000", "code-g4-0001", "code-g4-0002"]
    assert main(["expand", "nothing"]) == 2
    assert "unknown generator 'nothing'" in capsys.readouterr().err
