"""The classical detector for the rendered-scene domain: connected components, badge
decoding and CIELAB color naming, in numpy and scipy only (~10 ms per 384 px image).

The background is the median color of the image border. Every connected blob that differs from
it is a candidate; a roughly square blob whose centre carries a valid 4x4 badge (see
:mod:`pytest_ureason.scene.render`) is an object of the class the badge encodes. The object's color
is named from its body pixels: the blob without its outline and without the badge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from pytest_ureason.judge.detect.color import name_color
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.render import BADGE_FRACTION, decode_bits

NAME = "classical"
MIN_SIDE = 16


@dataclass(frozen=True)
class Detection:
    """One detected object: class name, box (x0, y0, x1, y1), score, and its named color."""

    label: str
    box: tuple[int, int, int, int]
    score: float
    color: str
    color_delta_e: float

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the box."""
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


def _background(pixels: NDArray[np.int16]) -> NDArray[np.float64]:
    """The background under every pixel: a plane per channel fitted to the image border
    (robustly: the border median when the plane does not explain the border better), so an
    even lighting ramp across the image is not mistaken for objects."""
    h, w, _ = pixels.shape
    ys = np.concatenate([np.zeros(w), np.full(w, h - 1), np.arange(h), np.arange(h)])
    xs = np.concatenate([np.arange(w), np.arange(w), np.zeros(h), np.full(h, w - 1)])
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).astype(float)
    median = np.median(border, axis=0)
    design = np.stack([np.ones_like(xs), xs / w - 0.5, ys / h - 0.5], axis=1)
    # Fit on the border pixels near the median color (objects touching the border are ignored).
    near = np.abs(border - median).sum(axis=1) < 60
    flat = np.broadcast_to(median, (h, w, 3)).astype(np.float64)
    if near.sum() < len(border) / 2:
        return flat
    coef, *_ = np.linalg.lstsq(design[near], border[near], rcond=None)
    if np.abs(coef[1:]).max() < 4:  # no real ramp: keep the exact median (clean renders)
        return flat
    gx = (np.arange(w) / w - 0.5)[None, :, None]
    gy = (np.arange(h) / h - 0.5)[:, None, None]
    plane: NDArray[np.float64] = coef[0] + gx * coef[1] + gy * coef[2]
    return plane


def _read_badge(gray: NDArray[np.float64], box: tuple[int, int, int, int]) -> int | None:
    x0, y0, x1, _ = box
    s = x1 - x0 + 1
    b = round(s * BADGE_FRACTION)
    bx, by = x0 + (s - b) // 2, y0 + (s - b) // 2
    cell = b / 4
    r = max(0, int(cell / 4))
    bits: list[int] = []
    for i in range(16):
        row, col = divmod(i, 4)
        cx, cy = int(bx + (col + 0.5) * cell), int(by + (row + 0.5) * cell)
        patch = gray[cy - r : cy + r + 1, cx - r : cx + r + 1]
        if patch.size == 0:
            return None
        bits.append(1 if float(patch.mean()) < 128 else 0)
    return decode_bits(bits)


def _body_pixels(rgb: NDArray[np.uint8], blob: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """Pixels of a blob (both cropped to its box) without its outline and its badge."""
    s = blob.shape[1]
    inner = ndimage.binary_erosion(blob, iterations=max(2, s // 22) + 2)
    b = round(s * BADGE_FRACTION) + 4
    off_x, off_y = (s - b) // 2, (blob.shape[0] - b) // 2
    inner[off_y : off_y + b, off_x : off_x + b] = False
    pixels = rgb[inner]
    return pixels if len(pixels) else rgb[blob]


def detect(image: Image.Image) -> list[Detection]:
    """Find every badge-marked object in an image.

    Args:
        image: any PIL image (converted to RGB).

    Returns:
        Detections sorted top-to-bottom, left-to-right.
    """
    rgb = np.asarray(image.convert("RGB"))
    pixels = rgb.astype(np.int16)
    diff = np.abs(pixels - _background(pixels)).sum(axis=2)
    mask = ndimage.binary_fill_holes(diff > 40)
    labels, _ = ndimage.label(mask)
    gray = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    found: list[Detection] = []
    for index, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if min(h, w) < MIN_SIDE or not 0.8 <= w / h <= 1.25:
            continue
        box = (sl[1].start, sl[0].start, sl[1].stop - 1, sl[0].stop - 1)
        code = _read_badge(gray, box)
        obj = vocabulary.object_by_code(code) if code is not None else None
        if obj is None:
            continue
        reading = name_color(_body_pixels(rgb[sl], labels[sl] == index))
        found.append(Detection(obj.name, box, 1.0, reading.name, round(reading.delta_e, 2)))
    found.sort(key=lambda d: (d.box[1], d.box[0]))
    return found
