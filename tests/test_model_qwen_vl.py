"""The qwen-vl adapter on tiny random-weight Qwen2.5-VL and Qwen3-VL checkpoints built offline
(the released classes, two layers of 64, a BPE tokenizer trained here): loading from a path,
batched answers equal to one-at-a-time answers, per-item sampling, out-of-memory halving,
errors for missing weights and bad options, and a pytest run that uses it as the ``--judge``."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

# Loaded before any in-process pytester run (a C extension cannot be imported twice).
import torch
import transformers.models.qwen2_5_vl.modeling_qwen2_5_vl
import transformers.models.qwen3_vl.modeling_qwen3_vl  # noqa: F401
from PIL import Image

from pytest_ureason.judge.model_assertions import answer_matches
from pytest_ureason.models.base import ModelLoadError, Unsupported, load_model
from pytest_ureason.models.testing import build_causal_lm_checkpoint
from pytest_ureason.models.testing_qwen import build_qwen_vl_checkpoint
from pytest_ureason.scene.grammar import parse_scene
from pytest_ureason.scene.render import render_scene
from tests.conftest import VQA_SUITE, write

FAMILIES = ["qwen2_5_vl", "qwen3_vl"]


@pytest.fixture(scope="module", params=FAMILIES)
def qwen_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    family = str(request.param)
    return build_qwen_vl_checkpoint(tmp_path_factory.mktemp(family) / f"tiny-{family}", family)


def _items() -> tuple[list[Image.Image | None], list[str]]:
    apples = render_scene(parse_scene("3 red apples"), seed=0, size=128)
    cups = render_scene(parse_scene("2 blue cups"), seed=1, size=96)
    wide = Image.new("RGB", (160, 60), "green")
    images: list[Image.Image | None] = [apples, None, cups, wide, None]
    questions = [
        "How many apples are there?",
        "What is 2 + 2?",
        "What color are the cups? Answer in one word.",
        "Is the picture green?",
        "Name a fruit.",
    ]
    return images, questions


def test_batched_answers_equal_one_at_a_time(qwen_dir: Path) -> None:
    batched = load_model("qwen-vl", str(qwen_dir), {"max_new_tokens": "6", "batch_size": "3"})
    single = load_model("qwen-vl", str(qwen_dir), {"max_new_tokens": "6", "batch_size": "1"})
    assert batched.settings["model_type"] == qwen_dir.name.removeprefix("tiny-")
    assert batched.revision == single.revision  # the batch size changes speed, not answers
    images, questions = _items()
    together = batched.answer(images, questions, [0] * 5)  # batches of 3 + 2, mixed
    alone = [single.answer([i], [q], [0])[0] for i, q in zip(images, questions, strict=True)]
    assert together == alone
    assert len(together) == 5 and len(set(together)) > 1  # not one constant reply
    # Greedy by default, although the checkpoint's generation config asks for sampling.
    assert batched.answer(images, questions, [7] * 5) == together


def test_sampling_is_per_item(qwen_dir: Path) -> None:
    model = load_model("qwen-vl", str(qwen_dir), {"max_new_tokens": "6", "temperature": "1"})
    images, questions = _items()
    seeds = [11, 12, 13, 14, 15]
    together = model.answer(images, questions, seeds)
    assert model.answer(images[2:3], questions[2:3], [13]) == together[2:3]
    assert model.answer(images[2:3], questions[2:3], [99]) != together[2:3]
    greedy = load_model("qwen-vl", str(qwen_dir), {"max_new_tokens": "6"})
    assert greedy.revision != model.revision and model.settings["temperature"] == 1.0


def test_reason_is_text_and_generate_is_unsupported(qwen_dir: Path) -> None:
    model = load_model("qwen-vl", str(qwen_dir), {"reason_tokens": "5"})
    texts = model.reason(["Draw as many apples as 2 + 1.", "Draw a cat."], [0, 1])
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    with pytest.raises(Unsupported, match="does not draw"):
        model.generate(["a cat"], [0])


def test_out_of_memory_halves_the_batch(qwen_dir: Path) -> None:
    model: Any = load_model("qwen-vl", str(qwen_dir), {"max_new_tokens": "4", "batch_size": "4"})
    images, questions = _items()
    expected = model.answer(images[:4], questions[:4], [0] * 4)
    real, sizes = model._generate, []

    def tight(batch: list[Any], tokens: int) -> list[str]:
        sizes.append(len(batch))
        if len(batch) > 1 or batch[0][1] == questions[3]:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return list(real(batch, tokens))

    model._generate = tight
    with pytest.raises(torch.cuda.OutOfMemoryError):  # the last item does not fit even alone
        model.answer(images[:4], questions[:4], [0] * 4)
    assert sizes == [4, 2, 1, 1, 2, 1, 1]
    sizes.clear()
    model._generate = lambda batch, tokens: (
        tight(batch, tokens) if len(batch) > 1 else real(batch, tokens)
    )
    assert model.answer(images[:4], questions[:4], [0] * 4) == expected
    assert sizes == [4, 2, 2]


def test_revision_follows_weights_and_settings(qwen_dir: Path, tmp_path: Path) -> None:
    base = load_model("qwen-vl", str(qwen_dir), {})
    assert base.revision.startswith("qwen-vl-")
    assert load_model("qwen-vl", str(qwen_dir), {}).revision == base.revision
    for args in ({"max_new_tokens": "7"}, {"max_pixels": "8192"}):
        assert load_model("qwen-vl", str(qwen_dir), args).revision != base.revision
    small: Any = load_model("qwen-vl", str(qwen_dir), {"min_pixels": "1024", "max_pixels": "4096"})
    assert (small.settings["min_pixels"], small.settings["max_pixels"]) == (1024, 4096)
    # max_pixels bounds the image's vision tokens.
    prompt = small._prompt("x", image=True)
    big = Image.new("RGB", (400, 400))
    grid = small.processor(text=[prompt], images=[big], size=small.pixels)["image_grid_thw"]
    assert int(grid.prod()) * (small.processor.image_processor.patch_size**2) <= 4096
    weights = qwen_dir / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    # Weights are fingerprinted by content: a touched file is the same model...
    assert load_model("qwen-vl", str(qwen_dir), {}).revision == base.revision
    # ...so is a copy in another folder, and new weights under the same file name are not.
    import shutil

    from safetensors.torch import load_file, save_file

    copy = Path(shutil.copytree(qwen_dir, tmp_path / "elsewhere"))
    assert load_model("qwen-vl", str(copy), {}).revision == base.revision
    weights = copy / "model.safetensors"
    tensors = load_file(str(weights))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1
    save_file(tensors, str(weights), metadata={"format": "pt"})
    assert load_model("qwen-vl", str(copy), {}).revision != base.revision


def test_revision_follows_code_libraries_and_templates(
    qwen_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What decides an answer beyond the weights and options: the per-item sampler's code,
    the torch / transformers versions, the chat template."""
    from pytest_ureason.models import qwen_vl

    base = load_model("qwen-vl", str(qwen_dir), {}).revision
    real_source, real_versions = qwen_vl.source_fingerprint, qwen_vl.library_versions

    def sampler_edited(*modules: str) -> str:
        edited = "pytest_ureason.models.sampling" in modules  # e.g. a new Gumbel salt
        return "edited" if edited else real_source(*modules)

    monkeypatch.setattr(qwen_vl, "source_fingerprint", sampler_edited)
    assert load_model("qwen-vl", str(qwen_dir), {}).revision != base
    monkeypatch.setattr(qwen_vl, "source_fingerprint", real_source)
    monkeypatch.setattr(
        qwen_vl, "library_versions", lambda *n: {**real_versions(*n), "transformers": "9.0"}
    )
    assert load_model("qwen-vl", str(qwen_dir), {}).revision != base
    monkeypatch.setattr(qwen_vl, "library_versions", real_versions)
    model: Any = load_model("qwen-vl", str(qwen_dir), {})
    processor = model.processor
    same = qwen_vl.QwenVLModel.from_components(model.model, processor).revision
    processor.chat_template = processor.chat_template.replace("helpful", "strict")
    assert qwen_vl.QwenVLModel.from_components(model.model, processor).revision != same


