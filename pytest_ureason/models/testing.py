"""Tiny, offline checkpoints of the real model classes, for tests and benchmarks.

Nothing here downloads anything: tokenizers are trained locally on a few sentences with the
``tokenizers`` library, models are built from configs with random weights, and everything is
saved in the Hugging Face layout, so the adapters load them exactly as they load real weights
(``--model-path DIR``). Random weights draw noise and write gibberish: the point is to run
every code path of an adapter end to end, not to pass assertions.

* :func:`janus_config`: the Janus-Pro-1B configuration (real sizes) or a tiny one.
* :func:`build_janus_checkpoint`: a Janus checkpoint (model, tokenizer, processor, chat
  template, generation config) in a folder.
* :func:`build_causal_lm_checkpoint`: a tiny Llama causal LM with its tokenizer.
* :func:`build_diffusion_pipeline`: a tiny Stable Diffusion pipeline (CLIP text encoder,
  UNet, VAE, scheduler) saved with ``save_pretrained``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Special tokens of the tiny tokenizers, in id order (ids 0..5).
SPECIAL_TOKENS = (
    "<|begin▁of▁sentence|>",
    "<|end▁of▁sentence|>",
    "<｜▁pad▁｜>",
    "<image_placeholder>",
    "<begin_of_image>",
    "<end_of_image>",
)

#: The shape of Janus-Pro's chat template: ``<|User|>: ...\n\n<|Assistant|>:``.
JANUS_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|User|>: {% else %}<|Assistant|>: {% endif %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image_placeholder>{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{{ '\\n\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|Assistant|>:{% endif %}"
)

_CORPUS = (
    "Draw three red apples on a white table. The answer is 6 blue cups and 2 green books. "
    "Step 1: compute 7 + 5 = 12. Step 2: multiply by 3. <refined_prompt>A picture of 9 birds."
    "</refined_prompt> How many objects are there? Is the cat left of the dog? yes no"
)


def trained_byte_bpe(special_tokens: list[str], corpus: str, vocab_size: int = 400) -> Any:
    """A byte-level BPE ``tokenizers.Tokenizer`` trained here on ``corpus`` (offline)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([corpus] * 4, trainer)
    return tok


