"""Janus image-token decoding: a batched classifier-free-guidance loop with per-item sampling.

One decode step runs the language model on ``2 x images`` rows (conditional prompts, then
their unconditional copies, whose tokens other than BOS and begin-of-image are padding), mixes
the two halves' logits (``uncond + guidance * (cond - uncond)``) and samples one image token
per image. Sampling is Gumbel-max with hashed noise: the noise of image ``k`` at step ``t`` for
code ``v`` is a hash of (seed of ``k``, ``t``, ``v``), so an image depends only on its own
prompt and seed, and the same hash serves the eager and the compiled loops.

Two ways to run the loop, with the same arithmetic:

* ``static=False`` (``decode=plain``): eager, a growing ``DynamicCache``.
* ``static=True`` (``decode=fast``): a ``StaticCache`` kept per (rows, length) bucket, batches
  padded up to a power of two and prompts to a multiple of 32, so shapes repeat; with
  ``compiled=True`` the whole step (language model, generation head, guidance, sampling, next
  embedding) is one ``torch.compile(mode="reduce-overhead", fullgraph=True)`` graph, replayed
  as a CUDA graph: one launch per step instead of hundreds.

:meth:`ImageDecoder.library_tokens` runs transformers' own ``generate(generation_mode="image")``
(its sampling draws from the global RNG, seeded with the batch's first seed).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from pytest_ureason.models.memory import out_of_memory_in

if TYPE_CHECKING:
    import torch
    from PIL import Image

_M32 = 0xFFFFFFFF
_MIX = 0x45D9F3B
PROMPT_BUCKET = 32
#: Static caches kept for reuse (one per (rows, length) shape), least recently used dropped.
MAX_CACHES = 2


def seed_mix(seed: int) -> int:
    """A 32-bit mix of a seed (splitmix64 finaliser), so nearby seeds draw unrelated noise."""
    x = (seed + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (x ^ (x >> 31)) & _M32


def hashed_gumbel(mix: torch.Tensor, step: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Gumbel noise of shape (rows, codes) from row seeds ``mix`` (rows, 1) and a step tensor."""
    import torch

    x = (mix + step * codes.shape[-1] + codes) & _M32
    x = ((x ^ (x >> 16)) * _MIX) & _M32
    x = ((x ^ (x >> 16)) * _MIX) & _M32
    x = x ^ (x >> 16)
    u = ((x >> 8).to(torch.float32) + 0.5) / float(1 << 24)
    return -torch.log(-torch.log(u))


def next_power_of_two(n: int) -> int:
    """The smallest power of two >= n (n >= 1)."""
    return 1 << max(n - 1, 0).bit_length()


