"""What enters an adapter's store key (templates, library versions), and per-item text sampling.

Tiny random-weight Janus and Llama checkpoints, built offline (same classes as the real ones).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import diffusers
import pytest
import torch
import transformers

import pytest_ureason.models.janus as janus_module
from pytest_ureason.models.base import load_model
from pytest_ureason.models.fingerprint import library_versions, text_fingerprint
from pytest_ureason.models.testing import (
    build_causal_lm_checkpoint,
    build_diffusion_pipeline,
    build_janus_checkpoint,
)
from pytest_ureason.run.harness import Harness
from pytest_ureason.run.store import Store


@pytest.fixture(scope="module")
def janus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_janus_checkpoint(tmp_path_factory.mktemp("janus") / "tiny-janus")


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("composite")
    return build_causal_lm_checkpoint(root / "llm"), build_diffusion_pipeline(root / "pipe")


def _composite(parts: tuple[Path, Path], **extra: str) -> Any:
    args = {"llm": str(parts[0]), "pipeline": str(parts[1]), "steps": "1", **extra}
    return load_model("composite", None, args)


def _fingerprint(model: Any, tmp_path: Path) -> str:
    return Harness(model, Store(tmp_path / "store")).fingerprint


# -- store keys -------------------------------------------------------------------------------


def test_library_versions_and_templates_are_in_janus_settings(
    janus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model: Any = load_model("janus-pro", str(janus_dir), {"decode": "plain"})
    assert model.settings["libraries"] == {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    templates = model.settings["templates"]
    assert templates["reason"].startswith("{prompt}\n\nBefore drawing")
    assert templates["chat"] == text_fingerprint(model.processor.chat_template) != "none"
    before = _fingerprint(model, tmp_path)

    # A transformers upgrade (its version is what the running process reports) changes the key.
    # (transformers swaps the module object in sys.modules as it loads: patch the live one.)
    monkeypatch.setattr(sys.modules["transformers"], "__version__", "99.0.0")
    upgraded: Any = load_model("janus-pro", str(janus_dir), {"decode": "plain"})
    assert upgraded.settings["libraries"]["transformers"] == "99.0.0"
    assert _fingerprint(upgraded, tmp_path) != before
    monkeypatch.undo()

    # So does a new reasoning instruction ...
    monkeypatch.setattr(janus_module, "REASONING_REQUEST", "Think, then draw.")
    reworded: Any = load_model("janus-pro", str(janus_dir), {"decode": "plain"})
    assert _fingerprint(reworded, tmp_path) != before
    monkeypatch.undo()

    # ... and a different chat template in the same weights (an adapter around built parts).
    same = janus_module.JanusProModel.from_components(
        model.model, model.processor, {"decode": "plain"}
    )
    processor = model.processor
    monkeypatch.setattr(processor, "chat_template", processor.chat_template + " ")
    other = janus_module.JanusProModel.from_components(model.model, processor, {"decode": "plain"})
    assert _fingerprint(other, tmp_path) != _fingerprint(same, tmp_path)


def test_composite_settings_carry_templates_and_three_libraries(
    parts: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _composite(parts)
    assert model.settings["libraries"] == library_versions("torch", "transformers", "diffusers")
    assert model.settings["libraries"]["diffusers"] == diffusers.__version__
    assert set(model.settings["templates"]) == {"reason", "chat", "pipeline_context"}
    before = _fingerprint(model, tmp_path)
    monkeypatch.setattr(sys.modules["diffusers"], "__version__", "9.9.9")
    assert _fingerprint(_composite(parts), tmp_path) != before
    monkeypatch.undo()
    # The instruction is janus.py's, shared: changing it there changes composite's key too
    # (composite's source fingerprint alone would not see it).
    monkeypatch.setattr(janus_module, "REASONING_REQUEST", "Plan the picture.")
    assert _fingerprint(_composite(parts), tmp_path) != before


def test_http_settings_carry_the_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}
    settings = load_model("http", None, args).settings
    assert settings["templates"]["reason"].endswith("</refined_prompt>.")
    monkeypatch.setattr(janus_module, "REASONING_REQUEST", "Plan the picture.")
    assert load_model("http", None, args).settings != settings


# -- per-item sampling ------------------------------------------------------------------------

PROMPTS = ["Draw 2 cups.", "Draw three red apples on a white table, then 6 blue cups.", "yes"]


def test_janus_sampled_text_does_not_depend_on_the_batch(janus_dir: Path) -> None:
    model: Any = load_model(
        "janus-pro",
        str(janus_dir),
        {"decode": "plain", "reason_tokens": "10", "answer_tokens": "6", "text_temperature": "1"},
    )
    batch = model.reason(PROMPTS, [11, 12, 13])
    for k, prompt in enumerate(PROMPTS):
        assert model.reason([prompt], [11 + k]) == [batch[k]]
    # In another order, with other neighbours, the same text.
    assert model.reason([PROMPTS[2], "Draw 1 cat.", PROMPTS[1]], [13, 5, 12])[::2] == [
        batch[2],
        batch[1],
    ]
    # Sampling is real: other seeds draw other texts; greedy ignores the seed.
    assert model.reason([PROMPTS[1]] * 3, [1, 2, 3]) != [batch[1]] * 3
    # answer() too, with and without images, per item.
    questions = ["How many?", "What color is the apple?"]
    both = model.answer([None, None], questions, [7, 8])
    assert model.answer([None], questions[1:], [8]) == both[1:]


def test_composite_sampled_text_does_not_depend_on_the_batch(parts: tuple[Path, Path]) -> None:
    model = _composite(parts, temperature="1", reason_tokens="8", answer_tokens="6")
    batch = model.reason(PROMPTS, [21, 22, 23])
    assert [model.reason([p], [21 + k])[0] for k, p in enumerate(PROMPTS)] == batch
    assert (
        model.answer([None, None], ["2 + 2?", "Is it red?"], [3, 4])[1]
        == model.answer([None], ["Is it red?"], [4])[0]
    )


def test_per_item_sampler_draws_from_the_softmax() -> None:
    from pytest_ureason.models.sampling import PerItemSampler

    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
    counts = torch.zeros(3)
    for seed in range(3000):
        sampler = PerItemSampler([seed], 1.0, prompt_length=4)
        counts[sampler(torch.zeros((1, 4), dtype=torch.long), logits).argmax()] += 1
    freq = counts / counts.sum()
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.03)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        PerItemSampler([0], 0.0, 1)
