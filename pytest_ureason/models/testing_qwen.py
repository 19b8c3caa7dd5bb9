"""Tiny (and real-shape) Qwen2.5-VL / Qwen3-VL checkpoints built offline, for tests and benchmarks.

The same classes as the released models, with random weights: a byte-level BPE tokenizer
trained here on a few sentences with Qwen's special tokens (ids 0..6), Qwen's chat template
shape (``<|im_start|>user ... <|im_end|>``, images as ``<|vision_start|><|image_pad|>
<|vision_end|>``, a default system turn), the ``transformers`` image and video processors, and
a config with the special-token ids of that tokenizer. Saved with ``save_pretrained``, a folder
loads through ``AutoConfig`` / ``AutoProcessor`` exactly like a downloaded checkpoint.

* :func:`qwen_vl_config`: ``"tiny"`` (two layers of 64) for either family, or ``"7b"``:
  Qwen2.5-VL-7B's real sizes (the benchmark's model).
* :func:`qwen_vl_processor`: the processor for a config.
* :func:`build_qwen_vl_checkpoint`: model + processor in a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Qwen's special tokens, in id order (ids 0..6 of the tiny tokenizer).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
PAD_ID, EOS_ID, VISION_START_ID, VISION_END_ID, IMAGE_ID, VIDEO_ID = 0, 2, 3, 4, 5, 6

#: The shape of the Qwen-VL chat template (a default system turn, ChatML turns).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = (
    "How many apples are there? Is the cat left of the dog? What color is the cup? "
    "Answer yes or no. There are 3 red apples, 2 blue cups and 1 green book on the table. "
    "You are a helpful assistant. system user assistant"
)

FAMILIES = ("qwen2_5_vl", "qwen3_vl")


def qwen_tokenizer(vocab_size: int = 400) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` with Qwen's special tokens, built offline."""
    from transformers import PreTrainedTokenizerFast

    from pytest_ureason.models.testing import trained_byte_bpe

    tok = trained_byte_bpe(list(QWEN_SPECIAL_TOKENS), _CORPUS, vocab_size)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=QWEN_SPECIAL_TOKENS[EOS_ID],
        pad_token=QWEN_SPECIAL_TOKENS[PAD_ID],
        extra_special_tokens={
            "image_token": QWEN_SPECIAL_TOKENS[IMAGE_ID],
            "video_token": QWEN_SPECIAL_TOKENS[VIDEO_ID],
            "vision_start_token": QWEN_SPECIAL_TOKENS[VISION_START_ID],
            "vision_end_token": QWEN_SPECIAL_TOKENS[VISION_END_ID],
        },
    )


def _token_ids() -> dict[str, Any]:
    return {
        "image_token_id": IMAGE_ID,
        "video_token_id": VIDEO_ID,
        "vision_start_token_id": VISION_START_ID,
        "vision_end_token_id": VISION_END_ID,
    }


def qwen_vl_config(family: str = "qwen2_5_vl", size: str = "tiny", vocab_size: int = 400) -> Any:
    """A ``Qwen2_5_VLConfig`` or ``Qwen3VLConfig``.

    Args:
        family: ``"qwen2_5_vl"`` or ``"qwen3_vl"``.
        size: ``"tiny"`` (2 text layers of 64, 2 vision layers of 32) or ``"7b"``
            (Qwen2.5-VL-7B: text hidden 3584, 28 layers, 28 heads / 4 key-value heads,
            intermediate 18944, vocabulary 152064; vision depth 32, hidden 1280).
        vocab_size: text vocabulary of ``"tiny"``.
    """
    from transformers import Qwen2_5_VLConfig, Qwen3VLConfig

    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    tokens: dict[str, Any] = {"bos_token_id": None, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID}
    if size == "7b":
        if family != "qwen2_5_vl":
            raise ValueError("size '7b' is Qwen2.5-VL-7B's shape; use family 'qwen2_5_vl'")
        text: dict[str, Any] = {
            "vocab_size": 152064,
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
            "max_position_embeddings": 128000,
            "rms_norm_eps": 1e-6,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1e6,
                "mrope_section": [16, 24, 24],
            },
            **tokens,
        }
        vision: dict[str, Any] = {
            "depth": 32,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "out_hidden_size": 3584,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": [7, 15, 23, 31],
            "tokens_per_second": 2,
        }
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_token_ids())
    if size != "tiny":
        raise ValueError(f"size must be 'tiny' or '7b', got {size!r}")
    text = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
        **tokens,
    }
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 64,
    }
    if family == "qwen2_5_vl":
        vision.update(patch_size=14, window_size=56, fullatt_block_indexes=[1])
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_token_ids())
    text["head_dim"] = 16
    text["rope_parameters"]["mrope_interleaved"] = True
    vision.update(patch_size=16, num_position_embeddings=64, deepstack_visual_indexes=[0])
    return Qwen3VLConfig(text_config=text, vision_config=vision, **_token_ids())


def qwen_vl_processor(
    config: Any, tokenizer: Any | None = None, min_pixels: int = 0, max_pixels: int = 0
) -> Any:
    """The processor of ``config``'s family, with the tiny tokenizer and the chat template.

    Args:
        config: from :func:`qwen_vl_config`.
        tokenizer: default :func:`qwen_tokenizer`.
        min_pixels: smallest resized image area (0: 4 merged patches).
        max_pixels: largest resized image area (0: 16 merged patches for a tiny config,
            Qwen2.5-VL's own 12845056 for the 7B shape).
    """
    from transformers import (
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    patch = config.vision_config.patch_size
    merge = config.vision_config.spatial_merge_size
    unit = (patch * merge) ** 2
    big = config.text_config.hidden_size > 1024
    images = Qwen2VLImageProcessor(
        min_pixels=min_pixels or 4 * unit,
        max_pixels=max_pixels or (12845056 if big else 16 * unit),
        patch_size=patch,
        merge_size=merge,
        temporal_patch_size=2,
    )
    tokenizer = tokenizer if tokenizer is not None else qwen_tokenizer()
    if config.model_type == "qwen3_vl":
        video: Any = Qwen3VLVideoProcessor(patch_size=patch, merge_size=merge)
        return Qwen3VLProcessor(images, tokenizer, video, chat_template=QWEN_CHAT_TEMPLATE)
    video = Qwen2VLVideoProcessor(patch_size=patch, merge_size=merge)
    return Qwen2_5_VLProcessor(images, tokenizer, video, chat_template=QWEN_CHAT_TEMPLATE)


def build_qwen_vl_checkpoint(folder: str | Path, family: str = "qwen2_5_vl", seed: int = 0) -> Path:
    """Save a tiny random-weight Qwen2.5-VL or Qwen3-VL checkpoint in ``folder``; return it."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen3VLForConditionalGeneration,
    )

    folder = Path(folder)
    tokenizer = qwen_tokenizer()
    config = qwen_vl_config(family, "tiny", vocab_size=len(tokenizer))
    torch.manual_seed(seed)
    model_class = (
        Qwen2_5_VLForConditionalGeneration if family == "qwen2_5_vl" else
        Qwen3VLForConditionalGeneration
    )  # fmt: skip
    model = model_class(config).eval()
    # Like the released checkpoints, whose generation config asks for sampling: the adapter
    # must override it to decode greedily.
    model.generation_config = GenerationConfig(
        eos_token_id=EOS_ID, pad_token_id=PAD_ID, do_sample=True, temperature=0.7, top_p=0.8
    )
    model.save_pretrained(folder)
    qwen_vl_processor(config, tokenizer).save_pretrained(folder)
    return folder
