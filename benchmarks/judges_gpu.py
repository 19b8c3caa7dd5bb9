"""Latency per image of the model judges at real size: OWLv2-base/16 (960 px), CLIP ViT-B/16
(224 px) and, optionally, Grounding DINO-tiny, with random weights (the shapes, not the
accuracy, decide the time), at several batch sizes.

For each model and dtype it prints the forward pass alone (inputs already on the device,
CUDA synchronised) and, for OWLv2 and Grounding DINO, the whole detector as the plugin runs it
(:class:`~pytest_ureason.judge.detect.openvocab.OpenVocabularyDetector`: preprocessing on the CPU,
forward, post-processing, NMS, color naming), in milliseconds per image, for the four labels of
:data:`LABELS`. OWLv2's forward pass scores all four queries at once; Grounding DINO's forward
row is one label's prompt, and its detector runs one prompt per label (four passes per image),
as the plugin does. Rows are written to
``--out`` (JSON lines) as they are measured, so a crash keeps what was done.

    python benchmarks/judges_gpu.py --device cuda --out judges_gpu.jsonl
    python benchmarks/judges_gpu.py --size tiny --device cpu --batches 1,2   # a quick check
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LABELS = ["apple", "cup", "dog", "clock"]


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str, reps: int) -> float:
    """Median seconds of ``fn`` over ``reps`` runs after one warm-up."""
    fn()
    _sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def images(n: int, side: int = 384) -> list[Any]:
    from pytest_ureason.scene.grammar import parse_scene
    from pytest_ureason.scene.render import render_scene

    return [
        render_scene(parse_scene(f"{i % 5 + 1} red apples and a cup"), i, side) for i in range(n)
    ]


def emit(out: Path | None, row: dict[str, Any]) -> None:
    ms = f"{row['ms_per_image']:9.2f}"
    print(f"{row['model']:<20}{row['what']:<10}{row['dtype']:<6}{row['batch']:>6}{ms}", flush=True)
    if out is not None:
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def bench_detector(name: str, args: argparse.Namespace, out: Path | None) -> None:
    import torch

    from pytest_ureason.judge.detect import tiny
    from pytest_ureason.judge.detect.openvocab import OpenVocabularyDetector, prompt

    build = tiny.owlv2 if name == "owlv2" else tiny.grounding_dino
    processor, model = build(args.size)
    model.to(args.device)
    model_name = f"{name}-{args.size}"
    for dtype in args.dtypes.split(","):
        torch_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
        if dtype != "fp32" and not args.device.startswith("cuda"):
            continue
        model.to(torch_dtype)
        for batch in args.batch_list:
            ims = images(batch)
            if name == "owlv2":  # one pass scores every label's query
                texts: Any = [[prompt(name, lb) for lb in LABELS]] * batch
            else:  # one pass per label: this is one label's prompt
                texts = [prompt(name, LABELS[0])] * batch
            inputs = processor(images=ims, text=texts, return_tensors="pt", padding=True)
            inputs = {
                k: (v.to(args.device, torch_dtype) if v.is_floating_point() else v.to(args.device))
                for k, v in inputs.items()
            }

            def forward(inputs: dict[str, Any] = inputs) -> None:
                with torch.inference_mode():
                    model(**inputs)

            try:
                sec = timed(forward, args.device, args.reps)
            except torch.OutOfMemoryError:
                print(f"{model_name} {dtype} batch {batch}: out of memory", flush=True)
                torch.cuda.empty_cache()
                break
            emit(out, {"model": model_name, "what": "forward", "dtype": dtype, "batch": batch,
                       "ms_per_image": 1000 * sec / batch, "device": args.device})  # fmt: skip
    model.to(torch.float32).cpu()
    # The whole detector as the plugin loads and runs it (fp32, the default).
    with tempfile.TemporaryDirectory() as tmp:
        tiny.save_detector(name, tmp, args.size)
        det = OpenVocabularyDetector(name, tmp, args.device, batch_size=max(args.batch_list))
        for batch in args.batch_list:
            ims = images(batch)
            sec = timed(
                lambda ims=ims: det.detect(ims, LABELS), args.device, max(1, args.reps // 2)
            )
            emit(out, {"model": model_name, "what": "detector", "dtype": "fp32", "batch": batch,
                       "ms_per_image": 1000 * sec / batch, "device": args.device})  # fmt: skip
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()


def bench_clip(args: argparse.Namespace, out: Path | None) -> None:
    import open_clip
    import torch

    from pytest_ureason.judge.detect import tiny

    arch = "ViT-B-16"
    if args.size == "tiny":
        config = tiny.save_clip_config(tempfile.mkdtemp())
        open_clip.add_model_config(config)
        arch = config.stem
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    tokenizer = open_clip.get_tokenizer(arch)
    model.eval().to(args.device)
    tokens = tokenizer([f"a photo of {lb}" for lb in LABELS]).to(args.device)
    for dtype in args.dtypes.split(","):
        torch_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
        if dtype != "fp32" and not args.device.startswith("cuda"):
            continue
        model.to(torch_dtype)
        for batch in [*args.batch_list, *([128] if args.size != "tiny" else [])]:
            pixels = torch.stack([preprocess(im) for im in images(batch)])
            pixels = pixels.to(args.device, torch_dtype)

            def forward(pixels: Any = pixels) -> None:
                with torch.inference_mode():
                    model.encode_image(pixels)
                    model.encode_text(tokens)

            sec = timed(forward, args.device, args.reps)
            emit(out, {"model": f"clip-{arch}"[:16], "what": "forward", "dtype": dtype,
                       "batch": batch, "ms_per_image": 1000 * sec / batch,
                       "device": args.device})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="base", choices=["tiny", "base"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtypes", default="fp32,fp16")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--models", default="owlv2,clip", help="owlv2, clip, grounding-dino")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    args.batch_list = [int(b) for b in args.batches.split(",")]
    out = Path(args.out) if args.out else None
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {where}")
    print(f"{'model':<20}{'what':<10}{'dtype':<6}{'batch':>6}{'ms/image':>9}")
    for name in args.models.split(","):
        if name == "clip":
            bench_clip(args, out)
        else:
            bench_detector(name, args, out)


if __name__ == "__main__":
    main()
