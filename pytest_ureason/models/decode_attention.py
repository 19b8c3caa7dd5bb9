"""Decode attention over the filled part of a KV cache: one query per row, split over keys.

A decode step has one query per (row, head) and must read every key and value the row has
so far: the step is a memory-bandwidth problem. PyTorch's fused attention accepts an
arbitrary mask only in kernels that tile the query (wasted on one query) and read the whole
slice they are given. This kernel reads, per row, only positions ``[start[row], end)``:
``start`` is where the row's left padding ends, ``end`` the filled length, read from a device
tensor so one CUDA graph serves every step.

Two Triton kernels (flash-decoding): the keys are cut into fixed chunks; one program per
(row, head, chunk) computes the chunk's running max, softmax denominator and weighted value
sum in float32 (a chunk outside ``[start, end)`` runs no iteration), and a second
program per (row, head) combines the chunks. The grid is fixed by the buffer's length, not
by the filled length, so a captured graph replays unchanged as the cache fills.

Triton is imported on first use (it comes with CUDA builds of torch); with
``TRITON_INTERPRET=1`` set before this module is imported the same kernels run on CPU tensors
(the tests do this).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: Keys per program of the first kernel, per block loaded inside it, and its launch shape
#: (Triton's defaults; the shape measured inside the decoder on an H100, see
#: ``benchmarks/results/janus_h100_2026-12-06b.md``; ``benchmarks/decode_attention.py`` times
#: others).
CHUNK = 64
BLOCK = 32
WARPS = 4
STAGES = 3


def available(device: Any) -> bool:
    """Whether the kernels can run for tensors on ``device`` (CUDA with Triton importable)."""
    if getattr(device, "type", str(device)) != "cuda":
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _kernels() -> tuple[Any, Any]:
    import triton
    import triton.language as tl

    @triton.jit  # type: ignore[untyped-decorator]
    def partial_chunks(  # type: ignore[no-untyped-def]
        q_ptr,
        k_ptr,
        v_ptr,
        start_ptr,
        end_ptr,
        m_ptr,
        l_ptr,
        acc_ptr,
        scale,
        stride_qr,
        stride_qh,
        stride_kr,
        stride_kh,
        stride_kl,
        HEADS: tl.constexpr,
        SPLITS: tl.constexpr,
        CHUNK: tl.constexpr,
        BLOCK: tl.constexpr,
        DIM: tl.constexpr,
    ):
        pid = tl.program_id(0)
        split = tl.program_id(1)
        row = (pid // HEADS).to(tl.int64)  # offsets in 64 bits: a layer may pass 2**31 elements
        head = pid % HEADS
        lo = tl.maximum(split * CHUNK, tl.load(start_ptr + row))
        hi = tl.minimum(split * CHUNK + CHUNK, tl.load(end_ptr))
        dims = tl.arange(0, DIM)
        q = tl.load(q_ptr + row * stride_qr + head * stride_qh + dims).to(tl.float32) * scale
        base = row * stride_kr + head * stride_kh
        m = -float("inf")
        denom = 0.0
        acc = tl.zeros([DIM], dtype=tl.float32)
        # Bounds loaded from memory: a chunk outside [start, end) runs no iteration. (Measured
        # on an H100 inside the decoder, faster than a fixed trip count with masked loads;
        # Triton's interpreter before 3.8 cannot loop over loaded bounds.)
        for n0 in range(lo, hi, BLOCK):
            pos = n0 + tl.arange(0, BLOCK)
            valid = pos < hi
            where = base + pos[:, None] * stride_kl + dims[None, :]
            k = tl.load(k_ptr + where, mask=valid[:, None], other=0.0).to(tl.float32)
            score = tl.where(valid, tl.sum(k * q[None, :], 1), -float("inf"))
            m_new = tl.maximum(m, tl.max(score, 0))
            p = tl.exp(score - m_new)
            alpha = tl.exp(m - m_new)
            v = tl.load(v_ptr + where, mask=valid[:, None], other=0.0).to(tl.float32)
            denom = denom * alpha + tl.sum(p, 0)
            acc = acc * alpha + tl.sum(p[:, None] * v, 0)
            m = m_new
        slot = pid.to(tl.int64) * SPLITS + split
        tl.store(m_ptr + slot, m)
        tl.store(l_ptr + slot, denom)
        tl.store(acc_ptr + slot * DIM + dims, acc)

    @triton.jit  # type: ignore[untyped-decorator]
    def combine_chunks(  # type: ignore[no-untyped-def]
        m_ptr,
        l_ptr,
        acc_ptr,
        out_ptr,
        SPLITS: tl.constexpr,
        SPLITS_P2: tl.constexpr,
        DIM: tl.constexpr,
    ):
        pid = tl.program_id(0)
        splits = tl.arange(0, SPLITS_P2)
        dims = tl.arange(0, DIM)
        inside = splits < SPLITS
        slot = pid.to(tl.int64) * SPLITS + splits
        m = tl.load(m_ptr + slot, mask=inside, other=-float("inf"))
        denom = tl.load(l_ptr + slot, mask=inside, other=0.0)
        top = tl.max(m, 0)
        weight = tl.where(denom > 0, tl.exp(m - top), 0.0)
        where = acc_ptr + slot[:, None] * DIM + dims[None, :]
        acc = tl.load(where, mask=inside[:, None], other=0.0)
        # A row with nothing to attend to (start >= end; the decoder never makes one) gives 0.
        total = tl.sum(weight[:, None] * acc, 0) / tl.maximum(tl.sum(weight * denom, 0), 1e-30)
        tl.store(out_ptr + pid.to(tl.int64) * DIM + dims, total.to(out_ptr.dtype.element_ty))

    return partial_chunks, combine_chunks


class DecodeAttention:
    """Scratch buffers and launches for one (rows, heads, length, head_dim) cache shape."""

    def __init__(
        self,
        rows: int,
        heads: int,
        length: int,
        dim: int,
        device: Any,
        *,
        chunk: int | None = None,
        block: int | None = None,
        warps: int | None = None,
        stages: int | None = None,
    ):
        import torch

        if dim & (dim - 1):
            raise ValueError(f"head_dim {dim} is not a power of two")
        self.rows, self.heads, self.length, self.dim = rows, heads, length, dim
        self.chunk = chunk or CHUNK
        self.block = min(block or BLOCK, self.chunk)
        self.warps = warps or WARPS
        self.stages = stages or STAGES
        self.splits = -(-length // self.chunk)
        programs = rows * heads * self.splits
        self._m = torch.empty(programs, dtype=torch.float32, device=device)
        self._l = torch.empty(programs, dtype=torch.float32, device=device)
        self._acc = torch.empty(programs, dim, dtype=torch.float32, device=device)

    def __call__(
        self,
        q: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        start: torch.Tensor,
        end: torch.Tensor,
        scale: float,
        out: torch.Tensor,
    ) -> torch.Tensor:
        """Attention of ``q`` (rows, heads, head_dim) over ``keys``/``values`` (rows, heads,
        length, head_dim; last dimension contiguous) at positions ``[start[row], end[0])``,
        written to ``out`` (rows, heads * head_dim, contiguous) and returned."""
        partial_chunks, combine_chunks = _kernels()
        if keys.stride() != values.stride() or keys.stride(-1) != 1 or q.stride(-1) != 1:
            raise ValueError("keys and values must share strides with a contiguous last dim")
        heads, splits = self.heads, self.splits
        partial_chunks[(self.rows * heads, splits)](
            q,
            keys,
            values,
            start,
            end,
            self._m,
            self._l,
            self._acc,
            scale,
            q.stride(0),
            q.stride(1),
            keys.stride(0),
            keys.stride(1),
            keys.stride(2),
            HEADS=heads,
            SPLITS=splits,
            CHUNK=self.chunk,
            BLOCK=self.block,
            DIM=self.dim,
            num_warps=self.warps,
            num_stages=self.stages,
        )
        combine_chunks[(self.rows * heads,)](
            self._m,
            self._l,
            self._acc,
            out,
            SPLITS=splits,
            SPLITS_P2=1 << max(splits - 1, 0).bit_length(),
            DIM=self.dim,
        )
        return out
