"""The Triton decode-attention kernel and the ``fast`` path that uses it.

On a CPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set before Triton
is imported, hence a subprocess); on a GPU (skipped without one) compiled, in bf16, and the
whole fast path with graphs and the compiled pieces against the plain loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton", reason="Triton comes with CUDA builds of torch")
_VERSION = tuple(int(p) for p in triton.__version__.split(".")[:2] if p.isdigit())
#: Triton's interpreter loops over bounds loaded from memory from 3.8 on (the older one that
#: comes with torch 2.11 failed on the GPU machine); compiled kernels do on every version.
interpreter = pytest.mark.skipif(
    _VERSION < (3, 8), reason=f"Triton {triton.__version__}'s interpreter: needs 3.8 or newer"
)

KERNEL_CHECK = textwrap.dedent(
    """
    import torch
    import torch.nn.functional as F
    from pytest_ureason.models.decode_attention import DecodeAttention

    torch.manual_seed(0)
    rows, heads, length, dim = 5, 3, 150, 32
    kv = torch.randn(2, rows, heads, length, dim).to(DTYPE).to(DEVICE)
    q = torch.randn(rows, heads, dim).to(DTYPE).to(DEVICE)
    # starts inside, at and past chunk/block edges; ends short of, at and past them
    start = torch.tensor([0, 5, 31, 64, 129], dtype=torch.int32, device=DEVICE)
    worst = 0.0
    for filled in (130, 140, 150):
        end = torch.tensor([filled], dtype=torch.int32, device=DEVICE)
        out = torch.empty(rows, heads * dim, dtype=DTYPE, device=DEVICE)
        DecodeAttention(rows, heads, length, dim, DEVICE)(
            q, kv[0], kv[1], start, end, dim**-0.5, out
        )
        bias = torch.full((rows, 1, 1, length), float("-inf"), device=DEVICE)
        for r in range(rows):
            bias[r, 0, 0, start[r] : filled] = 0
        ref = F.scaled_dot_product_attention(
            q.float().unsqueeze(2), kv[0].float(), kv[1].float(), attn_mask=bias, scale=dim**-0.5
        ).reshape(rows, heads * dim)
        worst = max(worst, (out.float() - ref).abs().max().item())
    print("WORST", worst)
    """
)

DECODER_CHECK = textwrap.dedent(
    """
    import torch
    from transformers import JanusForConditionalGeneration
    from pytest_ureason.models.janus_decode import BucketedDecoder, ImageDecoder
    from pytest_ureason.models.testing import (
        byte_level_tokenizer, janus_config, janus_generation_config, janus_processor,
    )

    tok = byte_level_tokenizer()
    cfg = janus_config("tiny", vocab_size=len(tok))
    torch.manual_seed(0)
    model = JanusForConditionalGeneration(cfg).eval()
    model.generation_config = janus_generation_config(tok)
    proc = janus_processor(cfg, tok)
    texts = ["a red cube", "two blue spheres left of a green cone on a table", "x"]
    seeds = [1, 2, 3]
    fast = BucketedDecoder(model, proc, graphs=False, attention="triton")
    got = fast.tokens(texts, seeds, 5.0, 1.0)
    want = ImageDecoder(model, proc, static=False, compiled=False).tokens(texts, seeds, 5.0, 1.0)
    print("ATTENTION", fast.attention, "EQUAL", (got == want).float().mean().item())
    """
)


def _run(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@interpreter
def test_kernel_matches_masked_attention_in_the_interpreter() -> None:
    code = KERNEL_CHECK.replace(
        "import torch\n", "import torch\nDEVICE, DTYPE = 'cpu', torch.float32\n", 1
    )
    out = _run(code, TRITON_INTERPRET="1")
    worst = float(out.split("WORST")[1])
    assert worst < 1e-5, out


@interpreter
def test_fast_path_with_the_kernel_draws_what_the_plain_loop_draws() -> None:
    """float32 on the CPU: the kernel's order of summation differs, the tokens do not."""
    out = _run(DECODER_CHECK, TRITON_INTERPRET="1")
    assert "ATTENTION triton" in out, out
    assert float(out.split("EQUAL")[1]) == 1.0, out


def test_auto_attention_is_sdpa_off_the_gpu() -> None:
    from pytest_ureason.models.decode_attention import available

    assert not available(torch.device("cpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_kernel_matches_masked_attention_on_the_gpu_in_bf16() -> None:
    code = KERNEL_CHECK.replace(
        "import torch\n", "import torch\nDEVICE, DTYPE = 'cuda', torch.bfloat16\n", 1
    )
    worst = float(_run(code).split("WORST")[1])
    assert worst < 0.03  # bf16 output rounding of values of magnitude ~1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fast_path_on_the_gpu_with_graphs_and_compiled_pieces() -> None:
    """The default GPU path (Triton attention, compiled pieces, CUDA graphs) in float32 on a tiny
    Janus against the plain loop: summation orders differ, so nearly all tokens, not all."""
    code = DECODER_CHECK.replace(
        "model = JanusForConditionalGeneration(cfg).eval()",
        "model = JanusForConditionalGeneration(cfg).eval().cuda()",
    ).replace('graphs=False, attention="triton"', "graphs=True")
    out = _run(code)
    assert "ATTENTION triton" in out, out
    assert float(out.split("EQUAL")[1]) >= 0.9, out
