"""Janus-Pro image throughput: raw batched decoding, the plugin, one item per call, decode paths.

Builds a Janus-Pro-1B-shaped model (the real configuration, random weights: speed does not
depend on weight values) directly on the device and measures, on the same instances in one
process, side by side:

1. ``fast`` decode path of the janus-pro adapter, batched, outside pytest (the harness' ceiling);
2. ``pytest --model janus-pro --condition direct`` through the plugin, in-process (the same
   adapter object is registered under ``janus-pro``, so compilation is not timed twice);
3. transformers' own Janus ``generate(generation_mode="image")``, batched (the plain loop);
4. the same library loop one item per call, as public evaluation scripts do (a few items);
5. the adapter's ``plain`` loop (eager, dynamic cache) on the same seeds as ``fast``: token
   agreement and code-usage distance, the fixed-seed check of the fast path;
6. the physical ceilings (weight and KV bytes per step over memory bandwidth; FLOPs per image
   over the matrix rate).

    python benchmarks/janus_throughput.py --size 1b --images 64 --out table.md     # GPU
    python benchmarks/janus_throughput.py --size tiny --images 4 --single 1        # CPU smoke
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# H100 SXM5 datasheet figures (dense bf16, HBM3).
HBM_BYTES_PER_S = 3.35e12
BF16_FLOPS = 989e12


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Any) -> tuple[float, Any]:
    sync()
    start = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - start, out


def build(size: str, device: str, dtype: str) -> tuple[Any, Any]:
    import torch
    from transformers import JanusForConditionalGeneration

    from pytest_ureason.models.testing import (
        byte_level_tokenizer,
        janus_config,
        janus_generation_config,
        janus_processor,
    )

    tokenizer = byte_level_tokenizer()
    config = janus_config(size, vocab_size=len(tokenizer))
    torch.manual_seed(0)
    with torch.device(device):
        model = JanusForConditionalGeneration(config).to(getattr(torch, dtype)).eval()
    model.generation_config = janus_generation_config(tokenizer)
    return model, janus_processor(config, tokenizer)


def suite_prompts(count: int, folder: Path) -> tuple[Path, list[str]]:
    """A generated arithmetic suite of ``count`` instances, and its prompts in order."""
    from pytest_ureason.suite import load_suite

    path = folder / "suites" / "bench.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"suite: bench/arithmetic\nversion: 1\ntask: arithmetic\ninstances:\n"
        f"  - {{generator: arithmetic, count: {count}, seed: 7}}\n"
    )
    suite = load_suite(path)
    assert not suite.errors, suite.errors
    return path, [i.prompt for i in suite.instances]


def plugin_run(adapter: Any, folder: Path, count: int) -> dict[str, Any]:
    """``pytest --model janus-pro`` in-process on the suite; generation rate and wall time."""
    import pytest

    from pytest_ureason.models import base

    base._REGISTRY["janus-pro"] = lambda path, options: adapter
    out = folder / "summary.json"
    args = [
        str(folder / "suites"),
        "--model",
        "janus-pro",
        "--condition",
        "direct",
        "--batch-size",
        str(count),
        f"--store={folder / 'store'}",
        f"--ureason-json={out}",
        "-q",
        "--tb=no",
        "-p",
        "no:cacheprovider",
        f"--rootdir={folder}",
    ]
    installed = {ep.name for ep in entry_points(group="pytest11")}
    if "ureason" not in installed:  # run from a source tree: load the plugin by module
        args += ["-p", "pytest_ureason.plugin"]
    start = time.perf_counter()
    code = pytest.main(args)
    wall = time.perf_counter() - start
    del base._REGISTRY["janus-pro"]
    summary = json.loads(out.read_text()) if out.exists() else {}
    t = summary.get("throughput", {})
    return {
        "exit": int(code),
        "wall": wall,
        "images": t.get("images", 0),
        "generate_seconds": t.get("generate_seconds", float("nan")),
    }


def ceilings(model: Any, images: int, prompt_len: int) -> list[str]:
    lm = model.model.language_model
    cfg = model.config.text_config
    params = sum(p.numel() for n, p in lm.named_parameters() if "embed_tokens" not in n)
    head = sum(p.numel() for p in model.model.generation_head.parameters())
    step_weights = 2 * (params + head)  # bf16 bytes read once per step
    tokens = model.config.vision_config.num_image_tokens
    kv_per_token = (
        2
        * cfg.num_hidden_layers
        * cfg.num_key_value_heads
        * (cfg.hidden_size // cfg.num_attention_heads)
        * 2
    )
    mean_ctx = prompt_len + tokens / 2
    kv_step = 2 * images * kv_per_token * mean_ctx  # CFG: two sequences per image
    step_s = (step_weights + kv_step) / HBM_BYTES_PER_S
    flops_image = 2 * 2 * (params + head) * tokens  # 2 FLOPs per weight, 2 sequences (CFG)
    return [
        f"decoder weights read per step: {step_weights / 1e9:.2f} GB -> "
        f"{1e3 * step_weights / HBM_BYTES_PER_S:.2f} ms at {HBM_BYTES_PER_S / 1e12:.2f} TB/s",
        f"KV cache read per step at {images} images (mean context {mean_ctx:.0f}): "
        f"{kv_step / 1e9:.2f} GB; bandwidth floor per step {1e3 * step_s:.2f} ms -> "
        f"{images / (step_s * tokens):.1f} images/s at batch {images}",
        f"matmul FLOPs per image (both CFG halves, {tokens} tokens): {flops_image / 1e12:.2f} "
        f"TFLOP -> {BF16_FLOPS / flops_image:.0f} images/s at {BF16_FLOPS / 1e12:.0f} TFLOP/s",
    ]


def main() -> int:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1b", choices=["1b", "tiny"])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--single", type=int, default=3, help="items for the one-per-call row")
    ap.add_argument("--out", default=os.environ.get("OUT", ".") + "/janus_throughput.md")
    ap.add_argument("--skip", default="", help="comma-separated rows to skip")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "bfloat16" if device == "cuda" else "float32"
    skip = set(filter(None, args.skip.split(",")))
    lines: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        lines.append(text)
        Path(args.out).write_text("\n".join(lines) + "\n")

    import transformers

    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    emit(f"# Janus-Pro throughput ({args.size}, random weights, {dtype})")
    emit(f"torch {torch.__version__}, transformers {transformers.__version__}, {gpu}")
    t0 = time.perf_counter()
    model, processor = build(args.size, device, dtype)
    from pytest_ureason.models.janus import JanusProModel

    fast = JanusProModel.from_components(model, processor, {"decode": "fast"}, tag="bench")
    plain = JanusProModel.from_components(model, processor, {"decode": "plain"}, tag="bench")
    tokens = model.config.vision_config.num_image_tokens
    emit(
        f"model built in {time.perf_counter() - t0:.1f} s; "
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters; "
        f"{tokens} image tokens, {model.config.vision_config.image_size} px"
    )
    folder = Path(tempfile.mkdtemp(prefix="janus-bench-"))
    _, prompts = suite_prompts(args.images, folder)
    n = len(prompts)
    seeds = [0] * n
    texts = fast.image_prompts(prompts, None)
    emit("")
    emit("| row | images | seconds | images/s | ms/step | note |")
    emit("|---|---|---|---|---|---|")

    def row(name: str, count: int, seconds: float, note: str = "", calls: int = 1) -> float:
        rate = count / seconds
        emit(
            f"| {name} | {count} | {seconds:.2f} | {rate:.3f} | "
            f"{1e3 * seconds / (tokens * calls):.1f} | {note} |"
        )
        return rate

    rates: dict[str, float] = {}
    fast_tokens = None
    try:
        warm, _ = timed(lambda: fast.generate(prompts, seeds))
        emit(f"| fast: warm-up (compile + graph capture) | {n} | {warm:.2f} | | | not a rate |")
        secs, fast_tokens = timed(lambda: fast.decoder.tokens(texts, seeds, 5.0, 1.0))
        rates["fast_tokens"] = row("fast decode, tokens only", n, secs)
        secs, _ = timed(lambda: fast.generate(prompts, seeds))
        rates["raw"] = row(
            "raw: adapter.generate, fast (tokens + VQ decode + PIL)",
            n,
            secs,
            "ceiling for the harness",
        )
    except Exception:
        emit(f"| fast path FAILED | | | | | {traceback.format_exc(limit=3)!r} |")
    if "plugin" not in skip:
        try:
            result = plugin_run(fast, folder, n)
            rates["plugin_gen"] = row(
                "pytest --model janus-pro: generation",
                int(result["images"]),
                float(result["generate_seconds"]),
                f"exit {result['exit']}; store writes included",
            )
            rates["plugin_wall"] = row(
                "pytest --model janus-pro: whole run",
                n,
                float(result["wall"]),
                "collection + judging included",
            )
        except Exception:
            emit(f"| plugin FAILED | | | | | {traceback.format_exc(limit=3)!r} |")
    if "library" not in skip:
        lib = fast.decoder

        def library(batch: list[str], s: list[int]) -> Any:
            return lib.pixels(lib.library_tokens(batch, s, 5.0, 1.0))

        secs, _ = timed(lambda: library(texts, seeds))
        rates["library"] = row("transformers Janus generate, batched", n, secs, "plain loop")
        k = min(args.single, n)
        secs, _ = timed(lambda: [library(texts[i : i + 1], [0]) for i in range(k)])
        rates["single"] = row(
            "transformers generate, one item per call", k, secs, f"{k} items timed", calls=k
        )
    if "plain" not in skip and fast_tokens is not None:
        secs, plain_tokens = timed(lambda: plain.decoder.tokens(texts, seeds, 5.0, 1.0))
        rates["plain"] = row("adapter plain loop (eager, dynamic cache)", n, secs)
        same = (plain_tokens == fast_tokens).float()
        codes = model.config.vq_config.num_embeddings
        hp = torch.bincount(plain_tokens.flatten(), minlength=codes).float()
        hf = torch.bincount(fast_tokens.flatten(), minlength=codes).float()
        tv = 0.5 * (hp / hp.sum() - hf / hf.sum()).abs().sum().item()
        # The null: the same fast path on other seeds (same distribution, other noise).
        other = fast.decoder.tokens(texts, [s + 1000 for s in seeds], 5.0, 1.0)
        ho = torch.bincount(other.flatten(), minlength=codes).float()
        tv_null = 0.5 * (ho / ho.sum() - hf / hf.sum()).abs().sum().item()
        emit("")
        emit(
            f"fixed-seed check, fast vs plain on the same {n} prompts and seeds: "
            f"first token equal in {same[:, 0].mean().item():.0%} of images, "
            f"{same.mean().item():.1%} of all tokens equal, code-usage total variation "
            f"{tv:.3f} (fast vs fast on other seeds, the sampling-noise floor: "
            f"{tv_null:.3f}); pixel mean/std plain "
            f"{_pixel_stats(plain, plain_tokens)} fast {_pixel_stats(fast, fast_tokens)}"
        )
    emit("")
    ratios = [
        ("plugin generation / raw (goal >= 0.9)", "plugin_gen", "raw"),
        ("plugin whole run / raw", "plugin_wall", "raw"),
        ("plugin generation / one item per call (goal >= 8)", "plugin_gen", "single"),
        ("fast / transformers loop at this batch (goal >= 3)", "raw", "library"),
        ("fast / adapter plain loop", "fast_tokens", "plain"),
    ]
    for label, a, b in ratios:
        if a in rates and b in rates:
            emit(f"- {label}: {rates[a] / rates[b]:.2f}x")
    emit("")
    emit("Physical ceilings (H100 SXM datasheet):")
    prompt_len = len(processor.tokenizer(texts[0])["input_ids"])
    for line in ceilings(model, n, prompt_len):
        emit(f"- {line}")
    if device == "cuda":
        emit(f"- peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    return 0


def _pixel_stats(adapter: Any, tokens: Any) -> str:
    import numpy as np

    images = adapter.decoder.pixels(tokens[:8])
    arr = np.stack([np.asarray(i, dtype=np.float32) for i in images])
    return f"{arr.mean():.1f}/{arr.std():.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
