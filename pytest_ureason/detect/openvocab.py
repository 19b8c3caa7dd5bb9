"""Open-vocabulary object detection of real generated images through ``transformers``.

Two families, one class: OWLv2 (``Owlv2ForObjectDetection``) and Grounding DINO
(``GroundingDinoForObjectDetection``). Weights come from a local folder (``--detector-path``,
a ``save_pretrained`` folder with ``config.json``, the processor files and the weights) or from
the user's Hugging Face cache of the default checkpoint; nothing is ever downloaded.

Both backends return boxes and scores (neither transformers class predicts masks), so an
object's color is read from the core of its box (:func:`pytest_ureason.detect.color.region_color`).
OWLv2 predicts one box per image patch, so overlapping boxes of one label are merged by
non-maximum suppression before anything is counted.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pytest_ureason.detect import NMS_IOU, THRESHOLDS, DetectorUnavailable, detector_version

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.detect.scene import Detection

#: The checkpoint looked for in the Hugging Face cache when no path is given.
DEFAULT_CHECKPOINTS = {
    "owlv2": "google/owlv2-base-patch16-ensemble",
    "grounding-dino": "IDEA-Research/grounding-dino-tiny",
}
#: ``config.json``'s ``model_type`` of each family.
MODEL_TYPES = {"owlv2": "owlv2", "grounding-dino": "grounding-dino"}
#: Grounding DINO's reference threshold for a token to name a box.
TEXT_THRESHOLD = 0.25
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


def _weights_fingerprint(folder: Path) -> str:
    """A cheap fingerprint of a weights folder: its config and each file's name and size."""
    h = hashlib.sha256((folder / "config.json").read_bytes())
    for f in sorted(folder.iterdir()):
        if f.is_file():
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:12]


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


def query(name: str, label: str) -> str:
    """The text query for ``label``: OWLv2 was trained on "a photo of a ..." captions."""
    return f"a photo of a {label}" if name == "owlv2" else label


def label_of_phrase(phrase: str, labels: list[str]) -> str | None:
    """The label a Grounding DINO phrase names: the longest label it contains."""
    phrase = f" {' '.join(phrase.lower().replace('.', ' ').split())} "
    hits = [lb for lb in labels if f" {lb.lower()} " in phrase]
    return max(hits, key=len) if hits else None


class OpenVocabularyDetector:
    """OWLv2 or Grounding DINO, loaded once, on ``device``.

    Args:
        name: ``owlv2`` or ``grounding-dino``.
        path: a local weights folder; None looks in the Hugging Face cache.
        device: ``cpu``, ``cuda``, ``cuda:1``...; None picks the worker's GPU when there is one.
        floor: the lowest score kept (default: the family's lowest assertion threshold).
        batch_size: images per forward pass.

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
        self.version = f"{detector_version(name)}-w{_weights_fingerprint(folder)}-f{self.floor:g}"
        self._lock = threading.Lock()

    def detect(self, images: list[Image.Image], labels: list[str]) -> list[list[Detection]]:
        """Detections of ``labels`` in each image, scores at or above the floor, after NMS."""
        out: list[list[Detection]] = [[] for _ in images]
        if not labels:
            return out
        # Batch images of one size together: padding a smaller image changes what Grounding
        # DINO sees, so a verdict would depend on its batch-mates.
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, im in enumerate(images):
            by_size.setdefault(im.size, []).append(i)
        for indices in by_size.values():
            for start in range(0, len(indices), self.batch_size):
                part = indices[start : start + self.batch_size]
                chunk = [images[i].convert("RGB") for i in part]
                with self._lock:
                    raw = self._forward(chunk, labels)
                for i, im, r in zip(part, chunk, raw, strict=True):
                    out[i] = self._detections(im, r, labels)
        return out

    def _forward(self, images: list[Image.Image], labels: list[str]) -> list[dict[str, Any]]:
        import torch

        sizes = [(im.height, im.width) for im in images]
        if self.name == "owlv2":
            texts: Any = [[query(self.name, lb) for lb in labels]] * len(images)
        else:
            texts = [". ".join(labels) + "."] * len(images)
        inputs = self.processor(images=images, text=texts, return_tensors="pt", padding=True)
        inputs = inputs.to(self.device)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        if self.name == "owlv2":
            results: list[dict[str, Any]] = self.processor.post_process_grounded_object_detection(
                outputs, threshold=self.floor, target_sizes=sizes
            )
            for r in results:
                r["names"] = [labels[int(i)] for i in r["labels"]]
        else:
            results = self.processor.post_process_grounded_object_detection(
                outputs,
                inputs["input_ids"],
                threshold=self.floor,
                text_threshold=TEXT_THRESHOLD,
                target_sizes=sizes,
            )
            for r in results:
                r["names"] = [label_of_phrase(str(p), labels) for p in r["text_labels"]]
        return results

    def _detections(
        self, image: Image.Image, result: dict[str, Any], labels: list[str]
    ) -> list[Detection]:
        from pytest_ureason.detect.color import background_lab, region_color
        from pytest_ureason.detect.scene import Detection

        boxes = result["boxes"].detach().float().cpu().numpy().astype(np.float64)
        scores = result["scores"].detach().float().cpu().numpy().astype(np.float64)
        names = result["names"]
        rgb = np.asarray(image)
        background = background_lab(rgb)
        w, h = image.size
        found: list[Detection] = []
        for label in labels:
            idx = [i for i, n in enumerate(names) if n == label]
            if not idx:
                continue
            sel = np.array(idx, dtype=int)
            for k in nms(boxes[sel], scores[sel], NMS_IOU):
                x0, y0, x1, y1 = boxes[sel[k]]
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
                        round(float(scores[sel[k]]), 4),
                        reading.name,
                        round(reading.delta_e, 2),
                    )
                )
        found.sort(key=lambda d: (d.box[1], d.box[0]))
        return found
