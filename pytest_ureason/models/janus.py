"""Janus / Janus-Pro through the Janus classes of ``transformers`` (``--model janus-pro``).

* ``reason`` and ``answer``: the model's own text generation (greedy by default), prompts built
  with the checkpoint's chat template; ``answer`` shows the image to the vision encoder.
* ``generate``: image tokens with classifier-free guidance, decoded by the VQ model. For the
  ``reasoning`` condition the image is conditioned on prompt + reasoning in one user turn, as
  the model itself would see them.

Sampling is *per item*: the noise of item ``k`` at token ``t`` is a hash of (seed, t, code), so
an image depends on its own prompt and seed only, never on what else shares its batch.

Decode paths (``--model-arg decode=...``, see :mod:`pytest_ureason.models.janus_decode`):
``fast`` (the default: the adapter's own KV buffer, attention over the filled positions only,
batches sized from free GPU memory; on a GPU the layers' pieces around attention compiled and
each step replayed as a CUDA graph; on an H100 it holds 18.2-18.4 images/s from 128 to 512
images where ``static`` ran out of memory), ``static``
(transformers' ``StaticCache`` attended over its full length, the step compiled with
``torch.compile`` into CUDA graphs; the earlier default), ``plain``
(the same loop, eager, dynamic cache) and ``transformers`` (the library's own
``generate(generation_mode="image")``; its sampling uses the global RNG).

Options (``--model-arg KEY=VALUE``): ``guidance`` (CFG scale, default 5), ``temperature``
(image tokens, default 1; 0 is greedy), ``decode``, ``device`` (default ``cuda`` when present),
``dtype`` (``bfloat16`` on a GPU, ``float32`` on the CPU), ``reason_tokens`` (512),
``answer_tokens`` (128), ``text_temperature`` (0: greedy; above 0, sampled with noise seeded
per item, see :mod:`pytest_ureason.models.sampling`), ``repo`` (Hugging Face repository
looked up in the local cache when there is no ``--model-path``; default
``deepseek-community/Janus-Pro-7B``), ``compile`` (``auto``/``on``/``off``), ``attention``
(``fast`` path: ``auto``, ``triton``, ``sdpa`` or ``matmul``; ``auto`` is the Triton kernel of
:mod:`pytest_ureason.models.decode_attention` on a GPU, ``sdpa`` elsewhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.models.base import ModelLoadError
from pytest_ureason.models.fingerprint import (
    content_fingerprint,
    library_versions,
    source_fingerprint,
    text_fingerprint,
)
from pytest_ureason.models.janus_decode import ATTENTION_PATHS
from pytest_ureason.models.memory import oom_cleanup
from pytest_ureason.models.options import Options

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_REPO = "deepseek-community/Janus-Pro-7B"
DECODE_PATHS = ("fast", "static", "plain", "transformers")


def find_weights(model_path: str | None, repo: str) -> Path:
    """The checkpoint folder: ``--model-path``, else ``repo`` in the Hugging Face cache.

    Raises:
        ModelLoadError: saying where it looked and how to get the weights.
    """
    fix = (
        f"download a checkpoint in the transformers layout, e.g. "
        f"`hf download {repo} --local-dir ~/weights/{repo.split('/')[-1]}`, then pass "
        f"--model-path ~/weights/{repo.split('/')[-1]}"
    )
    if model_path:
        folder = Path(model_path).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelLoadError(
                f"janus-pro: no config.json in --model-path {folder} "
                f"({'missing folder' if not folder.exists() else 'not a checkpoint'}); {fix}"
            )
        return folder
    try:
        from huggingface_hub import constants, snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        raise ModelLoadError(f"janus-pro: no --model-path given; {fix}") from None
    try:
        return Path(snapshot_download(repo, local_files_only=True))
    except Exception:
        raise ModelLoadError(
            f"janus-pro: no --model-path given and {repo!r} is not in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}); {fix} (or pass --model-arg repo=OWNER/NAME)"
        ) from None


class JanusProModel:
    """Janus-Pro behind the batched protocol (see the module docstring).

    Args:
        model_path: checkpoint folder (Hugging Face layout), or None for the cache.
        options: the ``--model-arg`` pairs.
    """

    name = "janus-pro"

    def __init__(self, model_path: str | None = None, options: dict[str, str] | None = None):
        opts = Options("janus-pro", options)
        repo = opts.text("repo", DEFAULT_REPO)
        folder = find_weights(model_path, repo)
        self._configure(opts)
        import torch
        from transformers import AutoConfig, JanusForConditionalGeneration, JanusProcessor

        config = AutoConfig.from_pretrained(folder)
        if getattr(config, "model_type", None) != "janus":
            raise ModelLoadError(
                f"janus-pro: {folder} holds a {getattr(config, 'model_type', '?')!r} model, not "
                "'janus'; DeepSeek's original release needs the transformers-format checkpoint "
                "(deepseek-community/Janus-Pro-1B or -7B)"
            )
        model = JanusForConditionalGeneration.from_pretrained(
            folder, dtype=getattr(torch, self.dtype_name)
        )
        processor = JanusProcessor.from_pretrained(folder)
        self._attach(model, processor, content_fingerprint(folder))

    @classmethod
    def from_components(
        cls, model: Any, processor: Any, options: dict[str, str] | None = None, tag: str = "mem"
    ) -> JanusProModel:
        """An adapter around an already built model and processor (benchmarks, tests)."""
        import torch

        self = cls.__new__(cls)
        self._configure(Options("janus-pro", options))
        self._attach(model.to(getattr(torch, self.dtype_name)), processor, tag)
        return self

    def _configure(self, opts: Options) -> None:
        import torch

        cuda = torch.cuda.is_available()
        self.device = opts.text("device", "cuda" if cuda else "cpu")
        self.dtype_name = opts.choice(
            "dtype",
            "bfloat16" if self.device.startswith("cuda") else "float32",
            ("bfloat16", "float16", "float32"),
        )
        self.guidance = opts.number("guidance", 5.0, 0.0, 100.0)
        self.temperature = opts.number("temperature", 1.0, 0.0, 10.0)
        self.decode = opts.choice("decode", "fast", DECODE_PATHS)
        self.compile = opts.choice("compile", "auto", ("auto", "on", "off"))
        self.attention = opts.choice("attention", "auto", ATTENTION_PATHS)
        self.reason_tokens = opts.integer("reason_tokens", 512, 1, 32768)
        self.answer_tokens = opts.integer("answer_tokens", 128, 1, 32768)
        self.text_temperature = opts.number("text_temperature", 0.0, 0.0, 10.0)
        opts.done()

    def _attach(self, model: Any, processor: Any, tag: str) -> None:
        from pytest_ureason.models.janus_decode import BucketedDecoder, ImageDecoder

        self.model = model.to(self.device).eval()
        self.processor = processor
        gen = model.generation_config
        if not getattr(gen, "generation_kwargs", None):
            boi = processor.tokenizer.convert_tokens_to_ids(processor.image_start_token)
            gen.generation_kwargs = {"boi_token_id": boi}
        use_compile = self.compile == "on" or (
            self.compile == "auto" and self.device.startswith("cuda")
        )
        self.decoder: ImageDecoder
        if self.decode == "fast":
            graphs = self.device.startswith("cuda") and self.compile != "off"
            self.decoder = BucketedDecoder(
                model, processor, graphs=graphs, attention=self.attention
            )
        else:
            self.decoder = ImageDecoder(
                model,
                processor,
                static=self.decode == "static",
                compiled=use_compile and self.decode == "static",
            )
        side = model.config.vision_config.image_size
        self.settings: dict[str, Any] = {
            "guidance": self.guidance,
            "temperature": self.temperature,
            "decode": self.decode,
            # compiled kernels and graphs round differently in bf16
            "compiled": self.decoder.compiled or getattr(self.decoder, "graphs", False),
            "attention": getattr(self.decoder, "attention", "transformers"),
            "dtype": self.dtype_name,
            "image_size": side,
            "reason_tokens": self.reason_tokens,
            "answer_tokens": self.answer_tokens,
            "text_temperature": self.text_temperature,
            # What else decides an output: the templates text goes through, and the libraries
            # that compute it (an upgrade never reuses what the old version made).
            "templates": template_settings(
                chat=getattr(processor, "chat_template", None),
                image_context=IMAGE_CONTEXT_TEMPLATE,
            ),
            "libraries": library_versions("torch", "transformers"),
        }
        code = source_fingerprint(
            "pytest_ureason.models.janus",
            "pytest_ureason.models.janus_decode",
            "pytest_ureason.models.decode_attention",
        )
        self.revision = f"janus-{tag}-{code}"

    # -- text ------------------------------------------------------------------------------

    def _chat(self, text: str, image: bool = False) -> str:
        content: list[dict[str, str]] = [{"type": "image"}] if image else []
        content.append({"type": "text", "text": text})
        messages = [{"role": "user", "content": content}]
        return str(self.processor.apply_chat_template(messages, add_generation_prompt=True))

    def _text(
        self, texts: list[str], images: list[Any] | None, tokens: int, seeds: list[int]
    ) -> list[str]:
        """Generate text for chat-formatted ``texts``; sampling (``text_temperature`` > 0) is
        seeded per item, so an item's text does not depend on its batch."""
        import torch
        from transformers import GenerationMixin

        from pytest_ureason.models.sampling import sampling_kwargs

        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if images:
            kwargs["images"] = images
        inputs = self.processor(**kwargs).to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        length = inputs["input_ids"].shape[1]
        with torch.inference_mode(), oom_cleanup(self.decoder.release):
            # Janus' own generate(generation_mode="text") forwards to GenerationMixin.generate
            # but drops ``logits_processor`` (transformers 5.23): call the mixin directly, with
            # guidance off as Janus does for text.
            out = GenerationMixin.generate(
                self.model,
                **inputs,
                max_new_tokens=tokens,
                guidance_scale=None,
                **sampling_kwargs(seeds, self.text_temperature, length),
            )
        new = out[:, length:]
        return [s.strip() for s in self.processor.batch_decode(new, skip_special_tokens=True)]

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        """Think the task through in text; the answer ends in a refined prompt if it can."""
        texts = [self._chat(reasoning_instruction(p)) for p in prompts]
        return self._text(texts, None, self.reason_tokens, list(seeds))

    def answer(
        self, images: list[Image.Image | None], questions: list[str], seeds: list[int]
    ) -> list[str]:
        """Answer each question, looking at its image when there is one."""
        with_image = [i for i, img in enumerate(images) if img is not None]
        out = [""] * len(questions)
        if with_image:
            texts = [self._chat(questions[i], image=True) for i in with_image]
            pics = [images[i].convert("RGB") for i in with_image]  # type: ignore[union-attr]
            made = self._text(texts, pics, self.answer_tokens, [seeds[i] for i in with_image])
            for i, text in zip(with_image, made, strict=True):
                out[i] = text
        without = [i for i, img in enumerate(images) if img is None]
        if without:
            texts = [self._chat(questions[i]) for i in without]
            made = self._text(texts, None, self.answer_tokens, [seeds[i] for i in without])
            for i, text in zip(without, made, strict=True):
                out[i] = text
        return out

    # -- images ----------------------------------------------------------------------------

    def image_prompts(self, prompts: list[str], contexts: list[str | None] | None) -> list[str]:
        """Chat-formatted generation prompts: prompt and reasoning share one user turn."""
        contexts = contexts or [None] * len(prompts)
        return [
            self._chat(p if c is None else IMAGE_CONTEXT_TEMPLATE.format(prompt=p, context=c))
            for p, c in zip(prompts, contexts, strict=True)
        ]

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """One image per prompt (batched, classifier-free guidance)."""
        texts = self.image_prompts(prompts, contexts)
        with oom_cleanup(self.decoder.release):
            if self.decode == "transformers":
                tokens = self.decoder.library_tokens(texts, seeds, self.guidance, self.temperature)
            else:
                tokens = self.decoder.tokens(texts, seeds, self.guidance, self.temperature)
            return self.decoder.pixels(tokens)


#: What ``reason`` asks after the prompt (shared by the janus-pro, composite and http adapters).
REASONING_REQUEST = (
    "Before drawing, work out step by step what the picture must show. End with the exact "
    "picture to draw inside <refined_prompt>...</refined_prompt>."
)

#: How the ``reasoning`` condition joins prompt and reasoning into one user turn.
IMAGE_CONTEXT_TEMPLATE = "{prompt}\n\n{context}"


def reasoning_instruction(prompt: str) -> str:
    """The ``reason`` request: work the task out, then state what to draw."""
    return f"{prompt}\n\n{REASONING_REQUEST}"


def template_settings(**templates: str | None) -> dict[str, str]:
    """The templates an adapter sends text through, for its settings (and so the store key):
    the reasoning instruction itself, and a fingerprint of each other template."""
    out = {"reason": reasoning_instruction("{prompt}")}
    out.update({name: text_fingerprint(text) for name, text in templates.items()})
    return out
