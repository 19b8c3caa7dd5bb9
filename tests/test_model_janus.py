"""The janus-pro adapter on a tiny random-weight Janus checkpoint built offline (same classes as
Janus-Pro, a few layers of width 64, 64x64 images): end to end through pytest, the decode
paths, the store key, missing weights, and out-of-memory isolation."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# Loaded before any in-process pytester run (a C extension cannot be imported twice).
import torch
import transformers.models.janus.modeling_janus  # noqa: F401
from PIL import Image

from pytest_ureason.collect.schema import Case, Instance
from pytest_ureason.models.base import ModelLoadError, load_model
from pytest_ureason.models.janus_decode import chunk_sizes, hashed_gumbel, padded_images, seed_mix
from pytest_ureason.models.testing import build_janus_checkpoint
from pytest_ureason.run.harness import Harness
from pytest_ureason.run.store import Store

FAST = ["--model-arg=reason_tokens=12", "--model-arg=answer_tokens=4"]


@pytest.fixture(scope="module")
def janus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_janus_checkpoint(tmp_path_factory.mktemp("janus") / "tiny-janus")


@pytest.fixture(scope="module")
def janus(janus_dir: Path) -> Any:
    return load_model(
        "janus-pro", str(janus_dir), {"decode": "plain", "reason_tokens": "8", "answer_tokens": "4"}
    )


def test_pytest_run_all_conditions_with_tiny_janus(
    pytester: pytest.Pytester, suite_dir: Path, janus_dir: Path
) -> None:
    base = ["--model", "janus-pro", f"--model-path={janus_dir}", *FAST, "--batch-size", "4"]
    base += ["--detector", "classical"]  # random weights: the run checks the wiring
    result = pytester.runpytest(*base, "--ureason-json=a.json", "--junitxml=a.xml")
    # Random weights draw noise: every count assertion fails, honestly, with its reason.
    result.assert_outcomes(failed=9)
    result.stdout.fnmatch_lines(
        [
            "ureason: 4/9 images ready, 4 generated (*images/s)",
            "ureason: 9/9 images ready, 9 generated (*images/s)",
            "*arithmetic/add-1*direct-s0*",
            "*expected apple == 5, found 0*",
        ]
    )
    summary = json.loads((pytester.path / "a.json").read_text())
    assert summary["throughput"]["images"] == 9 and summary["throughput"]["reasonings"] == 3
    images = sorted((pytester.path / ".store" / "images").rglob("*.png"))
    # The store is content-addressed: random weights write the same gibberish reasoning for
    # all three instances, so their three decontext images share one prompt and one record.
    assert len(images) == 7
    for path in images:
        with Image.open(path) as img:
            assert img.size == (64, 64) and img.mode == "RGB"
    xml = (pytester.path / "a.xml").read_text()
    assert 'name="ureason_reasoning"' in xml and 'name="ureason_condition" value="decontext"' in xml

    # Same weights and settings: everything is reused. New guidance: nothing stale is reused.
    again = pytester.runpytest(*base, "--ureason-json=b.json")
    assert json.loads((pytester.path / "b.json").read_text())["throughput"]["reused"] == 9
    guided = pytester.runpytest(*base, "--model-arg=guidance=2", "--ureason-json=c.json")
    assert json.loads((pytester.path / "c.json").read_text())["throughput"]["images"] == 9
    again.assert_outcomes(failed=9)
    guided.assert_outcomes(failed=9)
    # The weights fingerprint is their content: a touched file is the same weights (reused)...
    weights = janus_dir / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = pytester.runpytest(*base, "--ureason-json=t.json")
    assert json.loads((pytester.path / "t.json").read_text())["throughput"]["reused"] == 9
    touched.assert_outcomes(failed=9)
    # ...new weights under the same file name (same size, other values) are regenerated.
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    name = next(n for n, t in sorted(tensors.items()) if t.is_floating_point())
    tensors[name] = tensors[name] + 0.5
    save_file(tensors, weights, metadata={"format": "pt"})
    assert weights.stat().st_size == stat.st_size
    rewritten = pytester.runpytest(*base, "--ureason-json=d.json")
    assert json.loads((pytester.path / "d.json").read_text())["throughput"]["images"] == 9
    rewritten.assert_outcomes(failed=9)


def test_missing_weights_say_where_and_how(pytester: pytest.Pytester, suite_dir: Path) -> None:
    result = pytester.runpytest(
        "--model", "janus-pro", "--model-path", "nowhere", "--detector", "classical", "-x"
    )
    result.stdout.fnmatch_lines(
        [
            "*model not loaded: janus-pro: no config.json in --model-path nowhere (missing folder);"
            " download a checkpoint*hf download deepseek-community/Janus-Pro-7B*"
        ]
    )


def test_no_path_and_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match=r"not in the Hugging Face cache \(" + str(tmp_path)):
        load_model("janus-pro", None, {"repo": "someone/Janus-Pro-1B"})


def test_bad_options_are_named(janus_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"guidance=-1 is outside 0\.\.100"):
        load_model("janus-pro", str(janus_dir), {"guidance": "-1"})
    with pytest.raises(ModelLoadError, match="decode='turbo' is not one of fast, static, plain"):
        load_model("janus-pro", str(janus_dir), {"decode": "turbo"})
    with pytest.raises(ModelLoadError, match="unknown --model-arg colour"):
        load_model("janus-pro", str(janus_dir), {"colour": "red"})
    with pytest.raises(ModelLoadError, match="attention='flash' is not one of auto, triton"):
        load_model("janus-pro", str(janus_dir), {"attention": "flash"})


def test_fast_and_plain_loops_draw_the_same_tokens(janus: Any, janus_dir: Path) -> None:
    fast = load_model("janus-pro", str(janus_dir), {"decode": "fast"})
    prompts = janus.image_prompts(["three apples", "a much longer prompt about a red cat"], None)
    plain_tokens = janus.decoder.tokens(prompts, [1, 2], 5.0, 1.0)
    fast_tokens = fast.decoder.tokens(prompts, [1, 2], 5.0, 1.0)  # type: ignore[attr-defined]
    assert torch.equal(plain_tokens, fast_tokens)
    # An image depends on its own prompt and seed only, not on its batch neighbours.
    alone = janus.decoder.tokens(prompts[1:], [2], 5.0, 1.0)
    assert torch.equal(alone[0], plain_tokens[1])
    other_seed = janus.decoder.tokens(prompts[:1], [3], 5.0, 1.0)
    assert not torch.equal(other_seed[0], plain_tokens[0])
    other_guidance = janus.decoder.tokens(prompts, [1, 2], 1.0, 1.0)
    assert not torch.equal(other_guidance, plain_tokens)
    # The fast path pads batches (3 -> 4 rows) and prompts; padding changes nothing drawn.
    three = fast.decoder.tokens([prompts[1], prompts[0], prompts[1]], [2, 1, 2], 5.0, 1.0)  # type: ignore[attr-defined]
    assert torch.equal(three[1], plain_tokens[0]) and torch.equal(three[2], plain_tokens[1])
    # A KV budget of two images splits three into chunks of 2 and 1; nothing drawn changes.
    decoder: Any = fast.decoder  # type: ignore[attr-defined]
    length = max(cache_length for _, cache_length in decoder._statics)
    decoder.budget = decoder.kv_bytes(2, length)
    assert decoder.capacity(length) == 2
    split = decoder.tokens([prompts[1], prompts[0], prompts[1]], [2, 1, 2], 5.0, 1.0)
    assert decoder.chunks_run[-2:] == [2, 1] and torch.equal(split, three)
    # A longer prompt grows the buffer and still draws what the plain loop draws.
    long = janus.image_prompts(["word " * 40], None)
    assert torch.equal(
        decoder.tokens(long, [4], 5.0, 1.0), janus.decoder.tokens(long, [4], 5.0, 1.0)
    )


def test_compiled_step_pieces_serve_every_layer_and_draw_the_same_tokens(janus: Any) -> None:
    """The pieces around attention compiled (dynamo with its eager backend, as on the GPU but
    without code generation): one graph per piece for all layers, one more when the batch size
    changes and never again; the tokens equal the plain loop's. Both masked attentions too."""
    import torch._dynamo.testing

    from pytest_ureason.models.janus_decode import BucketedDecoder

    prompts = janus.image_prompts(["three apples", "a much longer prompt about a red cat"], None)
    want = janus.decoder.tokens(prompts, [1, 2], 5.0, 1.0)
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounter()
    decoder = BucketedDecoder(janus.model, janus.processor, graphs=False, attention="sdpa")
    pieces = (decoder._before_attention, decoder._after_attention, decoder._tail)
    decoder._pieces = tuple(torch.compile(p, backend=counter, fullgraph=True) for p in pieces)
    assert torch.equal(decoder.tokens(prompts, [1, 2], 5.0, 1.0), want)
    assert counter.frame_count == 3  # not one per layer or per step
    four = decoder.tokens(prompts * 4, [1, 2] * 4, 5.0, 1.0)  # 8 images: other rows
    eight = decoder.tokens(prompts * 8, [1, 2] * 8, 5.0, 1.0)  # 16: rows already dynamic
    assert counter.frame_count == 6
    assert torch.equal(four[:2], want) and torch.equal(eight[-2:], want)
    matmul = BucketedDecoder(janus.model, janus.processor, graphs=False, attention="matmul")
    assert matmul.attention == "matmul" and not matmul.fuse
    assert torch.equal(matmul.tokens(prompts, [1, 2], 5.0, 1.0), want)
    with pytest.raises(ValueError, match="attention 'paged'"):
        BucketedDecoder(janus.model, janus.processor, graphs=False, attention="paged")