def test_batch_size_stays_out_of_the_judge_cache_key(qwen_dir: Path) -> None:
    """A vqa / yes-no judge answer cached with one --judge-arg batch_size is found with
    another (the batch size changes speed, not answers); max_new_tokens still counts."""
    from pytest_ureason.judge.judges import JudgeConfig
    from pytest_ureason.judge.observation import vqa_key
    from pytest_ureason.judge.yesno import YesNoJudge

    def keys(args: dict[str, str]) -> tuple[str, str]:
        options = tuple(args.items())
        config = JudgeConfig(judge="qwen-vl", judge_path=str(qwen_dir), judge_args=options)
        model = load_model("qwen-vl", str(qwen_dir), args)
        yesno = YesNoJudge.of(model, str(qwen_dir), args).key("image", "Is there a cat?")
        return vqa_key(model, config, "How many cats?"), yesno

    assert keys({"batch_size": "2"}) == keys({"batch_size": "16"}) == keys({})
    assert keys({"max_new_tokens": "9"}) != keys({})


def test_missing_weights_say_where_and_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelLoadError, match=r"no config\.json in nowhere \(missing folder\);"):
        load_model("qwen-vl", "nowhere", {})
    with pytest.raises(ModelLoadError, match=r"hf download Qwen/Qwen2\.5-VL-7B-Instruct"):
        load_model("qwen-vl", str(tmp_path), {})
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match=r"'someone/Qwen3-VL-8B' is not in the Hugging Face"):
        load_model("qwen-vl", None, {"repo": "someone/Qwen3-VL-8B"})
    llama = build_causal_lm_checkpoint(tmp_path / "llama")
    with pytest.raises(ModelLoadError, match="model_type 'llama'; this adapter loads qwen2_5_vl"):
        load_model("qwen-vl", str(llama), {})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"max_new_tokens": "0"}, r"max_new_tokens=0 is outside 1\.\.32768"),
        ({"batch_size": "many"}, "batch_size='many' is not a number"),
        ({"dtype": "int8"}, "dtype='int8' is not one of bfloat16"),
        ({"min_pixels": "9000", "max_pixels": "5000"}, "min_pixels=9000 is above max_pixels"),
        ({"max_pixels": "100"}, r"max_pixels=100 is below one merged patch"),
        ({"colour": "red"}, "unknown --model-arg colour"),
    ],
)
def test_bad_options_are_named(qwen_dir: Path, args: dict[str, str], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        load_model("qwen-vl", str(qwen_dir), args)


def test_pytest_run_with_qwen_vl_as_the_judge(pytester: pytest.Pytester, qwen_dir: Path) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(pytester.path / "suites" / "vqa.yaml", VQA_SUITE)
    junit = pytester.path / "out.xml"
    args = ["suites", "--model", "reference", "--condition", "direct", "-p", "no:cacheprovider"]
    judge = ["--judge", "qwen-vl", f"--judge-path={qwen_dir}", "--judge-arg=max_new_tokens=5"]
    result = pytester.runpytest(*args, *judge, f"--junitxml={junit}")
    result.stdout.fnmatch_lines(["*ureason judges:*vqa judge qwen-vl*"])
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    verdict = json.loads(props["ureason_verdicts"])[0]
    answer = verdict["evidence"]["answer"]
    assert verdict["evidence"]["judge"].startswith("qwen-vl@qwen-vl-")
    # Random weights write gibberish; the verdict is whatever the matching rules make of it.
    assert verdict["passed"] is answer_matches("3", answer)
    result.assert_outcomes(**({"passed": 1} if verdict["passed"] else {"failed": 1}))
    if not verdict["passed"]:
        result.stdout.fnmatch_lines(["*asked 'How many apples are there?', expected '3'*"])
    # A judge that cannot load skips the items that need it, with the reason.
    missing = pytester.runpytest(*args, "--judge", "qwen-vl", "--judge-path=nowhere", "-rs")
    missing.assert_outcomes(skipped=1)
    missing.stdout.fnmatch_lines(["*--judge qwen-vl: qwen-vl: no config.json in nowhere*"])
