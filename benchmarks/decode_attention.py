"""Decode attention on the GPU: the Triton kernel's launch shapes against masked SDPA.

One decode step's attention for one layer at Janus-Pro shapes (MHA, head size 128, bf16), over
the filled part of a cache of ``--length`` positions with left padding up to ``--pad``: the
Triton kernel of :mod:`pytest_ureason.models.decode_attention` for each (chunk, block, warps,
stages), PyTorch's SDPA with an additive mask over the filled length rounded up to 32 (the
``sdpa`` path) and two batched matmuls (``matmul``). Prints achieved bandwidth against the KV
bytes a step must read, and writes the best launch shape as JSON (``--best``) for
``janus_throughput.py --attn-config``.

    python benchmarks/decode_attention.py --rows 128,352 --best best.json   # GPU
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HBM_BYTES_PER_S = 3.35e12  # H100 SXM5


def time_ms(fn: Any, reps: int = 20) -> float:
    import torch

    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return float(start.elapsed_time(end)) / reps


def main() -> int:
    import torch
    import torch.nn.functional as F

    from pytest_ureason.models.decode_attention import DecodeAttention

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="128,352")
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--length", type=int, default=672)
    ap.add_argument("--pad", type=int, default=40)
    ap.add_argument("--ends", default="120,360,640", help="filled lengths timed (mean taken)")
    ap.add_argument("--best", default="")
    args = ap.parse_args()
    dev, dtype = "cuda", torch.bfloat16
    heads, dim, length = args.heads, args.dim, args.length
    ends = [int(e) for e in args.ends.split(",")]
    configs = [
        c for c in itertools.product((64, 128, 256), (32, 64), (4, 8), (1, 2)) if c[1] <= c[0]
    ]
    print(f"# decode attention, {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"heads {heads}, head size {dim}, cache {length}, filled {ends} (mean), bf16\n")
    print("| rows | kernel | ms (mean over filled lengths) | GB/s | share of 3.35 TB/s |")
    print("|---|---|---|---|---|")
    scores: dict[tuple[int, ...], float] = {}
    for rows in [int(r) for r in args.rows.split(",")]:
        torch.manual_seed(0)
        kv = torch.randn(2, rows, heads, length, dim, dtype=dtype, device=dev)
        q = torch.randn(rows, heads, dim, dtype=dtype, device=dev)
        start = torch.randint(0, args.pad, (rows,), dtype=torch.int32, device=dev)
        out = torch.empty(rows, heads * dim, dtype=dtype, device=dev)
        read = sum(
            2 * heads * dim * 2 * float((e - start.clamp(max=e)).sum().item()) for e in ends
        ) / len(ends)

        def show(
            name: str,
            ms: float,
            key: tuple[int, ...] | None = None,
            rows: int = rows,
            read: float = read,
        ) -> None:
            rate = read / (ms / 1e3)
            print(
                f"| {rows} | {name} | {ms:.3f} | {rate / 1e9:.0f} | {rate / HBM_BYTES_PER_S:.0%} |"
            )
            if key is not None:
                scores[key] = scores.get(key, 0.0) + ms

        for config in configs:
            chunk, block, warps, stages = config
            att = DecodeAttention(
                rows, heads, length, dim, dev, chunk=chunk, block=block, warps=warps, stages=stages
            )
            total = 0.0
            for e in ends:
                end = torch.tensor([e], dtype=torch.int32, device=dev)
                total += time_ms(lambda: att(q, kv[0], kv[1], start, end, dim**-0.5, out))  # noqa: B023
            show(
                f"triton chunk {chunk} block {block} warps {warps} stages {stages}",
                total / len(ends),
                config,
            )
        for name in ("sdpa", "matmul"):
            total = 0.0
            for e in ends:
                bucket = -(-e // 32) * 32
                pos = torch.arange(bucket, device=dev)
                ok = (pos[None, :] >= start[:, None]) & (pos[None, :] < e)
                bias = torch.zeros(rows, 1, 1, bucket, dtype=dtype, device=dev)
                bias.masked_fill_(~ok[:, None, None, :], float("-inf"))
                keys, values = kv[0, :, :, :bucket], kv[1, :, :, :bucket]
                q4 = q.unsqueeze(2)
                if name == "sdpa":
                    fn = lambda: F.scaled_dot_product_attention(q4, keys, values, attn_mask=bias)  # noqa: B023,E731
                else:

                    def fn() -> Any:
                        s = torch.matmul(q4, keys.transpose(-1, -2)).float() + bias  # noqa: B023
                        return torch.matmul(s.softmax(-1).to(dtype), values)  # noqa: B023

                total += time_ms(fn)
            show(f"{name} (mask over the filled length rounded up to 32)", total / len(ends))
    best = min(scores, key=lambda k: scores[k])
    print(
        f"\nbest launch shape over all rows (sum of mean ms): chunk {best[0]} block {best[1]} "
        f"warps {best[2]} stages {best[3]}"
    )
    if args.best:
        Path(args.best).write_text(
            json.dumps(dict(zip(("chunk", "block", "warps", "stages"), best, strict=True)))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
