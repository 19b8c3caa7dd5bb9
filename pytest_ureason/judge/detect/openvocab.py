"""Open-vocabulary object detection of real generated images through ``transformers``.

Two families, one class: OWLv2 (``Owlv2ForObjectDetection``) and Grounding DINO
(``GroundingDinoForObjectDetection``). Weights come from a local folder (``--detector-path``,
a ``save_pretrained`` folder with ``config.json``, the processor files and the weights) or from
the user's Hugging Face cache of the default checkpoint; nothing is ever downloaded.

Every label is scored on its own, so a box's score for "apple" never depends on what else
was asked for in the same pass:

* OWLv2 embeds one text query per label and scores every box against each query; the score of
  a box for label L is the sigmoid of its logit for L's query. (transformers'
  ``post_process_object_detection`` keeps, per box, only the best query and its sigmoid: a box
  that scores 0.9 as "car" and 0.25 as "apple" would be a 0.9 "car" and never an "apple", and
  whether it is an apple would depend on whether "car" was asked for too.)
  Boxes are scaled back to pixels by the longer image side, since OWLv2 pads images to a square
  at the bottom and right, as in transformers.
* Grounding DINO gets one prompt per label (``"apple."``), never the labels joined into one
  caption, whose token spans bleed into each other and mislabel boxes. The score of a box is the
  highest sigmoid over the label's own tokens (the prompt's special tokens and the trailing
  period excluded), and the box carries the label it was queried for. Prompts of the same token
  length are batched together (with the images), so no prompt is ever padded.

Both backends return boxes and scores (neither transformers class predicts masks), so an
object's color is read from the core of its box
(:func:`pytest_ureason.judge.detect.color.region_color`).
OWLv2 predicts one box per image patch, so overlapping boxes of one label are merged by
non-maximum suppression before anything is counted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pytest_ureason.judge.detect.base import (
    NMS_IOU,
    THRESHOLDS,
    DetectorUnavailable,
    detector_version,
)
from pytest_ureason.models.fingerprint import content_fingerprint

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.judge.detect.classical import Detection

#: The checkpoint looked for in the Hugging Face cache when no path is given.
DEFAULT_CHECKPOINTS = {
    "owlv2": "google/owlv2-base-patch16-ensemble",
    "grounding-dino": "IDEA-Research/grounding-dino-tiny",
}
#: ``config.json``'s ``model_type`` of each family.
MODEL_TYPES = {"owlv2": "owlv2", "grounding-dino": "grounding-dino"}
BATCH_SIZE = 8
#: Candidate boxes per label considered by NMS (the best-scoring ones): more than any count
#: a suite asks about, and it bounds the work when scores are flat (random weights).
MAX_PER_LABEL = 200


def _model_type(folder: Path) -> str | None:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("model_type") if isinstance(data, dict) else None
    return str(value) if value is not None else None


def find_weights(name: str, path: str | None = None) -> Path | None:
    """The folder holding ``name``'s weights: ``path`` when it holds that family, else the
    Hugging Face cache's snapshot of :data:`DEFAULT_CHECKPOINTS`, else None."""
    if path is not None:
        folder = Path(path).expanduser()
        return folder if _model_type(folder) == MODEL_TYPES[name] else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(DEFAULT_CHECKPOINTS[name], "config.json")
    if isinstance(found, str):
        folder = Path(found).parent
        if _model_type(folder) == MODEL_TYPES[name]:
            return folder
    return None