def byte_level_tokenizer(vocab_size: int = 400) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` with Janus' special tokens, built offline."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = trained_byte_bpe(list(SPECIAL_TOKENS), _CORPUS, vocab_size)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SPECIAL_TOKENS[0]} $A", special_tokens=[(SPECIAL_TOKENS[0], 0)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=SPECIAL_TOKENS[0],
        eos_token=SPECIAL_TOKENS[1],
        pad_token=SPECIAL_TOKENS[2],
        extra_special_tokens={
            "image_token": SPECIAL_TOKENS[3],
            "boi_token": SPECIAL_TOKENS[4],
            "eoi_token": SPECIAL_TOKENS[5],
        },
    )


def janus_config(size: str = "tiny", vocab_size: int = 400, image_size: int = 64) -> Any:
    """A ``JanusConfig``: ``"1b"`` / ``"7b"`` have Janus-Pro-1B's / -7B's
    sizes, ``"tiny"`` a few layers of 64.

    Args:
        size: ``"7b"``, ``"1b"`` or ``"tiny"``.
        vocab_size: text vocabulary size (``"1b"`` always uses 102400, the real one).
        image_size: side of generated images for ``"tiny"`` (a multiple of 16).
    """
    from transformers import JanusConfig, LlamaConfig

    if size == "7b":  # Janus-Pro-7B: the generation head and aligners follow the width
        text = LlamaConfig(
            vocab_size=102400,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=30,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=16384,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=2,
        )
        return JanusConfig(
            text_config=text.to_dict(),
            vision_config={"projection_dim": 4096},
            vq_config={"projection_dim": 4096, "image_token_embed_dim": 4096},
            image_token_id=3,
        )
    if size == "1b":
        text = LlamaConfig(
            vocab_size=102400,
            hidden_size=2048,
            intermediate_size=5632,
            num_hidden_layers=24,
            num_attention_heads=16,
            num_key_value_heads=16,
            max_position_embeddings=16384,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=2,
        )
        return JanusConfig(text_config=text.to_dict(), image_token_id=3)
    if size != "tiny":
        raise ValueError(f"size must be '7b', '1b' or 'tiny', got {size!r}")
    hidden = 64
    text = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    vision = {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": image_size,
        "patch_size": 16,
        "projection_dim": hidden,
        "num_image_tokens": (image_size // 16) ** 2,
        "mlp_ratio": 2.0,
    }
    vq = {
        "embed_dim": 8,
        "num_embeddings": 64,
        "latent_channels": 32,
        "base_channels": 32,
        "channel_multiplier": [1, 1, 2, 2, 4],
        "num_res_blocks": 1,
        "projection_dim": hidden,
        "image_token_embed_dim": hidden,
    }
    return JanusConfig(
        text_config=text.to_dict(), vision_config=vision, vq_config=vq, image_token_id=3
    )


def janus_processor(config: Any, tokenizer: Any | None = None) -> Any:
    """A ``JanusProcessor`` for ``config`` with the tiny tokenizer and Janus' chat template."""
    from transformers import JanusImageProcessor, JanusProcessor

    side = config.vision_config.image_size
    return JanusProcessor(
        image_processor=JanusImageProcessor(size={"height": side, "width": side}),
        tokenizer=tokenizer if tokenizer is not None else byte_level_tokenizer(),
        chat_template=JANUS_CHAT_TEMPLATE,
        num_image_tokens=config.vision_config.num_image_tokens,
    )


def janus_generation_config(tokenizer: Any) -> Any:
    """The generation config a Janus checkpoint needs (``boi_token_id`` included)."""
    from transformers import GenerationConfig

    gen: Any = GenerationConfig(bos_token_id=0, eos_token_id=1, pad_token_id=2)
    gen.generation_kwargs = {"boi_token_id": tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS[4])}
    return gen


def build_janus_checkpoint(folder: str | Path, image_size: int = 64, seed: int = 0) -> Path:
    """Save a tiny random-weight Janus checkpoint (HF layout) in ``folder``; return it."""
    import torch
    from transformers import JanusForConditionalGeneration

    folder = Path(folder)
    tokenizer = byte_level_tokenizer()
    config = janus_config("tiny", vocab_size=len(tokenizer), image_size=image_size)
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(config).eval()
    model.generation_config = janus_generation_config(tokenizer)
    model.save_pretrained(folder)
    janus_processor(config, tokenizer).save_pretrained(folder)
    return folder


def build_causal_lm_checkpoint(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny random-weight Llama causal LM with a chat template in ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tokenizer = byte_level_tokenizer()
    tokenizer.chat_template = JANUS_CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _clip_tokenizer(folder: Path) -> Any:
    """A ``CLIPTokenizer`` over a tiny vocabulary written here (letters, a few merges)."""
    import json

    from transformers import CLIPTokenizer

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    vocab_list = ["<|startoftext|>", "<|endoftext|>", "!", *letters, *(x + "</w>" for x in letters)]
    merges = ["#version: 0.2", "a p", "ap p", "l e</w>", "app le</w>"]
    vocab_list += ["ap", "app", "le</w>", "apple</w>"]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("\n".join(merges) + "\n")
    return CLIPTokenizer(
        vocab_file=str(folder / "vocab.json"),
        merges_file=str(folder / "merges.txt"),
        model_max_length=16,
        pad_token="!",
    )


def build_diffusion_pipeline(folder: str | Path, sample_size: int = 8, seed: int = 0) -> Path:
    """Save a tiny random-weight ``StableDiffusionPipeline`` in ``folder``.

    Its text encoder reads at most 16 tokens (the tokenizer's ``model_max_length``), so
    truncation is easy to provoke. Images are ``sample_size * 4`` pixels square.
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    tokenizer = _clip_tokenizer(folder / "_vocab")
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        sample_size=sample_size * 2,
        norm_num_groups=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=2,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=16,
        )
    )
    pipe: Any = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=DDIMScheduler(clip_sample=False, steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder
