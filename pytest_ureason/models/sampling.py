"""Per-item seeded text sampling for batched ``generate`` of ``transformers`` models.

With ``do_sample=True`` every row of a batch draws from one global random stream, so an item's
text depends on which other items share its batch (and on their order). Instead, the adapters
decode greedily through :class:`PerItemSampler`: at each step it adds to each row's scaled
logits Gumbel noise hashed from (that row's seed, the step, the token id), and the argmax of
``logits / temperature + Gumbel`` is an exact draw from ``softmax(logits / temperature)``
(the Gumbel-max trick). The noise of an item depends on its own seed only, so its text is the
same alone or in any batch. The hash is the one the Janus image loop uses
(:func:`pytest_ureason.models.janus_decode.hashed_gumbel`), salted so text and image noise
differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ureason.models.janus_decode import hashed_gumbel, seed_mix

if TYPE_CHECKING:
    import torch

#: Salt of text noise (image noise uses the plain seed).
TEXT_SALT = 0x7E87


def sampling_kwargs(seeds: list[int], temperature: float, prompt_length: int) -> dict[str, Any]:
    """Keyword arguments for ``model.generate``: greedy when ``temperature`` is 0, else greedy
    over per-item Gumbel-perturbed logits (see the module docstring)."""
    kwargs: dict[str, Any] = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    if temperature > 0:
        from transformers import LogitsProcessorList

        kwargs["logits_processor"] = LogitsProcessorList(
            [PerItemSampler(seeds, temperature, prompt_length)]
        )
    return kwargs


class PerItemSampler:
    """A logits processor: ``scores / temperature`` plus Gumbel noise seeded per row.

    Args:
        seeds: one seed per batch row, in row order.
        temperature: sampling temperature (> 0).
        prompt_length: length of the (padded) prompts, so the step counts generated tokens.
    """

    def __init__(self, seeds: list[int], temperature: float, prompt_length: int):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.mixes = [seed_mix(s ^ TEXT_SALT) for s in seeds]
        self.temperature = temperature
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        import torch

        if scores.shape[0] != len(self.mixes):
            raise ValueError(f"{scores.shape[0]} rows of scores for {len(self.mixes)} seeds")
        device = scores.device
        mix = torch.tensor([[m] for m in self.mixes], dtype=torch.int64, device=device)
        step = torch.tensor(input_ids.shape[1] - self.prompt_length, device=device)
        codes = torch.arange(scores.shape[-1], device=device).unsqueeze(0)
        noisy: torch.Tensor = scores.float() / self.temperature + hashed_gumbel(mix, step, codes)
        return noisy
