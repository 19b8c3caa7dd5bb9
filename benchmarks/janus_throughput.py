"""Janus-Pro image throughput over a batch sweep: raw decoding, the plugin, transformers' loop.

Builds a Janus-Pro-1B- or -7B-shaped model (the real configuration, random weights: speed does
not depend on weight values) directly on the device and measures in one process, for each
batch size (``--batches``), side by side:

1. the adapter's ``fast`` decode path (own KV buffer, attention over the filled length, CUDA
   graph per length bucket, chunks sized from free memory), tokens only and ``generate``
   (tokens + VQ decode + PIL): the raw rate, the harness' ceiling; its ms per step against the
   bandwidth floor (weights + the KV actually filled, per step);
2. ``pytest --model janus-pro --condition direct --batch-size B`` on B instances, in-process
   (the same adapter object is registered under ``janus-pro``): generation rate and whole run;
3. transformers' own Janus ``generate(generation_mode="image")``, batched, up to
   ``--library-max`` images (above, its dynamic cache does not fit), and one item per call;
4. optionally the previous fast path (``static``: StaticCache over its full length, compiled);
5. the fixed-seed check: the adapter's ``plain`` loop (eager, dynamic cache) against ``fast``
   on the same prompts and seeds (first-token agreement, code-usage total variation against
   the sampling-noise floor of ``fast`` on other seeds).

    python benchmarks/janus_throughput.py --size 1b --batches 64,128,256,512 --out t.md  # GPU
    python benchmarks/janus_throughput.py --size tiny --batches 2,4 --single 1 --fidelity 2 # CPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from functools import partial
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
    from pytest_ureason.collect.loader import load_suite

    path = folder / "suites" / "bench.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"suite: bench/arithmetic\nversion: 1\ntask: arithmetic\ninstances:\n"
        f"  - {{generator: arithmetic, count: {count}, seed: 7}}\n"
    )
    suite = load_suite(path)
    assert not suite.errors, suite.errors
    return path, [i.prompt for i in suite.instances]


def plugin_run(
    adapter: Any, folder: Path, count: int, batch: int, lookahead: str = "on"
) -> dict[str, Any]:
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
        str(batch),
        "--lookahead",
        lookahead,
        f"--store={folder / 'store'}",
        f"--ureason-json={out}",
        "-q",
        "--tb=no",
        "-p",
        "no:cacheprovider",
        f"--rootdir={folder}",
        "--detector",  # random weights: the judge is not what is timed; name the fallback
        "classical",
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


def geometry(model: Any) -> tuple[float, float]:
    """(bytes of weights read per decode step, KV bytes per token per sequence)."""
    lm = model.model.language_model
    cfg = model.config.text_config
    params = sum(p.numel() for n, p in lm.named_parameters() if "embed_tokens" not in n)
    head = sum(p.numel() for p in model.model.generation_head.parameters())
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    kv_token = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * head_dim * 2
    return 2.0 * (params + head), float(kv_token)


def floor_ms(model: Any, images: int, prompt_len: int) -> tuple[float, float]:
    """Bandwidth floor per step at ``images`` (weights + KV filled, mean over the image), and
    the same with the KV read over the whole allocated length (a static cache)."""
    weights, kv_token = geometry(model)
    tokens = model.config.vision_config.num_image_tokens
    filled = 2 * images * kv_token * (prompt_len + tokens / 2)
    full = 2 * images * kv_token * (prompt_len + tokens)
    return 1e3 * (weights + filled) / HBM_BYTES_PER_S, 1e3 * (weights + full) / HBM_BYTES_PER_S


def main() -> int:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1b", choices=["1b", "7b", "tiny"])
    ap.add_argument("--batches", default="64,128,256,512")
    ap.add_argument("--rows", default="fast,plugin,library,single,fidelity")
    ap.add_argument("--library-max", type=int, default=128)
    ap.add_argument("--single", type=int, default=2, help="items for the one-per-call row")
    ap.add_argument("--fidelity", type=int, default=64, help="images in the fixed-seed check")
    ap.add_argument("--static-at", type=int, default=0, help="time decode=static at this batch")
    ap.add_argument(
        "--whole",
        default="",
        help="whole runs: INSTANCES:BATCH[,...], each with --lookahead on and off",
    )
    ap.add_argument("--whole-modes", default="on,off", help="--lookahead values of --whole")
    ap.add_argument(
        "--variants",
        default="",
        help="fast-path variants timed tokens-only at every batch: ATTENTION:FUSE[,...], e.g. "
        "sdpa:off,triton:on (attention sdpa/matmul/triton; fuse on/off: regional compile)",
    )
    ap.add_argument("--variant-batches", default="", help="batches of --variants (default all)")
    ap.add_argument("--fast-attention", default="auto", help="attention of the main fast rows")
    ap.add_argument("--attn-config", default="", help="JSON launch shape from decode_attention.py")
    ap.add_argument("--profile", type=int, default=0, help="kernel-time breakdown at this batch")
    ap.add_argument("--out", default=os.environ.get("OUT", ".") + "/janus_throughput.md")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "bfloat16" if device == "cuda" else "float32"
    if args.attn_config and Path(args.attn_config).exists():
        from pytest_ureason.models import decode_attention

        shape = json.loads(Path(args.attn_config).read_text())
        decode_attention.CHUNK, decode_attention.BLOCK = shape["chunk"], shape["block"]
        decode_attention.WARPS, decode_attention.STAGES = shape["warps"], shape["stages"]
    rows = set(args.rows.split(","))
    batches = [int(b) for b in args.batches.split(",")]
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

    fast = JanusProModel.from_components(
        model, processor, {"decode": "fast", "attention": args.fast_attention}, tag="bench"
    )
    tokens = model.config.vision_config.num_image_tokens
    weights, kv_token = geometry(model)
    emit(
        f"model built in {time.perf_counter() - t0:.1f} s; "
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters; "
        f"{tokens} image tokens, {model.config.vision_config.image_size} px; decoder weights "
        f"read per step {weights / 1e9:.2f} GB; KV {kv_token / 1e3:.0f} KB per token per sequence"
    )
    top = Path(tempfile.mkdtemp(prefix="janus-bench-"))
    _, prompts = suite_prompts(max(batches), top)
    texts = fast.image_prompts(prompts, None)
    prompt_len = len(processor.tokenizer(texts[0])["input_ids"])
    emit(f"prompt ~{prompt_len} tokens; floors: H100 SXM {HBM_BYTES_PER_S / 1e12:.2f} TB/s")
    emit("")
    emit(
        "| batch | row | images | seconds | images/s | ms/step | floor ms/step (filled KV) "
        "| peak GiB | note |"
    )
    emit("|---|---|---|---|---|---|---|---|---|")

    def peak() -> str:
        if device != "cuda":
            return ""
        return f"{torch.cuda.max_memory_allocated() / 2**30:.1f}"

    def row(
        b: int,
        name: str,
        count: int,
        secs: float,
        note: str = "",
        steps: int = 0,
        per_step: float = 0.0,
    ) -> float:
        """A table row; ``per_step``: images in one step (the mean chunk), default the batch."""
        rate = count / secs
        per = f"{1e3 * secs / steps:.2f}" if steps else ""
        images = per_step or min(count, b)
        floor = f"{floor_ms(model, images, prompt_len)[0]:.2f}" if steps else ""
        emit(
            f"| {b} | {name} | {count} | {secs:.2f} | {rate:.2f} | {per} | {floor} | {peak()} "
            f"| {note} |"
        )
        return rate

    def decode_twice(decoder: Any, b: int) -> tuple[float, float, list[int]]:
        """Seconds of a first call (compilation, graph capture) and of a second one of ``b``
        images, and the chunks the second decoded."""
        call = partial(decoder.tokens, texts[:b], [0] * b, 5.0, 1.0)
        warm, _ = timed(call)
        before = len(decoder.chunks_run)
        secs, _ = timed(call)
        return warm, secs, decoder.chunks_run[before:]

    rates: dict[tuple[str, int], float] = {}
    for b in batches:
        sub, seeds = prompts[:b], [0] * b
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        if "fast" in rows or "tokens" in rows:
            try:
                dec: Any = fast.decoder
                warm, secs, chunks = decode_twice(dec, b)
                steps = len(chunks) * (tokens - 1)
                budget = "none" if dec.budget is None else f"{dec.budget / 2**30:.1f} GiB"
                emit(
                    f"| {b} | fast: first call (graph capture) | {b} | {warm:.2f} | | | | {peak()} "
                    f"| chunks {chunks}, KV budget {budget} |"
                )
                rates[("tokens", b)] = row(
                    b,
                    "fast decode, tokens only",
                    b,
                    secs,
                    f"attention {dec.attention}, fuse {dec.fuse}{_launch(dec)}",
                    steps,
                    sum(chunks) / len(chunks),
                )
                if "fast" in rows:  # "tokens": the decode loop only
                    secs, _ = timed(partial(fast.generate, sub, seeds))
                    rates[("raw", b)] = row(b, "raw: adapter.generate (tokens + VQ + PIL)", b, secs)
            except Exception:
                emit(f"| {b} | fast FAILED | | | | | | | {traceback.format_exc(limit=3)!r} |")
        if "plugin" in rows:
            try:
                folder = top / f"plugin-{b}"
                suite_prompts(b, folder)
                result = plugin_run(fast, folder, b, b)
                rates[("plugin", b)] = row(
                    b,
                    "pytest --model janus-pro: generation",
                    int(result["images"]),
                    float(result["generate_seconds"]),
                    f"exit {result['exit']}; store writes in",
                )
                rates[("wall", b)] = row(
                    b,
                    "pytest --model janus-pro: whole run",
                    b,
                    float(result["wall"]),
                    "collection + judging + report",
                )
            except Exception:
                emit(f"| {b} | plugin FAILED | | | | | | | {traceback.format_exc(limit=3)!r} |")
        if "library" in rows and b <= args.library_max:
            try:
                library = partial(fast.decoder.library_tokens, texts[:b], seeds, 5.0, 1.0)
                secs, _ = timed(lambda: fast.decoder.pixels(library()))  # noqa: B023
                rates[("library", b)] = row(
                    b, "transformers Janus generate, batched", b, secs, "", tokens
                )
            except Exception:
                emit(f"| {b} | library FAILED | | | | | | | {traceback.format_exc(limit=2)!r} |")
    lib = fast.decoder
    if "single" in rows and args.single:
        k = args.single
        secs, _ = timed(
            lambda: [
                lib.pixels(lib.library_tokens(texts[i : i + 1], [0], 5.0, 1.0)) for i in range(k)
            ]
        )
        rates[("single", 1)] = row(
            1, "transformers generate, one item per call", k, secs, f"{k} items timed", k * tokens
        )
    if args.static_at:
        b = args.static_at
        static = JanusProModel.from_components(model, processor, {"decode": "static"}, tag="bench")
        try:
            warm, _ = timed(lambda: static.decoder.tokens(texts[:b], [0] * b, 5.0, 1.0))
            emit(f"| {b} | static (previous fast path): warm-up | {b} | {warm:.2f} | | | | | |")
            secs, _ = timed(lambda: static.decoder.tokens(texts[:b], [0] * b, 5.0, 1.0))
            rates[("static", b)] = row(
                b,
                "static (previous fast path), tokens only",
                b,
                secs,
                "StaticCache, full length",
                tokens - 1,
            )
        except Exception:
            emit(f"| {b} | static FAILED | | | | | | | {traceback.format_exc(limit=2)!r} |")
        static.decoder.release()
        del static
    for spec in filter(None, args.whole.split(",")):
        n, _, b_text = spec.partition(":")
        count, b = int(n), int(b_text or n)
        for mode in args.whole_modes.split(","):
            try:
                folder = top / f"whole-{count}-{b}-{mode}"
                suite_prompts(count, folder)
                result = plugin_run(fast, folder, count, b, mode)
                rates[(f"whole-{mode}", count)] = row(
                    b,
                    f"whole run, {count} instances, --lookahead {mode}",
                    count,
                    float(result["wall"]),
                    f"exit {result['exit']}; generation {result['generate_seconds']:.1f} s",
                )
            except Exception:
                emit(f"| {b} | whole FAILED | | | | | | | {traceback.format_exc(limit=3)!r} |")
        best_raw = max(
            (r for (k, _), r in rates.items() if k in ("raw", "plugin")), default=float("nan")
        )
        on, off = rates.get(("whole-on", count)), rates.get(("whole-off", count))
        if on and off:
            emit(
                f"- whole run {count} instances at --batch-size {b}: lookahead on "
                f"{on:.2f} images/s, off {off:.2f} ({on / off:.2f}x); on / best generation rate "
                f"{on / best_raw:.2f}x"
            )
        elif on:
            emit(
                f"- whole run {count} instances at --batch-size {b}, lookahead on: {on:.2f} "
                f"images/s; / best generation rate (plugin or raw) {on / best_raw:.2f}x"
            )
    if "fidelity" in rows and args.fidelity:
        f = args.fidelity
        plain = JanusProModel.from_components(model, processor, {"decode": "plain"}, tag="bench")
        seeds = list(range(f))
        fast_tokens = fast.decoder.tokens(texts[:f], seeds, 5.0, 1.0)
        secs, plain_tokens = timed(lambda: plain.decoder.tokens(texts[:f], seeds, 5.0, 1.0))
        row(
            f,
            "adapter plain loop (eager, dynamic cache)",
            f,
            secs,
            "fidelity reference",
            tokens - 1,
        )
        same = (plain_tokens == fast_tokens).float()
        codes = model.config.vq_config.num_embeddings
        hp = torch.bincount(plain_tokens.flatten(), minlength=codes).float()
        hf = torch.bincount(fast_tokens.flatten(), minlength=codes).float()
        tv = 0.5 * (hp / hp.sum() - hf / hf.sum()).abs().sum().item()
        other = fast.decoder.tokens(texts[:f], [s + 1000 for s in seeds], 5.0, 1.0)
        ho = torch.bincount(other.flatten(), minlength=codes).float()
        tv_null = 0.5 * (ho / ho.sum() - hf / hf.sum()).abs().sum().item()
        emit("")
        emit(
            f"fixed-seed check, fast vs plain on the same {f} prompts and seeds: first token "
            f"equal in {same[:, 0].mean().item():.0%} of images, {same.mean().item():.1%} of all "
            f"tokens equal, code-usage total variation {tv:.3f} (fast vs fast on other seeds, the "
            f"sampling-noise floor: {tv_null:.3f}); pixel mean/std plain "
            f"{_pixel_stats(plain, plain_tokens)} fast {_pixel_stats(fast, fast_tokens)}"
        )
    if args.profile and device == "cuda":
        try:
            emit("")
            emit(profile(fast.decoder, texts[: args.profile]))
            emit("")
        except Exception:
            emit(f"profile FAILED: {traceback.format_exc(limit=3)!r}")
    for variant in filter(None, args.variants.split(",")):
        attention, _, fuse = variant.partition(":")
        fast.decoder.release()
        fast.decoder.budget = None  # the released budget was halved: size it afresh
        other = JanusProModel.from_components(
            model, processor, {"decode": "fast", "attention": attention}, tag="bench"
        )
        dec2: Any = other.decoder
        dec2.fuse = fuse == "on" and dec2.graphs
        for b in (
            [int(v) for v in args.variant_batches.split(",")] if args.variant_batches else batches
        ):
            try:
                warm, secs, chunks = decode_twice(dec2, b)
                rates[(f"variant {variant}", b)] = row(
                    b,
                    f"fast, attention {dec2.attention}, fuse {fuse}, tokens only",
                    b,
                    secs,
                    f"first call {warm:.1f} s; chunks {chunks}",
                    len(chunks) * (tokens - 1),
                    sum(chunks) / len(chunks),
                )
            except Exception:
                emit(f"| {b} | {variant} FAILED | | | | | | | {traceback.format_exc(limit=3)!r} |")
        dec2.release()
        del other, dec2
    emit("")
    best = max((r for (k, _), r in rates.items() if k == "tokens"), default=float("nan"))
    for b in batches:
        parts = []
        for label, key in (
            ("plugin generation / best fast tokens", "plugin"),
            ("plugin generation / raw", "plugin"),
            ("whole run / raw", "wall"),
            ("raw / transformers loop", "raw"),
        ):
            if (key, b) not in rates:
                continue
            if label.endswith("best fast tokens"):
                parts.append(f"{label} {rates[(key, b)] / best:.2f}x")
                upto = [r for (k, c), r in rates.items() if k == "tokens" and c <= b]
                if upto:
                    parts.append(
                        f"plugin generation / best fast tokens at batches <= {b} "
                        f"{rates[(key, b)] / max(upto):.2f}x"
                    )
            elif label.endswith("/ raw") and ("raw", b) in rates:
                parts.append(f"{label} {rates[(key, b)] / rates[('raw', b)]:.2f}x")
            elif ("library", b) in rates:
                parts.append(f"{label} {rates[(key, b)] / rates[('library', b)]:.2f}x")
        emit(f"- batch {b}: " + "; ".join(parts))
    emit("")
    emit("Floors (H100 SXM datasheet bandwidth):")
    for b in batches:
        filled, full = floor_ms(model, b, prompt_len)
        emit(
            f"- {b} images: {filled:.2f} ms/step reading weights + filled KV "
            f"({b / (filled * tokens / 1e3):.1f} images/s); {full:.2f} ms reading the full length"
        )
    big = 4096
    kv_img = 2 * kv_token * (prompt_len + tokens / 2)
    big_rate = big / (floor_ms(model, big, prompt_len)[0] * tokens / 1e3)
    emit(
        f"- large-batch ceiling (KV only): {HBM_BYTES_PER_S / (kv_img * tokens):.1f} images/s "
        f"(weights amortised; e.g. {big} images {big_rate:.1f})"
    )
    return 0


def _launch(decoder: Any) -> str:
    if decoder.attention != "triton":
        return ""
    from pytest_ureason.models import decode_attention as da

    return f" (chunk {da.CHUNK}, block {da.BLOCK}, warps {da.WARPS}, stages {da.STAGES})"


def profile(decoder: Any, texts: list[str]) -> str:
    """Where one call's GPU time goes: kernels grouped by kind, as a markdown table."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    n = len(texts)
    decoder.tokens(texts, [0] * n, 5.0, 1.0)  # capture outside the profile
    with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
        decoder.tokens(texts, [0] * n, 5.0, 1.0)
        torch.cuda.synchronize()
    kinds: dict[str, float] = {}
    for event in prof.key_averages():
        micros = float(getattr(event, "self_device_time_total", 0.0) or 0.0)
        if micros <= 0:
            continue
        name = event.key.lower()
        kind = next(
            (
                label
                for words, label in (
                    (("partial_chunks", "combine_chunks"), "attention (triton)"),
                    (("fmha", "flash", "attention", "efficient"), "attention (sdpa)"),
                    (("gemm", "gemv", "cutlass", "sm90", "nvjet", "matmul"), "matmul (weights)"),
                    (("index_copy", "index_put", "scatter"), "KV write"),
                    (("triton_",), "fused elementwise (inductor)"),
                    (("memcpy", "memset", "fill", "copy"), "copies/fills"),
                )
                if any(w in name for w in words)
            ),
            "other elementwise/reduction",
        )
        kinds[kind] = kinds.get(kind, 0.0) + micros
    steps = decoder.num_tokens - 1
    total = sum(kinds.values())
    lines = [
        f"GPU time by kernel kind, {n} images, one call ({steps} steps; profiler on):",
        "",
        "| kind | ms per step | share |",
        "|---|---|---|",
    ]
    for kind, micros in sorted(kinds.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {kind} | {micros / 1e3 / steps:.3f} | {micros / total:.0%} |")
    lines.append(f"| all kernels | {total / 1e3 / steps:.3f} | |")
    return "\n".join(lines)


def _pixel_stats(adapter: Any, tokens: Any) -> str:
    import numpy as np

    images = adapter.decoder.pixels(tokens[:8])
    arr = np.stack([np.asarray(i, dtype=np.float32) for i in images])
    return f"{arr.mean():.1f}/{arr.std():.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
