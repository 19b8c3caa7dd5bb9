"""Random-weight checkpoints of the open-vocabulary detectors and CLIP, built offline.

No weights can be downloaded here, so the tests and benchmarks build the *same classes* the
real checkpoints load into (``Owlv2ForObjectDetection``, ``GroundingDinoForObjectDetection``,
an open_clip model) from configs, with random weights, and save them as a folder that the real
loading code reads. ``size="tiny"`` is for tests (a few hundred thousand parameters, 64 px);
``size="base"`` has the real checkpoints' shapes (OWLv2-base/16 at 960 px, Grounding DINO-tiny)
for latency measurements. Verdicts from random weights mean nothing: they check wiring only.

The tokenizer is a word-level one over the object vocabulary (the real checkpoints' BPE
vocabularies are not on this machine); it tokenizes queries to a similar number of tokens.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from pytest_ureason.scene import vocabulary

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|startoftext|>"]
#: Last, so that it has the highest id, as in CLIP's vocabulary: CLIP-style text towers (OWLv2's)
#: pool the hidden state at ``input_ids.argmax()``, which must be the end token, or every query
#: would be pooled at the same early word and embed alike whatever its label.
_END = "<|endoftext|>"


def _words() -> list[str]:
    words = {"a", "an", "photo", "of", "the", "."}
    for obj in vocabulary.objects():
        words.update(obj.name.split())
        words.update(obj.plural.split())
    return [*_SPECIAL, *sorted(words), _END]


def word_tokenizer(kind: str, max_length: int) -> Any:
    """A word-level ``PreTrainedTokenizerFast`` over the vocabulary (``kind``: clip or bert)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tf: Any = importlib.import_module("transformers")

    vocab = {w: i for i, w in enumerate(_words())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if kind == "clip":
        special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"}
        first, last = "<|startoftext|>", "<|endoftext|>"
    else:
        special = {"cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"}
        first, last = "[CLS]", "[SEP]"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{first} $A {last}", special_tokens=[(first, vocab[first]), (last, vocab[last])]
    )
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        model_max_length=max_length,
        **special,
    )


def owlv2(size: str = "tiny") -> tuple[Any, Any]:
    """(processor, model) of OWLv2 with random weights."""
    tf: Any = importlib.import_module("transformers")

    n = len(_words())
    # Our tokenizer's ids of its start, end and padding tokens (CLIP's lie outside it).
    ids = dict(bos_token_id=5, eos_token_id=n - 1, pad_token_id=0)
    if size == "tiny":
        side = 64
        text = dict(
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=n,
            max_position_embeddings=16,
            **ids,
        )
        vision = dict(
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            image_size=side,
            patch_size=16,
        )
        config = tf.Owlv2Config(text_config=text, vision_config=vision, projection_dim=32)
    else:  # owlv2-base-patch16: ViT-B/16 at 960 px, CLIP text tower
        side = 960
        config = tf.Owlv2Config(
            text_config=dict(vocab_size=n, **ids),
            vision_config=dict(image_size=side, patch_size=16),
        )
    processor = tf.Owlv2Processor(
        image_processor=tf.Owlv2ImageProcessor(size={"height": side, "width": side}),
        tokenizer=word_tokenizer("clip", 16),
    )
    return processor, tf.Owlv2ForObjectDetection(config).eval()


def grounding_dino(size: str = "tiny") -> tuple[Any, Any]:
    """(processor, model) of Grounding DINO with random weights."""
    tf: Any = importlib.import_module("transformers")

    n = len(_words())
    if size == "tiny":
        config = tf.GroundingDinoConfig(
            backbone_config=dict(model_type="swin", embed_dim=16, depths=[1, 1, 1, 1],
                                 num_heads=[1, 1, 1, 1], image_size=64, window_size=4,
                                 out_features=["stage2", "stage3", "stage4"]),
            text_config=dict(model_type="bert", hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=37, vocab_size=n),
            d_model=32, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=20,
            encoder_n_points=2, decoder_n_points=2, max_text_len=32,
        )  # fmt: skip
        sizes = {"shortest_edge": 128, "longest_edge": 160}
    else:  # grounding-dino-tiny: Swin-T backbone, BERT-base text encoder, 900 queries
        config = tf.GroundingDinoConfig(text_config=dict(model_type="bert", vocab_size=n))
        sizes = {"shortest_edge": 800, "longest_edge": 1333}
    processor = tf.GroundingDinoProcessor(
        image_processor=tf.GroundingDinoImageProcessor(size=sizes),
        tokenizer=word_tokenizer("bert", 256),
    )
    return processor, tf.GroundingDinoForObjectDetection(config).eval()


def save_detector(name: str, folder: str | Path, size: str = "tiny") -> Path:
    """Build ``name`` (``owlv2`` or ``grounding-dino``) with random weights and save it as a
    ``save_pretrained`` folder that
    :class:`~pytest_ureason.judge.detect.openvocab.OpenVocabularyDetector`
    loads like a real checkpoint."""
    import torch

    tf: Any = importlib.import_module("transformers")
    tf.utils.logging.disable_progress_bar()
    torch.manual_seed(0)  # the same random weights every time
    build = {"owlv2": owlv2, "grounding-dino": grounding_dino}[name]
    processor, model = build(size)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


#: A tiny open_clip model (ViT image tower, transformer text tower) for tests.
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 16,
                   "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2,
                 "layers": 2},
}  # fmt: skip


def save_clip_config(folder: str | Path, name: str = "ureason-tiny-clip") -> Path:
    """Write :data:`TINY_CLIP_CONFIG` as ``<folder>/<name>.json`` (an open_clip model config)."""
    path = Path(folder) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(TINY_CLIP_CONFIG, indent=1))
    return path
