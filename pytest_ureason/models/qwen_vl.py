"""Qwen2.5-VL and Qwen3-VL through ``transformers`` (``--model qwen-vl``, ``--judge qwen-vl``).

A vision-language model that reads images and text but draws nothing: its place is the judge
of ``vqa`` assertions (``--judge qwen-vl --judge-path DIR``) and the reasoner of text-only
studies. The class is chosen from the checkpoint's ``config.json``: ``model_type``
``qwen2_5_vl`` loads ``Qwen2_5_VLForConditionalGeneration``, ``qwen3_vl`` loads
``Qwen3VLForConditionalGeneration``; the processor (chat template, image processor) comes from
the same folder via ``AutoProcessor``.

* ``answer``: one ``generate`` per batch of up to ``batch_size`` questions, with and without
  images mixed, prompts left-padded. Greedy by default. With ``temperature`` > 0 each item is
  sampled by Gumbel-max with noise hashed from (its seed, step, token), so an answer depends on
  its own image, question and seed, never on its batch neighbours. A CUDA out-of-memory error
  frees the cache and halves the batch (:func:`~pytest_ureason.models.batching.run_batched`).
* ``reason``: the same text generation without images (the ``reason`` request of the other
  adapters).
* ``generate``: :class:`~pytest_ureason.models.base.Unsupported`.

Options (``--model-arg`` / ``--judge-arg KEY=VALUE``): ``max_new_tokens`` (answers, default
128), ``reason_tokens`` (512), ``batch_size`` (8), ``min_pixels`` / ``max_pixels`` (bounds on
an image's resized area, hence on its vision tokens; 0 keeps the checkpoint's own),
``temperature`` (0: greedy), ``dtype`` (``bfloat16`` on a GPU, ``float32`` on the CPU),
``device`` (``cuda`` when present), ``repo`` (looked up in the local Hugging Face cache when
there is no path; default ``Qwen/Qwen2.5-VL-7B-Instruct``).

The revision holds the weights folder's fingerprint, the source fingerprint of this module and
of the per-item sampler, and a digest of every setting that changes an answer (the chat
template and reasoning request, the torch and transformers versions among them), so a cached
judge answer is reused only for the same weights, code, libraries and settings
(``batch_size`` is left out: it changes speed, not answers, up to the rounding of padded rows
in bfloat16; :attr:`QwenVLModel.speed_options` keeps it out of judge cache keys too).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.models.base import ModelLoadError, Unsupported
from pytest_ureason.models.batching import Failed, run_batched
from pytest_ureason.models.fingerprint import (
    content_fingerprint,
    library_versions,
    source_fingerprint,
)
from pytest_ureason.models.janus import reasoning_instruction, template_settings
from pytest_ureason.models.memory import oom_cleanup
from pytest_ureason.models.options import Options
from pytest_ureason.models.sampling import sampling_kwargs

if TYPE_CHECKING:
    from PIL import Image

#: One question: (its image or None, the question, its seed).
Item = tuple["Image.Image | None", str, int]

DEFAULT_REPO = "Qwen/Qwen2.5-VL-7B-Instruct"
#: The code that decides an answer, fingerprinted into the revision.
SOURCE_MODULES = (
    "pytest_ureason.models.qwen_vl",
    "pytest_ureason.models.sampling",
    "pytest_ureason.models.janus_decode",
)
#: ``model_type`` in the checkpoint's config.json -> the ``transformers`` class that loads it.
CLASSES = {
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
}


def find_weights(model_path: str | None, repo: str) -> Path:
    """The checkpoint folder: ``model_path``, else ``repo`` in the Hugging Face cache (offline).

    Raises:
        ModelLoadError: saying where it looked and how to get the weights.
    """
    local = f"~/weights/{repo.split('/')[-1]}"
    fix = (
        f"download a checkpoint, e.g. `hf download {repo} --local-dir {local}`, then pass "
        f"--judge-path {local} (or --model-path as the model under test)"
    )
    if model_path:
        folder = Path(model_path).expanduser()
        if not (folder / "config.json").is_file():
            state = "missing folder" if not folder.exists() else "not a checkpoint"
            raise ModelLoadError(f"qwen-vl: no config.json in {folder} ({state}); {fix}")
        return folder
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(repo, local_files_only=True))
    except Exception:
        raise ModelLoadError(
            f"qwen-vl: no weights path given and {repo!r} is not in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}); {fix} (or pass the option repo=OWNER/NAME)"
        ) from None


class QwenVLModel:
    """Qwen2.5-VL / Qwen3-VL behind the batched protocol (see the module docstring).

    Args:
        model_path: checkpoint folder (Hugging Face layout), or None for the cache.
        options: the ``--model-arg`` / ``--judge-arg`` pairs.
    """

    name = "qwen-vl"
    #: Options that change speed, not answers: left out of judge cache keys.
    speed_options = ("batch_size",)

    def __init__(self, model_path: str | None = None, options: dict[str, str] | None = None):
        opts = Options("qwen-vl", options)
        repo = opts.text("repo", DEFAULT_REPO)
        folder = find_weights(model_path, repo)
        self._configure(opts)
        import torch
        import transformers

        config = transformers.AutoConfig.from_pretrained(folder)
        kind = getattr(config, "model_type", None)
        if kind not in CLASSES:
            raise ModelLoadError(
                f"qwen-vl: {folder / 'config.json'} has model_type {kind!r}; this adapter loads "
                f"{' and '.join(CLASSES)} (Qwen2.5-VL, Qwen3-VL) checkpoints"
            )
        model_class = getattr(transformers, CLASSES[kind])
        model = model_class.from_pretrained(folder, dtype=getattr(torch, self.dtype_name))
        auto: Any = transformers.AutoProcessor
        processor = auto.from_pretrained(folder)
        self._attach(model, processor, content_fingerprint(folder))

    @classmethod
    def from_components(
        cls, model: Any, processor: Any, options: dict[str, str] | None = None, tag: str = "mem"
    ) -> QwenVLModel:
        """An adapter around an already built model and processor (benchmarks, tests)."""
        import torch

        self = cls.__new__(cls)
        self._configure(Options("qwen-vl", options))
        self._attach(model.to(getattr(torch, self.dtype_name)), processor, tag)
        return self

    def _configure(self, opts: Options) -> None:
        import torch

        self.device = opts.text("device", "cuda" if torch.cuda.is_available() else "cpu")
        self.dtype_name = opts.choice(
            "dtype",
            "bfloat16" if self.device.startswith("cuda") else "float32",
            ("bfloat16", "float16", "float32"),
        )
        self.max_new_tokens = int(opts.number("max_new_tokens", 128, 1, 32768))
        self.reason_tokens = int(opts.number("reason_tokens", 512, 1, 32768))
        self.batch_size = int(opts.number("batch_size", 8, 1, 4096))
        self.temperature = opts.number("temperature", 0.0, 0.0, 10.0)
        self.min_pixels = int(opts.number("min_pixels", 0, 0, 1e9))
        self.max_pixels = int(opts.number("max_pixels", 0, 0, 1e9))
        if self.min_pixels and self.max_pixels and self.min_pixels > self.max_pixels:
            raise ModelLoadError(
                f"qwen-vl: --model-arg min_pixels={self.min_pixels} is above "
                f"max_pixels={self.max_pixels}"
            )
        opts.done()

    def _attach(self, model: Any, processor: Any, tag: str) -> None:
        self.model = model.to(self.device).eval()
        self.processor = processor
        processor.tokenizer.padding_side = "left"
        images = processor.image_processor
        side = images.patch_size * images.merge_size
        size = dict(images.size)
        self.pixels = {
            "shortest_edge": self.min_pixels or size["shortest_edge"],
            "longest_edge": self.max_pixels or size["longest_edge"],
        }
        for key, value in self.pixels.items():
            if value < side * side:
                raise ModelLoadError(
                    f"qwen-vl: {'min' if key == 'shortest_edge' else 'max'}_pixels={value} is "
                    f"below one merged patch ({side}x{side} = {side * side} pixels)"
                )
        if self.pixels["shortest_edge"] > self.pixels["longest_edge"]:
            raise ModelLoadError(
                f"qwen-vl: min_pixels {self.pixels['shortest_edge']} is above the checkpoint's "
                f"max_pixels {self.pixels['longest_edge']}; pass both"
            )
        self.settings: dict[str, Any] = {
            "model_type": model.config.model_type,
            "dtype": self.dtype_name,
            "max_new_tokens": self.max_new_tokens,
            "reason_tokens": self.reason_tokens,
            "temperature": self.temperature,
            "min_pixels": self.pixels["shortest_edge"],
            "max_pixels": self.pixels["longest_edge"],
            # The templates text goes through (the checkpoint's chat template, the reasoning
            # request) and the libraries that compute an answer: an upgrade or an edited
            # template never reuses what the old one answered.
            "templates": template_settings(chat=getattr(processor, "chat_template", None)),
            "libraries": library_versions("torch", "transformers"),
        }
        # This module and the per-item sampler (its Gumbel hash) decide what is generated.
        code = source_fingerprint(*SOURCE_MODULES)
        knobs = hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()
        self.revision = f"qwen-vl-{tag}-{code}-{knobs[:8]}"

    # -- generation ------------------------------------------------------------------------

    def _prompt(self, text: str, image: bool) -> str:
        content: list[dict[str, str]] = [{"type": "image"}] if image else []
        content.append({"type": "text", "text": text})
        messages = [{"role": "user", "content": content}]
        return str(self.processor.apply_chat_template(messages, add_generation_prompt=True))

    def _generate(self, batch: list[Item], tokens: int) -> list[str]:
        """One ``generate`` call for a batch of (image or None, question, seed)."""
        import torch

        texts = [self._prompt(q, image is not None) for image, q, _ in batch]
        pictures = [image.convert("RGB") for image, _, _ in batch if image is not None]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if pictures:
            kwargs["images"] = pictures
            kwargs["size"] = self.pixels
        inputs = self.processor(**kwargs).to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        length = inputs["input_ids"].shape[1]
        seeds = [seed for _, _, seed in batch]
        with torch.inference_mode(), oom_cleanup():
            out = self.model.generate(
                **inputs,
                max_new_tokens=tokens,
                **sampling_kwargs(seeds, self.temperature, length),
            )
        decoded = self.processor.batch_decode(out[:, length:], skip_special_tokens=True)
        return [text.strip() for text in decoded]

    def _batched(self, items: list[Item], tokens: int) -> list[str]:
        """Generate in batches of ``batch_size``; out of memory halves a batch, down to one."""
        import torch

        results = run_batched(
            lambda chunk: self._generate(chunk, tokens),
            items,
            self.batch_size,
            catch=(torch.cuda.OutOfMemoryError,),
        )
        for result in results:
            if isinstance(result, Failed):
                raise result.error
        return [str(r) for r in results]

    # -- protocol --------------------------------------------------------------------------

    def answer(
        self, images: list[Image.Image | None], questions: list[str], seeds: list[int]
    ) -> list[str]:
        """Answer each question, looking at its image when there is one."""
        if not len(images) == len(questions) == len(seeds):
            raise ValueError("answer() needs one image (or None), question and seed per item")
        items = list(zip(images, questions, seeds, strict=True))
        return self._batched(items, self.max_new_tokens)

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        """Think each task through in text, ending with the picture to draw if it can."""
        items: list[Item] = [
            (None, reasoning_instruction(p), s) for p, s in zip(prompts, seeds, strict=True)
        ]
        return self._batched(items, self.reason_tokens)

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """Qwen-VL draws no images."""
        raise Unsupported(
            "qwen-vl reads images but does not draw them: use it as the judge "
            "(--judge qwen-vl) or pair it with an image generator (--model composite)"
        )