class ImageDecoder:
    """Generates Janus image tokens for chat-formatted prompts (see the module docstring)."""

    def __init__(self, model: Any, processor: Any, *, static: bool, compiled: bool):
        self.model = model
        self.processor = processor
        self.static = static
        self.compiled = compiled
        tok = processor.tokenizer
        self.pad_id = tok.pad_token_id
        self.bos_id = tok.bos_token_id
        self.boi_id = tok.convert_tokens_to_ids(processor.image_start_token)
        self.num_tokens = model.config.vision_config.num_image_tokens
        self._caches: dict[tuple[int, int], Any] = {}
        self._step_fn: Any = None
        self.steps_run = 0

    # -- pieces of one step ------------------------------------------------------------------

    def _sample(
        self,
        hidden: torch.Tensor,
        mix: torch.Tensor,
        step: torch.Tensor,
        guidance: float,
        temperature: float,
    ) -> torch.Tensor:
        import torch

        logits = self.model.model.generation_head(hidden).float()
        half = logits.shape[0] // 2
        cond, uncond = logits[:half], logits[half:]
        mixed = uncond + guidance * (cond - uncond)
        if temperature == 0:
            greedy: torch.Tensor = mixed.argmax(-1)
            return greedy
        codes = torch.arange(mixed.shape[-1], device=mixed.device).unsqueeze(0)
        sampled: torch.Tensor = (mixed / temperature + hashed_gumbel(mix, step, codes)).argmax(-1)
        return sampled

    def _step(
        self,
        embeds: torch.Tensor,
        position_ids: torch.Tensor,
        cache_position: torch.Tensor,
        attention_mask: torch.Tensor,
        cache: Any,
        mix: torch.Tensor,
        step: torch.Tensor,
        guidance: float,
        temperature: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decode step: the next token per image and the embeddings for both CFG halves."""
        import torch

        out = self.model.model.language_model(
            inputs_embeds=embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache_position=cache_position,
            past_key_values=cache,
            use_cache=True,
        )
        token = self._sample(out.last_hidden_state[:, -1], mix, step, guidance, temperature)
        both = torch.cat([token, token]).unsqueeze(-1)
        return token, self.model.prepare_embeddings_for_image_generation(both)

    def _step_function(self) -> Any:
        if not self.compiled:
            return self._step
        if self._step_fn is None:
            import torch

            torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
            self._step_fn = torch.compile(self._step, mode="reduce-overhead", fullgraph=True)
        return self._step_fn

    def release(self) -> None:
        """Drop the kept static caches (called after an out-of-memory error, so the halved
        retry does not compete with caches sized for the batch that failed)."""
        self._caches.clear()

    def _cache(self, rows: int, length: int, dtype: Any, device: Any) -> Any:
        from transformers import StaticCache

        key = (rows, length)
        cache = self._caches.pop(key, None)
        if cache is None:
            # A cache of 64 images can take tens of GB: keep the newest few shapes only.
            while len(self._caches) >= MAX_CACHES:
                del self._caches[next(iter(self._caches))]
                if str(device).startswith("cuda"):
                    import torch

                    torch.cuda.empty_cache()
            config = self.model.config.text_config
            cache = StaticCache(config=config, max_cache_len=length)
        else:
            cache.reset()
        self._caches[key] = cache  # most recently used last
        return cache

    # -- the loop ---------------------------------------------------------------------------

    def tokens(
        self, texts: list[str], seeds: list[int], guidance: float, temperature: float
    ) -> torch.Tensor:
        """Image tokens (images, num_image_tokens) for chat-formatted prompts."""
        import torch

        with torch.inference_mode():
            return self._tokens(texts, seeds, guidance, temperature)

    def _tokens(
        self, texts: list[str], seeds: list[int], guidance: float, temperature: float
    ) -> torch.Tensor:
        import torch
        from transformers import DynamicCache

        n = len(texts)
        device = self.model.device
        if self.static:  # pad the batch to a repeating shape; the padding rows are dropped
            rows = next_power_of_two(n)
            texts = texts + [texts[0]] * (rows - n)
            seeds = seeds + [0] * (rows - n)
        enc = self.processor(text=texts, generation_mode="image", padding=True, return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        if self.static:
            extra = -ids.shape[1] % PROMPT_BUCKET
            if extra:
                ids = torch.cat([torch.full((ids.shape[0], extra), self.pad_id), ids], 1)
                mask = torch.cat([torch.zeros((mask.shape[0], extra), dtype=mask.dtype), mask], 1)
        uncond = ids.clone()
        keep = (uncond == self.bos_id) | (uncond == self.boi_id)
        uncond[~keep] = self.pad_id
        ids2 = torch.cat([ids, uncond]).to(device)
        mask2 = torch.cat([mask, mask]).to(device)
        length = ids2.shape[1]
        total = length + self.num_tokens
        positions = (mask2.cumsum(-1) - 1).clamp(min=0)
        mix = torch.tensor([[seed_mix(s)] for s in seeds], dtype=torch.int64, device=device)
        embeds = self.model.get_input_embeddings()(ids2)
        if self.static:
            cache = self._cache(ids2.shape[0], total, embeds.dtype, device)
            attn = torch.ones(ids2.shape[0], total, dtype=mask2.dtype, device=device)
            attn[:, :length] = mask2
        else:
            cache = DynamicCache(config=self.model.config.text_config)
            attn = mask2
        out = torch.empty(len(texts), self.num_tokens, dtype=torch.long, device=device)
        step_fn = self._step_function()
        hidden = self.model.model.language_model(
            inputs_embeds=embeds,
            attention_mask=attn,
            position_ids=positions,
            cache_position=torch.arange(length, device=device),
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state[:, -1]
        step0 = torch.zeros((), dtype=torch.int64, device=device)
        token = self._sample(hidden, mix, step0, guidance, temperature)
        out[:, 0] = token
        embeds = self.model.prepare_embeddings_for_image_generation(
            torch.cat([token, token]).unsqueeze(-1)
        )
        last = positions[:, -1:]
        for t in range(1, self.num_tokens):
            if not self.static:
                attn = torch.cat([attn, attn.new_ones((attn.shape[0], 1))], 1)
            token, embeds = step_fn(
                embeds,
                last + t,
                torch.tensor([length + t - 1], device=device),
                attn,
                cache,
                mix,
                torch.tensor(t, device=device),
                guidance,
                temperature,
            )
            out[:, t] = token
            embeds = embeds.clone()
            self.steps_run += 1
        return out[:n]

    def library_tokens(
        self, texts: list[str], seeds: list[int], guidance: float, temperature: float
    ) -> torch.Tensor:
        """Image tokens from transformers' own Janus ``generate`` (global RNG)."""
        import torch

        enc = self.processor(
            text=texts, generation_mode="image", padding=True, return_tensors="pt"
        ).to(self.model.device)
        torch.manual_seed(seeds[0] if seeds else 0)
        with torch.inference_mode():
            tokens: torch.Tensor = self.model.generate(
                **enc,
                generation_mode="image",
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                guidance_scale=guidance,
            )
        return tokens

    def pixels(self, tokens: torch.Tensor, chunk: int = 16) -> list[Image.Image]:
        """Decode image tokens with the VQ model into RGB images."""
        import torch
        from PIL import Image

        images: list[Image.Image] = []
        with torch.inference_mode():
            for i in range(0, tokens.shape[0], chunk):
                decoded = self.model.decode_image_tokens(tokens[i : i + chunk])
                arr = ((decoded.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
                images.extend(Image.fromarray(a) for a in arr.cpu().numpy())
        return images


#: Attention kernels of the ``fast`` path (see :class:`BucketedDecoder`).
ATTENTION_PATHS = ("auto", "triton", "sdpa", "matmul")
#: Key/value length bucket of the ``fast`` path: a step attends over the filled cache rounded
#: up to a multiple of this (one CUDA graph per bucket), never over the whole allocation.
KV_BUCKET = 32
#: Rows (both CFG halves) per prefill forward: bounds the prefill's transient memory.
PREFILL_ROWS = 64
#: GPU memory kept out of the KV budget (VQ decoding, graphs, allocator slack): at least this...
RESERVE_BYTES = 4 << 30
#: ...or this share of the card, whichever is more.
RESERVE_SHARE = 0.06


def round_up(n: int, k: int) -> int:
    """``n`` rounded up to a multiple of ``k``."""
    return -(-n // k) * k


def padded_images(k: int, cap: int) -> int:
    """Images a chunk of ``k`` is padded to, so shapes (and graphs) repeat: a power of two up to
    16, then a multiple of 16, never above ``cap`` (>= k)."""
    size = next_power_of_two(k) if k <= 16 else round_up(k, 16)
    return max(k, min(size, cap))


def chunk_sizes(n: int, cap: int) -> list[int]:
    """``n`` images split into the fewest chunks of at most ``cap``, as even as possible."""
    parts = -(-n // max(cap, 1))
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class BucketedDecoder(ImageDecoder):
    """The ``fast`` decode path: the adapter's own KV buffers, attention over the filled length.

    * Before anything is allocated, the batch is sized from the free GPU memory and the
      language model's KV geometry (:meth:`capacity`): a call with more images than fit runs in
      chunks of the largest size that fits, and that budget is kept for the rest of the run (an
      out-of-memory error halves it, :meth:`release`).
    * Keys and values live in one flat buffer per decoder, viewed as (layers, K/V, rows, heads,
      length, head_dim). A step writes the new token's keys and values in place and attends
      over the filled positions only: with ``attention="triton"`` each row from the end of its
      left padding to the filled length (:mod:`~pytest_ureason.models.decode_attention`), with
      ``sdpa``/``matmul`` over the first ``round_up(filled, KV_BUCKET)`` positions with an
      additive mask (left padding, unfilled positions) kept in the same layout.
    * On a GPU each (rows, length) step (with a masked attention: each bucket) is captured once
      as a CUDA graph (all share one memory pool and one set of input tensors) and replayed,
      the pieces around attention ``torch.compile``d (:attr:`fuse`); on the CPU the same step
      runs eagerly.

    The step calls the model's own modules (norms, projections, rotary embedding, MLP, heads),
    so it computes the arithmetic of transformers' Llama decoder layer.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        graphs: bool,
        attention: str = "auto",
        fuse: bool | None = None,
    ):
        super().__init__(model, processor, static=True, compiled=False)
        cfg = model.config.text_config
        self.layers = int(cfg.num_hidden_layers)
        self.heads = int(cfg.num_attention_heads)
        self.kv_heads = int(cfg.num_key_value_heads)
        self.head_dim = int(
            getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        )
        self.graphs = graphs
        if attention not in ATTENTION_PATHS:
            raise ValueError(f"attention {attention!r}: one of {', '.join(ATTENTION_PATHS)}")
        # The kernel reads one KV head per query head and loads whole power-of-two rows.
        fits = self.heads == self.kv_heads and not self.head_dim & (self.head_dim - 1)
        if attention == "triton" and not fits:
            raise ValueError(
                f"attention 'triton' needs as many KV heads as heads ({self.kv_heads} of "
                f"{self.heads}) and a power-of-two head size ({self.head_dim}): use sdpa"
            )
        if attention == "auto":
            from pytest_ureason.models import decode_attention

            attention = "triton" if fits and decode_attention.available(model.device) else "sdpa"
        #: ``triton`` (:mod:`~pytest_ureason.models.decode_attention`: the filled positions of
        #: each row only, one graph for every step), ``sdpa`` (PyTorch's fused attention with an
        #: additive mask over a length bucket) or ``matmul`` (two GEMVs, for comparison).
        self.attention = attention
        #: Whether the pieces of a layer around attention (norm, projections, rotary; output
        #: projection, residuals, MLP) and the sampling tail run ``torch.compile``d: one compiled
        #: graph serves every layer. Default: when the steps are captured as CUDA graphs.
        self.fuse = graphs if fuse is None else fuse
        self._pieces: tuple[Any, Any, Any] | None = None
        self.budget: int | None = None  # bytes of KV the run may hold, fixed at first sizing
        self.chunks_run: list[int] = []  # images per decode chunk, for the benchmark and tests
        self._flat: Any = None
        self._graphs: dict[tuple[int, int, int], Any] = {}
        self._statics: dict[tuple[int, int], dict[str, Any]] = {}
        self._pool: Any = None

    # -- memory ----------------------------------------------------------------------------

    def kv_bytes(self, images: int, length: int) -> int:
        """Bytes of keys and values for ``images`` (two CFG rows each) of ``length`` tokens."""
        elem = int(self.model.dtype.itemsize)
        return 2 * images * self.layers * 2 * self.kv_heads * self.head_dim * length * elem

    def capacity(self, length: int) -> int:
        """The most images one decode chunk holds at a cache of ``length`` tokens.

        On a GPU the KV budget is set once, from the memory free when first asked (the driver's
        free memory, the allocator's cached blocks and this decoder's own buffer) less a reserve;
        on the CPU there is no limit until an out-of-memory error sets one (or a caller does)."""
        import torch

        device = self.model.device
        if self.budget is None and device.type != "cuda":
            return 1 << 30
        if self.budget is None:
            free, total = torch.cuda.mem_get_info(device)
            cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
            held = 0 if self._flat is None else self._flat.numel() * self._flat.element_size()
            reserve = max(RESERVE_BYTES, int(RESERVE_SHARE * total))
            self.budget = max(0, free + cached + held - reserve)
        return max(1, self.budget // self.kv_bytes(1, length))

    def release(self) -> None:
        """After an out-of-memory error: drop buffers and graphs, and halve the KV budget, so
        the rest of the run stays at a size that fits."""
        super().release()
        if self._flat is not None:
            held = self._flat.numel() * self._flat.element_size()
            self.budget = (held if self.budget is None else min(self.budget, held)) // 2
        self._flat = None
        self._drop_graphs()

    def _drop_graphs(self) -> None:
        """Forget every captured graph, its inputs and its memory pool. A pool is never reused
        once its graphs are gone: the allocator frees a private pool with its last graph, and
        capturing into the freed handle trips an internal assertion (seen on torch 2.11)."""
        self._graphs.clear()
        self._statics.clear()
        self._pool = None

    def _kv(self, rows: int, length: int) -> Any:
        """A (layers, 2, rows, heads, length, head_dim) view of the flat buffer, grown if needed."""
        import torch

        need = self.layers * 2 * rows * self.kv_heads * length * self.head_dim
        if self._flat is None or self._flat.numel() < need:
            self._flat = None
            self._drop_graphs()
            if self.model.device.type == "cuda":
                torch.cuda.empty_cache()
            # Zeros, not garbage: masked positions get weight 0, and 0 * NaN would still be NaN.
            self._flat = torch.zeros(need, dtype=self.model.dtype, device=self.model.device)
        return self._flat[:need].view(self.layers, 2, rows, self.kv_heads, length, self.head_dim)

    # -- the loop --------------------------------------------------------------------------

    def _tokens(
        self, texts: list[str], seeds: list[int], guidance: float, temperature: float
    ) -> torch.Tensor:
        import torch

        enc = self.processor(text=texts, generation_mode="image", padding=True, return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        extra = -ids.shape[1] % PROMPT_BUCKET
        if extra:
            ids = torch.cat([torch.full((ids.shape[0], extra), self.pad_id), ids], 1)
            mask = torch.cat([torch.zeros((mask.shape[0], extra), dtype=mask.dtype), mask], 1)
        length = round_up(ids.shape[1] + self.num_tokens, KV_BUCKET)
        cap = self.capacity(length)
        out, start = [], 0
        for k in chunk_sizes(len(texts), cap):
            part = slice(start, start + k)
            out.append(
                self._chunk(ids[part], mask[part], seeds[part], cap, length, guidance, temperature)
            )
            start += k
        return torch.cat(out)

    def _chunk(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        seeds: list[int],
        cap: int,
        length: int,
        guidance: float,
        temperature: float,
    ) -> torch.Tensor:
        import torch
        from transformers import DynamicCache

        n = ids.shape[0]
        size = padded_images(n, cap)
        self.chunks_run.append(size)
        if size > n:  # padding images repeat the first; their tokens are dropped
            ids = torch.cat([ids, ids[:1].expand(size - n, -1)])
            mask = torch.cat([mask, mask[:1].expand(size - n, -1)])
            seeds = seeds + [0] * (size - n)
        device, dtype = self.model.device, self.model.dtype
        uncond = ids.clone()
        keep = (uncond == self.bos_id) | (uncond == self.boi_id)
        uncond[~keep] = self.pad_id
        ids2 = torch.cat([ids, uncond]).to(device)
        mask2 = torch.cat([mask, mask]).to(device)
        rows, prompt = ids2.shape
        positions = (mask2.cumsum(-1) - 1).clamp(min=0)
        # Where each row's left padding ends: the ``triton`` kernel reads from there on.
        left = (mask2 == 0).sum(-1).to(torch.int32)
        filled = torch.arange(prompt, device=device) >= left[:, None]
        if self.attention == "triton" and not bool((mask2.bool() == filled).all()):
            raise ValueError("janus-pro: triton attention needs left-padded prompts")
        mix = torch.tensor([[seed_mix(s)] for s in seeds], dtype=torch.int64, device=device)
        kv = self._kv(rows, length)
        bias = torch.full((rows, 1, 1, length), float("-inf"), dtype=dtype, device=device)
        bias[:, 0, 0, :prompt].masked_fill_(mask2.bool(), 0.0)
        lm = self.model.model.language_model
        hidden = []
        for r in range(0, rows, PREFILL_ROWS):  # prefill in slices, copied into the buffer
            part = slice(r, r + PREFILL_ROWS)
            cache = DynamicCache(config=self.model.config.text_config)
            hidden.append(
                lm(
                    inputs_embeds=self.model.get_input_embeddings()(ids2[part]),
                    attention_mask=mask2[part],
                    position_ids=positions[part],
                    past_key_values=cache,
                    use_cache=True,
                ).last_hidden_state[:, -1]
            )
            layers: list[Any] = list(cache.layers)
            for i, layer in enumerate(layers):
                kv[i, 0, part, :, :prompt] = layer.keys
                kv[i, 1, part, :, :prompt] = layer.values
            del cache
        step0 = torch.zeros((), dtype=torch.int64, device=device)
        token = self._sample(torch.cat(hidden), mix, step0, guidance, temperature)
        out = torch.empty(size, self.num_tokens, dtype=torch.long, device=device)
        out[:, 0] = token
        io = self._inputs(rows, length, kv, bias)
        io["x"].copy_(
            self.model.prepare_embeddings_for_image_generation(
                torch.cat([token, token]).unsqueeze(-1)
            )
        )
        io["mix"].copy_(mix)
        io["bias"].copy_(bias)
        io["start"].copy_(left)
        last = positions[:, -1:]
        for t in range(1, self.num_tokens):
            pos = prompt + t - 1  # where this step's token's keys go
            io["pos"].copy_(last + t)
            io["cpos"].fill_(pos)
            io["end"].fill_(pos + 1)
            io["step"].fill_(t)
            bucket = length if self.attention == "triton" else round_up(pos + 1, KV_BUCKET)
            token, embeds = self._run_step(io, bucket, guidance, temperature)
            out[:, t] = token
            io["x"].copy_(embeds)
            self.steps_run += 1
        return out[:n]

    def _inputs(self, rows: int, length: int, kv: Any, bias: Any) -> dict[str, Any]:
        """The step's input tensors for one (rows, length) shape; CUDA graphs read them."""
        import torch

        key = (rows, length)
        io = self._statics.get(key)
        if io is None:
            device, dtype = self.model.device, self.model.dtype
            hidden = self.model.config.text_config.hidden_size
            io = {
                "x": torch.zeros(rows, 1, hidden, dtype=dtype, device=device),
                "pos": torch.zeros(rows, 1, dtype=torch.long, device=device),
                "cpos": torch.zeros(1, dtype=torch.long, device=device),
                "step": torch.zeros((), dtype=torch.long, device=device),
                "mix": torch.zeros(rows // 2, 1, dtype=torch.int64, device=device),
                "bias": torch.empty_like(bias),
                "kv": kv,
                "start": torch.zeros(rows, dtype=torch.int32, device=device),
                "end": torch.zeros(1, dtype=torch.int32, device=device),
                "o": torch.empty(rows, self.heads * self.head_dim, dtype=dtype, device=device),
            }
            self._statics[key] = io
        return io

    def _eager_step(
        self, io: dict[str, Any], bucket: int, guidance: float, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step outside any graph. What fails for want of a toolchain (no C compiler for
        the compiled pieces or the Triton kernel, a library the compiler cannot trace) falls
        back with a warning, for the rest of the run: first the uncompiled pieces, then masked
        ``sdpa`` attention; the step runs again (it rewrites the same cache positions). An
        out-of-memory error, even one wrapped by the compiler, is raised as itself, so the
        caller halves the batch."""
        while True:
            try:
                return self._bucket_step(io, bucket, guidance, temperature)
            except Exception as exc:
                oom = out_of_memory_in(exc)
                if oom is not None:
                    raise oom from None
                if self.fuse:
                    fallback = "decoding uncompiled"
                    self.fuse = False
                    self._pieces = None
                elif self.attention == "triton":
                    fallback = "attention through sdpa"
                    self.attention = "sdpa"
                    bucket = io["kv"].shape[4]  # the mask is kept up to date on every path
                else:
                    raise
                warnings.warn(
                    f"janus-pro: the decode step failed ({type(exc).__name__}: "
                    f"{str(exc)[:200]}); {fallback} for the rest of the run",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def _run_step(
        self, io: dict[str, Any], bucket: int, guidance: float, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.graphs:
            return self._eager_step(io, bucket, guidance, temperature)
        import torch

        rows, length = io["x"].shape[0], io["kv"].shape[4]
        key = (rows, length, bucket)
        entry = self._graphs.get(key)
        if entry is None or entry[1] != (guidance, temperature):
            side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up (idempotent: same writes as the replay)
                self._eager_step(io, bucket, guidance, temperature)
            torch.cuda.current_stream().wait_stream(side)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph, pool=self._pool):
                    outputs = self._bucket_step(io, bucket, guidance, temperature)
            except torch.OutOfMemoryError:
                raise  # the caller halves the batch
            except RuntimeError as exc:  # a capture the runtime refuses: decode eagerly
                warnings.warn(
                    f"janus-pro: CUDA graph capture failed ({str(exc)[:200]}); decoding "
                    "without graphs for the rest of the run",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._drop_graphs()
                self.graphs = False
                torch.cuda.synchronize()
                return self._eager_step(io, bucket, guidance, temperature)
            entry = (graph, (guidance, temperature), outputs)
            self._graphs[key] = entry
        entry[0].replay()
        token, embeds = entry[2]
        return token, embeds

    def _step_pieces(self) -> tuple[Any, Any, Any]:
        """The three pieces of a step around attention, compiled when :attr:`fuse` is set."""
        if self._pieces is None:
            pieces = (self._before_attention, self._after_attention, self._tail)
            if self.fuse:
                import torch

                # One graph per piece serves all layers (their modules are inlined, their
                # weights are graph inputs); a second batch size makes the rows dynamic.
                pieces = tuple(torch.compile(p, fullgraph=True) for p in pieces)  # type: ignore[assignment]
            self._pieces = pieces
        return self._pieces

    def _before_attention(
        self, layer: Any, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Input norm, projections and rotary embedding: (rows, heads, 1, head_dim) each."""
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        attn = layer.self_attn
        a = layer.input_layernorm(h)
        shape = (h.shape[0], 1, -1, self.head_dim)
        q = attn.q_proj(a).view(shape).transpose(1, 2)
        k = attn.k_proj(a).view(shape).transpose(1, 2)
        v = attn.v_proj(a).view(shape).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        return q, k, v

    def _after_attention(self, layer: Any, h: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        """Output projection, both residuals and the MLP, given attention's (rows, 1, hidden)."""
        h = h + layer.self_attn.o_proj(o)
        out: torch.Tensor = h + layer.mlp(layer.post_attention_layernorm(h))
        return out

    def _tail(
        self,
        h: torch.Tensor,
        mix: torch.Tensor,
        step: torch.Tensor,
        guidance: float,
        temperature: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Final norm, guidance and sampling, and both CFG halves' next embeddings."""
        import torch

        h = self.model.model.language_model.norm(h)
        token = self._sample(h[:, -1], mix, step, guidance, temperature)
        embeds = self.model.prepare_embeddings_for_image_generation(
            torch.cat([token, token]).unsqueeze(-1)
        )
        return token, embeds

    def _bucket_step(
        self, io: dict[str, Any], bucket: int, guidance: float, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decode step over all rows, attending over the first ``bucket`` positions (with
        ``triton`` attention: over each row's filled positions, ``bucket`` unused)."""
        import torch
        import torch.nn.functional as F

        before, after, tail = self._step_pieces()
        lm = self.model.model.language_model
        x, kv, bias, cpos = io["x"], io["kv"], io["bias"], io["cpos"]
        rows = x.shape[0]
        triton = self.attention == "triton"
        kernel: Any = io.get("attention")  # its scratch lives with the shape's other inputs
        if triton and kernel is None:
            from pytest_ureason.models.decode_attention import DecodeAttention

            kernel = DecodeAttention(rows, self.heads, kv.shape[4], self.head_dim, x.device)
            io["attention"] = kernel
        # The new token is visible from now on (the kernel does not read the mask; it is kept
        # up to date so a fallback to ``sdpa`` can take over mid-image).
        bias.index_fill_(-1, cpos, 0.0)
        mask = bias[..., :bucket]
        cos, sin = lm.rotary_emb(x, io["pos"])
        h = x
        for i, layer in enumerate(lm.layers):
            scaling = layer.self_attn.scaling
            q, k, v = before(layer, h, cos, sin)
            kv[i, 0].index_copy_(2, cpos, k)
            kv[i, 1].index_copy_(2, cpos, v)
            if triton:
                o = kernel(q[:, :, 0], kv[i, 0], kv[i, 1], io["start"], io["end"], scaling, io["o"])
                o = o.view(rows, 1, -1)
            else:
                keys, values = kv[i, 0, :, :, :bucket], kv[i, 1, :, :, :bucket]
                if self.attention == "matmul":  # two batched GEMVs and a float32 softmax
                    scores = torch.matmul(q, keys.transpose(-1, -2)).float() * scaling + mask
                    o = torch.matmul(scores.softmax(-1).to(values.dtype), values)
                else:
                    o = F.scaled_dot_product_attention(
                        q, keys, values, attn_mask=mask, scale=scaling
                    )
                o = o.transpose(1, 2).reshape(rows, 1, -1)
            h = after(layer, h, o)
        token, embeds = tail(h, io["mix"], io["step"], guidance, temperature)
        return token, embeds