@pytest.mark.parametrize("piece", [0, 2])
def test_a_compilation_that_fails_falls_back_to_the_uncompiled_step(janus: Any, piece: int) -> None:
    """A failure in the first piece (before any cache write) or in the tail (after every
    layer wrote its keys and values): the retry rewrites the same positions."""
    from pytest_ureason.models.janus_decode import BucketedDecoder

    prompts = janus.image_prompts(["three apples"], None)
    want = janus.decoder.tokens(prompts, [1], 5.0, 1.0)
    decoder = BucketedDecoder(janus.model, janus.processor, graphs=False, fuse=True)

    def no_compiler(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")

    def broken() -> tuple[Any, ...]:
        pieces = [decoder._before_attention, decoder._after_attention, decoder._tail]
        pieces[piece] = no_compiler
        return tuple(pieces)

    # What inductor raises on a machine without a compiler, from the first compiled call.
    decoder._pieces = broken()
    with pytest.warns(RuntimeWarning, match="decode step failed.*InvalidCxx.*uncompiled"):
        got = decoder.tokens(prompts, [1], 5.0, 1.0)
    assert torch.equal(got, want) and not decoder.fuse
    # Without anything left to fall back to, a failing step is an error, not a silent retry.
    decoder._pieces = broken()
    with pytest.raises(RuntimeError, match="InvalidCxx"):
        decoder.tokens(prompts, [1], 5.0, 1.0)


def test_an_out_of_memory_error_wrapped_by_the_compiler_is_raised_as_itself(janus: Any) -> None:
    from pytest_ureason.models.janus_decode import BucketedDecoder

    decoder = BucketedDecoder(janus.model, janus.processor, graphs=False, fuse=True)

    def wrapped_oom(*args: Any, **kwargs: Any) -> None:
        try:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        except torch.OutOfMemoryError as exc:
            raise RuntimeError("BackendCompilerFailed: backend='inductor' raised") from exc

    decoder._pieces = (wrapped_oom, decoder._after_attention, decoder._tail)
    with pytest.raises(torch.OutOfMemoryError, match="Tried to allocate"):
        decoder.tokens(janus.image_prompts(["three apples"], None), [1], 5.0, 1.0)
    assert decoder.fuse  # not mistaken for a compiler that does not work


def test_triton_attention_that_cannot_launch_falls_back_to_sdpa(janus: Any) -> None:
    """Outside its interpreter Triton cannot launch on CPU tensors: a real launch failure, after
    layer 0 wrote its keys and values; the step reruns with masked attention."""
    from pytest_ureason.models.janus_decode import BucketedDecoder

    prompts = janus.image_prompts(["three apples", "a much longer prompt about a red cat"], None)
    want = janus.decoder.tokens(prompts, [1, 2], 5.0, 1.0)
    decoder = BucketedDecoder(janus.model, janus.processor, graphs=False, attention="triton")
    with pytest.warns(RuntimeWarning, match="attention through sdpa"):
        got = decoder.tokens(prompts, [1, 2], 5.0, 1.0)
    assert torch.equal(got, want) and decoder.attention == "sdpa"


def test_triton_attention_refuses_grouped_heads(janus: Any) -> None:
    from pytest_ureason.models.janus_decode import BucketedDecoder

    config = janus.model.config.text_config
    heads, kv = config.num_attention_heads, config.num_key_value_heads
    try:
        config.num_key_value_heads = max(1, heads // 2)
        with pytest.raises(ValueError, match="needs as many KV heads as heads"):
            BucketedDecoder(janus.model, janus.processor, graphs=False, attention="triton")
    finally:
        config.num_key_value_heads = kv


def test_fast_path_chunking_helpers() -> None:
    assert chunk_sizes(512, 200) == [171, 171, 170] and chunk_sizes(64, 300) == [64]
    assert chunk_sizes(5, 1) == [1] * 5
    assert [padded_images(k, 1000) for k in (1, 3, 9, 17, 64, 65)] == [1, 4, 16, 32, 64, 80]
    assert padded_images(171, 172) == 172 and padded_images(171, 171) == 171


def test_hashed_gumbel_noise_is_gumbel() -> None:
    codes = torch.arange(4096).unsqueeze(0)
    mix = torch.tensor([[seed_mix(0)], [seed_mix(1)]])
    g = hashed_gumbel(mix, torch.tensor(0), codes)
    assert torch.isfinite(g).all()
    assert abs(g.mean().item() - 0.5772) < 0.05 and abs(g.std().item() - 1.2825) < 0.05
    assert not torch.equal(g[0], g[1])
    assert not torch.equal(g, hashed_gumbel(mix, torch.tensor(1), codes))


def test_reason_answer_generate_with_context(janus: Any) -> None:
    texts = janus.reason(["Draw 2 cups."], [0])
    assert isinstance(texts[0], str)
    answers = janus.answer([Image.new("RGB", (40, 30), "red"), None], ["color?", "2+2?"], [0, 0])
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    with_context, bare = janus.generate(["a cat", "a cat"], [0, 0], ["it is orange", None])
    assert with_context.size == bare.size == (64, 64)
    # Prompt and reasoning share one user turn of the chat template, as the model sees them.
    assert janus.image_prompts(["a cat"], ["it is orange"]) == [
        "<|User|>: a cat\n\nit is orange\n\n<|Assistant|>:"
    ]


class OomAbove:
    """Raises CUDA out-of-memory for batches above ``limit``, and always for ``poison``."""

    name, revision, settings = "oom", "1", {}

    def __init__(self, limit: int, poison: str):
        self.limit, self.poison, self.calls = limit, poison, []  # type: list[int]

    def generate(self, prompts: list[str], seeds: list[int], contexts: Any = None) -> list[Any]:
        self.calls.append(len(prompts))
        if len(prompts) > self.limit or self.poison in prompts:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [Image.new("RGB", (8, 8)) for _ in prompts]

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        return ["" for _ in prompts]

    def answer(self, images: Any, questions: list[str], seeds: list[int]) -> list[str]:
        return ["" for _ in questions]


def test_out_of_memory_halves_the_batch_and_fails_only_the_item_that_cannot_fit(
    tmp_path: Path,
) -> None:
    model = OomAbove(limit=2, poison="p5")
    harness = Harness(model, Store(tmp_path), batch_size=8)  # type: ignore[arg-type]
    cases = [
        Case(Instance(id=f"i{k}", task="t", prompt=f"p{k}", expect=()), "direct", 0)
        for k in range(8)
    ]
    harness.prepare(cases)
    errors = {c.instance.id: harness.outcomes[c].error for c in cases}
    assert [k for k, e in errors.items() if e] == ["i5"]
    assert "OutOfMemoryError" in str(errors["i5"])
    # 8 -> 4 + 4; each 4 -> 2 + 2; the 2 holding the poison -> 1 + 1.
    assert model.calls == [8, 4, 2, 2, 4, 2, 1, 1, 2]
