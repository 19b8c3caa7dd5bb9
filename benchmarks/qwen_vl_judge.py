"""Judge throughput of the qwen-vl adapter: images judged per second, batched vs one at a time.

Each image gets the same short question and the adapter's ``answer`` writes exactly
``--max-new-tokens`` tokens (the end-of-sequence token is disabled, so every batch size does
the same work), greedy, as a ``vqa`` judge does. Random weights: the shapes, not the answers,
decide the time.

* ``--size tiny``: the tiny Qwen2.5-VL of the tests (``pytest_ureason.models.testing_qwen``).
* ``--size 7b``: Qwen2.5-VL-7B's real shape (text hidden 3584, 28 layers, 28 / 4 heads,
  intermediate 18944, vocabulary 152064; vision depth 32, hidden 1280), random weights built
  directly on the device in ``--dtype``.

For each batch size: one warm-up batch, then ``--images`` images timed (``--single-images``
for batch 1), CUDA synchronised. Rows go to ``--out`` (JSON lines) as they are measured.

    python benchmarks/qwen_vl_judge.py --size tiny --device cpu --batches 1,8,32 --images 32
    python benchmarks/qwen_vl_judge.py --size 7b --device cuda --batches 1,8,32 --images 64 \
        --out benchmarks/results/qwen_vl_judge_gpu.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

QUESTION = "How many apples are there? Answer with a number."


def scenes(n: int, side: int) -> list[Any]:
    """``n`` reference renders of ``side`` x ``side`` pixels (apples and cups)."""
    from pytest_ureason.scene.grammar import parse_scene
    from pytest_ureason.scene.render import render_scene

    scene = [parse_scene(f"{i % 5 + 1} red apples and a cup") for i in range(n)]
    return [render_scene(s, i, side) for i, s in enumerate(scene)]


def build(size: str, device: str, dtype: str) -> tuple[Any, Any]:
    """(model, processor) of the given shape with random weights, built on ``device``."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from pytest_ureason.models.testing_qwen import qwen_tokenizer, qwen_vl_config, qwen_vl_processor

    tokenizer = qwen_tokenizer()
    config = qwen_vl_config("qwen2_5_vl", size, vocab_size=len(tokenizer))
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model = Qwen2_5_VLForConditionalGeneration(config).eval()
    finally:
        torch.set_default_dtype(default)
    model.generation_config.eos_token_id = None  # fixed-length answers: equal work per image
    model.generation_config.pad_token_id = 0
    return model, qwen_vl_processor(config, tokenizer)


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("tiny", "7b"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, else float32")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--images", type=int, default=32, help="images timed per batched row")
    parser.add_argument("--single-images", type=int, default=8, help="images timed at batch 1")
    parser.add_argument("--side", type=int, default=448)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from pytest_ureason.models.qwen_vl import QwenVLModel

    dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    start = time.perf_counter()
    model, processor = build(args.size, args.device, dtype)
    built = time.perf_counter() - start
    where = (
        torch.cuda.get_device_name(args.device)
        if args.device.startswith("cuda")
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    params = sum(p.numel() for p in model.parameters()) / 1e9
    print(
        f"qwen2.5-vl {args.size}: {params * 1000:,.1f} M parameters, {dtype}, on {where}, built in "
        f"{built:.1f} s; {args.side}x{args.side} images, {args.max_new_tokens} new tokens"
    )
    print(f"{'batch':>6}{'images':>8}{'seconds':>10}{'images/s':>10}{'ms/image':>10}")
    pool = scenes(
        max(args.images, args.single_images, *map(int, args.batches.split(","))), args.side
    )
    base = None
    for batch in (int(b) for b in args.batches.split(",")):
        adapter = QwenVLModel.from_components(
            model,
            processor,
            {
                "device": args.device,
                "dtype": dtype,
                "batch_size": str(batch),
                "max_new_tokens": str(args.max_new_tokens),
                "max_pixels": str(args.side * args.side),  # the whole image, as drawn
            },
        )
        n = args.single_images if batch == 1 else args.images
        adapter.answer(pool[:batch], [QUESTION] * batch, [0] * batch)  # warm-up
        sync(args.device)
        t0 = time.perf_counter()
        answers = adapter.answer(pool[:n], [QUESTION] * n, list(range(n)))
        sync(args.device)
        seconds = time.perf_counter() - t0
        assert len(answers) == n
        rate = n / seconds
        base = base or rate
        row = {
            "model": f"qwen2.5-vl-{args.size}",
            "device": where,
            "dtype": dtype,
            "side": args.side,
            "max_new_tokens": args.max_new_tokens,
            "batch": batch,
            "images": n,
            "seconds": round(seconds, 3),
            "images_per_s": round(rate, 3),
            "ms_per_image": round(1000 / rate, 1),
            "speedup_vs_first": round(rate / base, 2),
            "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 1)
            if args.device.startswith("cuda")
            else None,
        }
        print(f"{batch:>6}{n:>8}{seconds:>10.2f}{rate:>10.2f}{1000 / rate:>10.1f}", flush=True)
        if args.out is not None:
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