def nms(boxes: NDArray[np.float64], scores: NDArray[np.float64], iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first (at most
    :data:`MAX_PER_LABEL` candidates are considered)."""
    order = np.argsort(-scores, kind="stable")[:MAX_PER_LABEL]
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep: list[int] = []
    while len(order):
        i, rest = int(order[0]), order[1:]
        keep.append(i)
        x0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = (x1 - x0).clip(0) * (y1 - y0).clip(0)
        union = np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[inter / union <= iou]
    return keep


def prompt(name: str, label: str) -> str:
    """The text of one label as the model reads it: OWLv2 was trained on "a photo of a ..."
    captions; Grounding DINO reads period-terminated phrases."""
    return f"a photo of a {label}" if name == "owlv2" else f"{label}."


#: Per label: the boxes (n x 4, pixels, corners) and their scores for that label.
Scored = dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]


class OpenVocabularyDetector:
    """OWLv2 or Grounding DINO, loaded once, on ``device``.

    Args:
        name: ``owlv2`` or ``grounding-dino``.
        path: a local weights folder; None looks in the Hugging Face cache.
        device: ``cpu``, ``cuda``, ``cuda:1``...; None picks the worker's GPU when there is one.
        floor: the lowest score kept (default: the family's lowest assertion threshold).
        batch_size: images per forward pass (Grounding DINO: image-prompt pairs).

    Raises:
        DetectorUnavailable: transformers/torch missing, or no weights where we looked.
    """

    open_vocabulary = True

    def __init__(
        self,
        name: str,
        path: str | None = None,
        device: str | None = None,
        *,
        floor: float | None = None,
        batch_size: int = BATCH_SIZE,
    ):
        if name not in DEFAULT_CHECKPOINTS:
            raise ValueError(f"unknown open-vocabulary detector {name!r}")
        self.name = name
        folder = find_weights(name, path)
        if folder is None:
            where = (
                f"{path} holds no {name} model (config.json model_type {MODEL_TYPES[name]!r})"
                if path
                else (f"{DEFAULT_CHECKPOINTS[name]} is not in the Hugging Face cache")
            )
            raise DetectorUnavailable(
                f"detector {name!r} has no weights: {where}; pass --detector-path FOLDER "
                "(a save_pretrained folder) or use --detector classical"
            )
        try:
            import importlib

            import torch

            transformers: Any = importlib.import_module("transformers")
        except ImportError as exc:
            raise DetectorUnavailable(
                f"detector {name!r} needs torch and transformers: pip install "
                "'pytest-ureason[judges]'"
            ) from exc
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        classes = {
            "owlv2": (transformers.Owlv2Processor, transformers.Owlv2ForObjectDetection),
            "grounding-dino": (
                transformers.GroundingDinoProcessor,
                transformers.GroundingDinoForObjectDetection,
            ),
        }[name]
        try:
            self.processor: Any = classes[0].from_pretrained(folder, local_files_only=True)
            self.model: Any = classes[1].from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise DetectorUnavailable(
                f"detector {name!r} failed to load from {folder}: {exc}"
            ) from exc
        self.model.to(device).eval()
        self.device = device
        self.folder = folder
        self.floor = min(THRESHOLDS[name].values()) if floor is None else floor
        self.batch_size = max(1, batch_size)
        # The weights by content (the same weights copied elsewhere share cached outputs; weights
        # replaced in place under the same names do not).
        self.version = f"{detector_version(name)}-w{content_fingerprint(folder)}-f{self.floor:g}"
        self._lock = threading.Lock()

    def detect(self, images: list[Image.Image], labels: list[str]) -> list[list[Detection]]:
        """Detections of ``labels`` in each image, scores at or above the floor, after NMS per
        label. A label's detections do not depend on the other labels asked for."""
        labels = list(dict.fromkeys(labels))
        out: list[list[Detection]] = [[] for _ in images]
        if not labels:
            return out
        # Batch images of one size together: padding a smaller image changes what the model
        # sees, so a verdict would depend on its batch-mates.
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, im in enumerate(images):
            by_size.setdefault(im.size, []).append(i)
        for indices in by_size.values():
            rgb = {i: images[i].convert("RGB") for i in indices}
            if self.name == "owlv2":
                scored = self._owlv2(rgb, labels)
            else:
                scored = self._grounding_dino(rgb, labels)
            for i in indices:
                out[i] = self._detections(rgb[i], scored[i], labels)
        return out

    def _owlv2(self, images: dict[int, Image.Image], labels: list[str]) -> dict[int, Scored]:
        """Per image and label: (boxes, scores) of the boxes whose score *for that label's
        query* reaches the floor."""
        import torch

        indices = list(images)
        scored: dict[int, Scored] = {}
        texts = [prompt(self.name, lb) for lb in labels]
        for start in range(0, len(indices), self.batch_size):
            part = indices[start : start + self.batch_size]
            chunk = [images[i] for i in part]
            with self._lock, torch.inference_mode():
                inputs = self.processor(
                    images=chunk, text=[texts] * len(chunk), return_tensors="pt", padding=True
                ).to(self.device)
                outputs = self.model(**inputs)
            probs = torch.sigmoid(outputs.logits.float()).cpu().numpy()  # (B, boxes, queries)
            boxes = _corners(outputs.pred_boxes.float().cpu().numpy())
            for b, i in enumerate(part):
                im = images[i]
                side = max(im.width, im.height)  # OWLv2 pads to a square (bottom, right)
                pixels = boxes[b] * side
                scored[i] = {
                    lb: _above(pixels, probs[b, :, q], self.floor) for q, lb in enumerate(labels)
                }
        return scored

    def _grounding_dino(
        self, images: dict[int, Image.Image], labels: list[str]
    ) -> dict[int, Scored]:
        """Per image and label: (boxes, scores) from the label's own prompt, the score being the
        best sigmoid over the label's tokens."""
        import torch

        tokenizer = self.processor.tokenizer
        with self._lock:
            length = {lb: len(tokenizer(prompt(self.name, lb))["input_ids"]) for lb in labels}
        # One token length per batch, so no prompt is ever padded.
        groups: dict[int, list[tuple[int, str]]] = {}
        for lb in labels:
            groups.setdefault(length[lb], []).extend((i, lb) for i in images)
        scored: dict[int, Scored] = {i: {} for i in images}
        batches = [
            group[start : start + self.batch_size]
            for group in groups.values()
            for start in range(0, len(group), self.batch_size)
        ]
        for part in batches:
            with self._lock, torch.inference_mode():
                inputs = self.processor(
                    images=[images[i] for i, _ in part],
                    text=[prompt(self.name, lb) for _, lb in part],
                    return_tensors="pt",
                ).to(self.device)
                outputs = self.model(**inputs)
            probs = torch.sigmoid(outputs.logits.float()).cpu().numpy()  # (R, boxes, tokens)
            boxes = _corners(outputs.pred_boxes.float().cpu().numpy())
            ids = inputs["input_ids"].cpu().numpy()
            for r, (i, lb) in enumerate(part):
                own = self._label_tokens(ids[r])
                score = probs[r][:, : len(own)][:, own].max(axis=1)
                im = images[i]
                pixels = boxes[r] * np.array([im.width, im.height, im.width, im.height], float)
                scored[i][lb] = _above(pixels, score, self.floor)
        return scored

    def _label_tokens(self, ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Which positions of a Grounding DINO prompt are the label's own words (not the
        start, end and padding tokens, nor the closing period)."""
        tokenizer = self.processor.tokenizer
        marks = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
        other = {*(m for m in marks if m is not None), tokenizer.convert_tokens_to_ids(".")}
        own = np.array([int(t) not in other for t in ids], dtype=bool)
        if not own.any():
            raise ValueError(f"Grounding DINO prompt {tokenizer.decode(ids)!r} has no label tokens")
        return own

    def _detections(self, image: Image.Image, scored: Scored, labels: list[str]) -> list[Detection]:
        from pytest_ureason.judge.detect.classical import Detection
        from pytest_ureason.judge.detect.color import background_lab, region_color

        rgb = np.asarray(image)
        background = background_lab(rgb)
        w, h = image.size
        found: list[Detection] = []
        for label in labels:
            boxes, scores = scored[label]
            for k in nms(boxes, scores, NMS_IOU):
                x0, y0, x1, y1 = boxes[k]
                box = (
                    int(np.clip(x0, 0, w - 1)),
                    int(np.clip(y0, 0, h - 1)),
                    int(np.clip(x1, 0, w - 1)),
                    int(np.clip(y1, 0, h - 1)),
                )
                if box[2] <= box[0] or box[3] <= box[1]:
                    continue
                reading = region_color(rgb, box, background=background)
                found.append(
                    Detection(
                        label,
                        box,
                        round(float(scores[k]), 4),
                        reading.name,
                        round(reading.delta_e, 2),
                    )
                )
        found.sort(key=lambda d: (d.box[1], d.box[0]))
        return found


def _corners(boxes: NDArray[np.float32]) -> NDArray[np.float64]:
    """(center x, center y, width, height) to (x0, y0, x1, y1), as float64."""
    b = boxes.astype(np.float64)
    half = b[..., 2:] / 2
    return np.concatenate([b[..., :2] - half, b[..., :2] + half], axis=-1)


def _above(
    boxes: NDArray[np.float64], scores: NDArray[np.float32], floor: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    keep = scores >= floor
    return boxes[keep], scores[keep].astype(np.float64)
