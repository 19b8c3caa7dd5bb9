"""A causal LM for text plus a diffusers text-to-image pipeline for images (``--model composite``).

    pytest suites --model composite --model-arg llm=~/w/Qwen2.5-7B-Instruct \\
        --model-arg pipeline=~/w/stable-diffusion-3.5-medium
    pytest suites --model composite --model-path models/qwen-sd35.toml

A model file (TOML or YAML, given as ``--model-path``) holds the same keys as the
``--model-arg`` options; ``--model-arg`` wins. Paths in it are relative to the file.

* ``reason`` / ``answer``: the LLM (``AutoModelForCausalLM``), its chat template when it has one,
  greedy unless ``temperature`` > 0. It cannot see images: ``answer`` about an image raises
  :class:`Unsupported`, so those items are skipped with that reason.
* ``generate``: ``DiffusionPipeline`` (whatever class the folder declares), one seeded
  ``torch.Generator`` per image. For the ``reasoning`` condition the pipeline reads the prompt
  followed by as much of the reasoning as its text encoder takes (the tokenizer's
  ``model_max_length``); when reasoning is cut, the image carries a note
  (``image.info["ureason.notes"]``) that the harness stores and the item reports.

Options: ``llm``, ``pipeline`` (folders in the Hugging Face / diffusers layout, or repository
ids present in the local cache), ``steps`` (30), ``guidance`` (7.5), ``height``/``width``
(the pipeline's default), ``device``, ``dtype``, ``reason_tokens`` (512), ``answer_tokens``
(128), ``temperature`` (0).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ureason.models.base import ModelLoadError, Unsupported
from pytest_ureason.models.fingerprint import (
    content_fingerprint,
    library_versions,
    source_fingerprint,
)
from pytest_ureason.models.janus import reasoning_instruction, template_settings
from pytest_ureason.models.memory import oom_cleanup
from pytest_ureason.models.options import Options

if TYPE_CHECKING:
    from PIL import Image

from pytest_ureason.models.base import MODEL_NOTES as NOTES_KEY

#: How the ``reasoning`` condition's pipeline prompt joins prompt and (fitted) reasoning.
PIPELINE_CONTEXT_TEMPLATE = "{prompt}\n{context}"

FILE_KEYS = {
    "llm",
    "pipeline",
    "steps",
    "guidance",
    "height",
    "width",
    "device",
    "dtype",
    "reason_tokens",
    "answer_tokens",
    "temperature",
}


def read_model_file(path: Path) -> dict[str, str]:
    """The options in a TOML or YAML model file, paths made relative to the file.

    Raises:
        ModelLoadError: unreadable file, bad syntax (with the line), unknown key, bad value.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelLoadError(f"composite: cannot read model file {path}: {exc}") from None
    data: Any
    if path.suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ModelLoadError(f"composite: {path}: {exc}") from None
    elif path.suffix in (".yaml", ".yml"):
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="safe").load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ModelLoadError(f"composite: {path}{line}: invalid YAML: {exc}") from None
    else:
        raise ModelLoadError(f"composite: model file {path} must end in .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise ModelLoadError(f"composite: {path}: expected a table of options")
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in FILE_KEYS:
            raise ModelLoadError(
                f"composite: {path}: unknown key {key!r} (known: {', '.join(sorted(FILE_KEYS))})"
            )
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ModelLoadError(f"composite: {path}: key {key!r} must be a string or a number")
        out[key] = str(value)
        if key in ("llm", "pipeline") and not Path(out[key]).expanduser().is_absolute():
            local = path.parent / out[key]
            if local.exists():
                out[key] = str(local)
    return out


def _resolve(kind: str, where: str) -> Path:
    folder = Path(where).expanduser()
    if folder.is_dir():
        return folder
    if "/" in where and not where.startswith((".", "/", "~")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(where, local_files_only=True))
        except Exception:
            pass
    raise ModelLoadError(
        f"composite: {kind}={where!r} is neither a folder nor a repository in the Hugging Face "
        f"cache; download it (`hf download OWNER/NAME --local-dir DIR`) and pass {kind}=DIR"
    )


class CompositeModel:
    """An LLM and a diffusion pipeline behind the batched protocol (see the module docstring)."""

    name = "composite"

    def __init__(self, model_path: str | None = None, options: dict[str, str] | None = None):
        merged = read_model_file(Path(model_path).expanduser()) if model_path else {}
        merged.update(options or {})
        opts = Options("composite", merged)
        llm, pipeline = opts.optional("llm"), opts.optional("pipeline")
        if not llm or not pipeline:
            raise ModelLoadError(
                "composite: needs llm=PATH and pipeline=PATH (--model-arg, or keys of a "
                "TOML/YAML model file passed as --model-path)"
            )
        import torch

        self.device = opts.text("device", "cuda" if torch.cuda.is_available() else "cpu")
        gpu = self.device.startswith("cuda")
        dtype = opts.choice(
            "dtype", "bfloat16" if gpu else "float32", ("bfloat16", "float16", "float32")
        )
        self.steps = opts.integer("steps", 30, 1, 1000)
        self.guidance = opts.number("guidance", 7.5, 0.0, 100.0)
        # Image sides: the VAE works in blocks of 8 pixels; 0 means the pipeline's default.
        sides = {k: opts.integer(k, 0, 0, 8192) for k in ("height", "width")}
        for key, side in sides.items():
            if side % 8:
                raise ModelLoadError(
                    f"composite: --model-arg {key}={side} must be a multiple of 8 pixels"
                )
        self.reason_tokens = opts.integer("reason_tokens", 512, 1, 32768)
        self.answer_tokens = opts.integer("answer_tokens", 128, 1, 32768)
        self.temperature = opts.number("temperature", 0.0, 0.0, 10.0)
        opts.done()
        self.size = {k: v for k, v in sides.items() if v}
        llm_dir, pipe_dir = _resolve("llm", llm), _resolve("pipeline", pipeline)
        import diffusers
        import transformers

        # Typed as Any: these libraries' own annotations do not describe their factories.
        auto_tokenizer: Any = transformers.AutoTokenizer
        auto_lm: Any = transformers.AutoModelForCausalLM
        pipeline_class: Any = diffusers.DiffusionPipeline

        torch_dtype = getattr(torch, dtype)
        self.tokenizer: Any = auto_tokenizer.from_pretrained(llm_dir, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.llm: Any = auto_lm.from_pretrained(llm_dir, dtype=torch_dtype)
        self.llm = self.llm.to(self.device).eval()
        self.pipe: Any = pipeline_class.from_pretrained(pipe_dir, dtype=torch_dtype)
        self.pipe = self.pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)
        self.settings: dict[str, Any] = {
            "steps": self.steps,
            "guidance": self.guidance,
            "dtype": dtype,
            **self.size,
            "reason_tokens": self.reason_tokens,
            "answer_tokens": self.answer_tokens,
            "temperature": self.temperature,
            # What else decides an output: the templates text goes through, and the libraries
            # that compute it (an upgrade never reuses what the old version made).
            "templates": template_settings(
                chat=getattr(self.tokenizer, "chat_template", None),
                pipeline_context=PIPELINE_CONTEXT_TEMPLATE,
            ),
            "libraries": library_versions("torch", "transformers", "diffusers"),
        }
        self.revision = (
            f"composite-llm-{content_fingerprint(llm_dir)}-pipe-{content_fingerprint(pipe_dir)}-"
            f"{source_fingerprint('pytest_ureason.models.composite')}"
        )

    # -- text ------------------------------------------------------------------------------

    def _complete(self, texts: list[str], tokens: int, seeds: list[int]) -> list[str]:
        """LLM completions; sampling (``temperature`` > 0) is seeded per item, so an item's
        text does not depend on its batch (:mod:`pytest_ureason.models.sampling`)."""
        import torch

        from pytest_ureason.models.sampling import sampling_kwargs

        if getattr(self.tokenizer, "chat_template", None):
            texts = [
                str(
                    self.tokenizer.apply_chat_template(
                        [{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True
                    )
                )
                for t in texts
            ]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
        length = enc["input_ids"].shape[1]
        with torch.inference_mode(), oom_cleanup():
            out = self.llm.generate(
                **enc,
                max_new_tokens=tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                **sampling_kwargs(seeds, self.temperature, length),
            )
        new = out[:, length:]
        return [s.strip() for s in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        """Reasoning from the LLM."""
        texts = [reasoning_instruction(p) for p in prompts]
        return self._complete(texts, self.reason_tokens, list(seeds))

    def answer(
        self, images: list[Image.Image | None], questions: list[str], seeds: list[int]
    ) -> list[str]:
        """Text answers from the LLM; it cannot look at images."""
        if any(image is not None for image in images):
            raise Unsupported("the composite model's LLM cannot see images")
        return self._complete(questions, self.answer_tokens, list(seeds))

    # -- images ----------------------------------------------------------------------------

    def fit_prompt(self, prompt: str, context: str | None) -> tuple[str, str | None]:
        """Prompt + as much reasoning as the text encoder reads; and a note if cut."""
        if context is None:
            return prompt, None
        tok = getattr(self.pipe, "tokenizer", None)
        limit = getattr(tok, "model_max_length", None)

        def join(reasoning: str) -> str:
            return PIPELINE_CONTEXT_TEMPLATE.format(prompt=prompt, context=reasoning)

        full = join(context)
        if tok is None or not limit or limit > 100_000:
            return full, None

        def length(text: str) -> int:
            return len(tok(text, truncation=False)["input_ids"])

        if length(full) <= limit:
            return full, None
        words = context.split()
        low, high = 0, len(words)  # the most reasoning words that fit
        while low < high:
            mid = (low + high + 1) // 2
            if length(join(" ".join(words[:mid]))) <= limit:
                low = mid
            else:
                high = mid - 1
        kept = join(" ".join(words[:low])) if low else prompt
        note = (
            f"reasoning truncated to the text encoder's {limit} tokens: kept {low} of "
            f"{len(words)} reasoning words"
            + ("" if length(prompt) <= limit else "; the prompt itself was also cut")
        )
        return kept, note

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """One image per prompt from the pipeline, seeded per image."""
        import torch

        contexts = contexts or [None] * len(prompts)
        fitted = [self.fit_prompt(p, c) for p, c in zip(prompts, contexts, strict=True)]
        device = "cpu" if self.device == "cpu" else self.device
        generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        with oom_cleanup():
            result = self.pipe(
                prompt=[text for text, _ in fitted],
                num_inference_steps=self.steps,
                guidance_scale=self.guidance,
                generator=generators,
                **self.size,
            )
        images: list[Image.Image] = [im.convert("RGB") for im in result.images]
        for image, (_, note) in zip(images, fitted, strict=True):
            if note:
                image.info[NOTES_KEY] = note
        return images
