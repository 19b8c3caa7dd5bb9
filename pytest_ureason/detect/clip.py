"""CLIP similarity through ``open_clip`` for ``clip`` assertions.

``--clip-model`` names an open_clip architecture (``ViT-B-16``) or a JSON model config file;
``--clip-weights`` is a local checkpoint file that open_clip loads (nothing is downloaded), or
``random`` for random weights, which checks the wiring and nothing else (its verdicts carry
``weights: random``). The score is the cosine similarity of the image and text embeddings.
Absolute thresholds depend on the CLIP model; the ranked form (the image matches its text
better than every distractor) does not, which is why it is the recommended one.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pytest_ureason.detect import DetectorUnavailable

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MODEL = "ViT-B-16"
#: The default absolute threshold: matched captions of ViT-B/16 (OpenAI weights) typically
#: score 0.25-0.35 and unrelated ones below 0.2 (CLIPScore's w = 2.5 rescales the same
#: cosine). It does not transfer across CLIP models: calibrate it or use distractors.
DEFAULT_MIN_SCORE = 0.25


class ClipScorer:
    """An open_clip model and its tokenizer, loaded once, on ``device``.

    Raises:
        DetectorUnavailable: open_clip missing, no weights given, or loading failed.
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, weights: str | None = None, device: str | None = None
    ):
        if weights is None:
            raise DetectorUnavailable(
                "clip assertions need CLIP weights: pass --clip-weights FILE (an open_clip "
                "checkpoint) and --clip-model ARCH"
            )
        try:
            import open_clip
            import torch
        except ImportError as exc:
            raise DetectorUnavailable(
                "clip assertions need open_clip: pip install 'pytest-ureason[clip]'"
            ) from exc
        arch = model
        if model.endswith(".json"):
            config = Path(model).expanduser()
            if not config.is_file():
                raise DetectorUnavailable(f"--clip-model {model}: no such model config file")
            open_clip.add_model_config(config)
            arch = config.stem
        pretrained: str | None = None
        fingerprint = "random"
        if weights != "random":
            path = Path(weights).expanduser()
            if not path.is_file():
                raise DetectorUnavailable(f"--clip-weights {weights}: no such checkpoint file")
            pretrained = str(path)
            fingerprint = hashlib.sha256(f"{path.name}:{path.stat().st_size}".encode()).hexdigest()
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
        self.version = f"clip-{arch}-{fingerprint[:12]}"
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
