"""CLIP similarity through ``open_clip`` for ``clip`` assertions.

``--clip-model`` names an open_clip architecture (``ViT-B-16``) or a JSON model config file;
``--clip-weights`` is a local checkpoint file that open_clip loads (nothing is downloaded), or
``random`` for random weights, which checks the wiring and nothing else (its verdicts carry
``weights: random``). The scorer's identity (:func:`clip_identity`, recorded in every ``clip``
verdict and in the keys of cached scores) names the architecture and the weights by content: a
checkpoint replaced in place under the same name gets a new identity, the same checkpoint
copied elsewhere keeps it; a model config file enters by its content too. The score is the
cosine similarity of the image and text embeddings. Absolute thresholds depend on the CLIP
model; the ranked form (the image matches its text better than every distractor) does not,
which is why it is the recommended one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pytest_ureason.judge.detect.base import DetectorUnavailable
from pytest_ureason.models.fingerprint import content_fingerprint

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MODEL = "ViT-B-16"
#: The default absolute threshold: matched captions of ViT-B/16 (OpenAI weights) typically
#: score 0.25-0.35 and unrelated ones below 0.2 (CLIPScore's w = 2.5 rescales the same
#: cosine). It does not transfer across CLIP models: calibrate it or use distractors.
DEFAULT_MIN_SCORE = 0.25


@dataclass(frozen=True)
class ClipSource:
    """Where a CLIP scorer's model comes from, checked, and its identity.

    Attributes:
        arch: the open_clip architecture name (a config file's stem).
        config: the model config file, when ``--clip-model`` names one.
        checkpoint: the local checkpoint file; None for random weights.
        version: ``clip-ARCH[-cCONFIG]-WEIGHTS``: CONFIG is the config file's content
            fingerprint, WEIGHTS is ``random`` or ``sha-`` and the checkpoint's content
            fingerprint.
    """

    arch: str
    config: Path | None
    checkpoint: Path | None
    version: str


def clip_identity(model: str = DEFAULT_MODEL, weights: str | None = None) -> ClipSource:
    """Check ``--clip-model`` / ``--clip-weights`` and fingerprint them by content, without
    loading anything (the first use hashes the checkpoint; later ones read the digest cache).

    Raises:
        DetectorUnavailable: no weights given, or a named file does not exist.
    """
    if weights is None:
        raise DetectorUnavailable(
            "clip assertions need CLIP weights: pass --clip-weights FILE (an open_clip "
            "checkpoint) and --clip-model ARCH"
        )
    arch, config, tag = model, None, ""
    if model.endswith(".json"):
        config = Path(model).expanduser()
        if not config.is_file():
            raise DetectorUnavailable(f"--clip-model {model}: no such model config file")
        arch = config.stem
        tag = f"-c{content_fingerprint(config)[:8]}"
    checkpoint = None
    weights_tag = "random"
    if weights != "random":
        checkpoint = Path(weights).expanduser()
        if not checkpoint.is_file():
            raise DetectorUnavailable(f"--clip-weights {weights}: no such checkpoint file")
        weights_tag = f"sha-{content_fingerprint(checkpoint)[:12]}"
    return ClipSource(arch, config, checkpoint, f"clip-{arch}{tag}-{weights_tag}")


class ClipScorer:
    """An open_clip model and its tokenizer, loaded once, on ``device``.

    Raises:
        DetectorUnavailable: open_clip missing, no weights given, or loading failed.
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, weights: str | None = None, device: str | None = None
    ):
        source = clip_identity(model, weights)
        try:
            import open_clip
            import torch
        except ImportError as exc:
            raise DetectorUnavailable(
                "clip assertions need open_clip: pip install 'pytest-ureason[clip]'"
            ) from exc
        if source.config is not None:
            open_clip.add_model_config(source.config)
        arch = source.arch
        pretrained = str(source.checkpoint) if source.checkpoint is not None else None
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.model: Any
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(
                arch, pretrained=pretrained, device=device
            )
            self.tokenizer: Any = open_clip.get_tokenizer(arch)
        except Exception as exc:
            raise DetectorUnavailable(
                f"CLIP {arch!r} failed to load ({weights}): {type(exc).__name__}: {exc}"
            ) from exc
        self.model.eval()
        self.device = device
        self.arch = arch
        self.weights = weights
        self.version = source.version
        self._lock = threading.Lock()

    def score(self, images: list[Image.Image], texts: list[str]) -> NDArray[np.float64]:
        """Cosine similarity of each image (rows) with each text (columns)."""
        import torch

        with self._lock, torch.inference_mode():
            pixels = torch.stack([self.preprocess(im.convert("RGB")) for im in images])
            img = self.model.encode_image(pixels.to(self.device))
            txt = self.model.encode_text(self.tokenizer(texts).to(self.device))
            img = img / img.norm(dim=-1, keepdim=True)
            txt = txt / txt.norm(dim=-1, keepdim=True)
            sims = (img @ txt.T).float().cpu().numpy()
        return np.asarray(sims, dtype=np.float64)
