"""The composite adapter (causal LM + diffusers pipeline) on tiny random-weight checkpoints built
offline, and its TOML/YAML model files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Loaded before any in-process pytester run (a C extension cannot be imported twice).
import diffusers  # noqa: F401
import pytest
import torch  # noqa: F401
from PIL import Image

from pytest_ureason.models.base import ModelLoadError, Unsupported, load_model
from pytest_ureason.models.testing import build_causal_lm_checkpoint, build_diffusion_pipeline


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("composite")
    return build_causal_lm_checkpoint(root / "llm"), build_diffusion_pipeline(root / "pipe")


def _args(parts: tuple[Path, Path]) -> dict[str, str]:
    return {
        "llm": str(parts[0]),
        "pipeline": str(parts[1]),
        "steps": "2",
        "height": "32",
        "width": "32",
        "reason_tokens": "6",
        "answer_tokens": "4",
    }


def test_pytest_run_reports_truncated_reasoning(
    pytester: pytest.Pytester, suite_dir: Path, parts: tuple[Path, Path]
) -> None:
    args = [f"--model-arg={k}={v}" for k, v in _args(parts).items()]
    result = pytester.runpytest(
        "--model",
        "composite",
        *args,
        "--detector",  # random weights draw noise; the run checks the wiring
        "classical",
        "--condition",
        "reasoning",
        "--condition",
        "direct",
        "--junitxml=out.xml",
    )
    result.assert_outcomes(failed=6)
    result.stdout.fnmatch_lines(
        [
            "*arithmetic/add-1[[]reasoning-s0[]]*",
            "*expected apple == 5, found 0*",
            "model note: reasoning truncated to the text encoder's 16 tokens: kept * of *",
        ]
    )
    xml = (pytester.path / "out.xml").read_text()
    assert xml.count('name="ureason_model_notes"') == 3  # the reasoning items, not direct
    for path in (pytester.path / ".store" / "images").rglob("*.png"):
        with Image.open(path) as img:
            assert img.size == (32, 32)


def test_fit_prompt_keeps_the_prompt_and_what_fits(parts: tuple[Path, Path]) -> None:
    model: Any = load_model("composite", None, _args(parts))
    assert model.fit_prompt("apple", None) == ("apple", None)
    assert model.fit_prompt("apple", "pie") == ("apple\npie", None)
    text, note = model.fit_prompt("apple", " ".join(["apple"] * 40))
    assert text.startswith("apple\napple") and note is not None
    kept = int(note.split("kept ")[1].split(" of")[0])
    assert 0 < kept < 40 and text.count("apple") == kept + 1
    assert len(model.pipe.tokenizer(text)["input_ids"]) <= 16
    with pytest.raises(Unsupported, match="cannot see images"):
        model.answer([Image.new("RGB", (8, 8))], ["what?"], [0])
    assert isinstance(model.answer([None], ["2 + 2?"], [0])[0], str)


def test_model_files(tmp_path: Path, parts: tuple[Path, Path]) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text(
        f'llm = "{parts[0]}"\npipeline = "{parts[1]}"\nsteps = 3\nheight = 32\nwidth = 32\n'
    )
    model: Any = load_model("composite", str(toml), {"steps": "2"})
    assert model.steps == 2 and model.size == {"height": 32, "width": 32}  # --model-arg wins
    yaml = tmp_path / "m.yaml"
    yaml.write_text(f"llm: {parts[0]}\npipeline: {parts[1]}\nguidance: 3\n")
    assert load_model("composite", str(yaml), {}).settings["guidance"] == 3.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("llm: x\npipeline: [unclosed\n")
    with pytest.raises(ModelLoadError, match=r"bad.yaml:\d+: invalid YAML"):
        load_model("composite", str(bad), {})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('llm = "x"\ncolour = "red"\n')
    with pytest.raises(ModelLoadError, match=r"unknown.toml: unknown key 'colour'"):
        load_model("composite", str(unknown), {})
    with pytest.raises(ModelLoadError, match="needs llm=PATH and pipeline=PATH"):
        load_model("composite", None, {"llm": str(parts[0])})
    with pytest.raises(ModelLoadError, match="pipeline='/no/such' is neither a folder"):
        load_model("composite", None, {"llm": str(parts[0]), "pipeline": "/no/such"})
