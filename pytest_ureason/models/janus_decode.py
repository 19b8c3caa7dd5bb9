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

from typing import TYPE_CHECKING, Any

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
