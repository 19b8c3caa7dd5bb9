"""Color naming in CIELAB: the nearest palette color to an object's own pixels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from pytest_ureason.scene.vocabulary import PALETTE


def rgb_to_lab(rgb: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
    """Convert sRGB (0..255, shape (..., 3)) to CIELAB under D65."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    return lab


@cache
def _palette_lab() -> NDArray[np.float64]:
    return rgb_to_lab(np.array([c.rgb for c in PALETTE]))


@dataclass(frozen=True)
class ColorReading:
    """The name of the nearest palette color and its CIE76 distance (delta E)."""

    name: str
    delta_e: float
    lab: tuple[float, float, float]


def name_color(pixels: NDArray[np.integer]) -> ColorReading:
    """Name the color of a set of RGB pixels (shape (n, 3)) by their median in CIELAB."""
    if pixels.size == 0:
        raise ValueError("no pixels to name a color from")
    lab = np.median(rgb_to_lab(pixels.reshape(-1, 3)), axis=0)
    dist = np.linalg.norm(_palette_lab() - lab, axis=1)
    best = int(np.argmin(dist))
    return ColorReading(
        PALETTE[best].name, float(dist[best]), (float(lab[0]), float(lab[1]), float(lab[2]))
    )


#: Fraction of a box's width and height kept around its centre when no mask is given.
CORE_FRACTION = 0.5


def background_lab(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """The image's background color in CIELAB: the median of its border pixels."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    lab: NDArray[np.float64] = np.median(rgb_to_lab(border), axis=0)
    return lab


def region_color(
    rgb: NDArray[np.uint8],
    box: tuple[int, int, int, int],
    mask: NDArray[np.bool_] | None = None,
    background: NDArray[np.float64] | None = None,
) -> ColorReading:
    """Name the color of an object from its own pixels.

    With a mask (full-image booleans), the masked pixels inside the box. Without one, the core
    of the box (the central :data:`CORE_FRACTION` of each side), minus the pixels that match
    the image's background (the median of its border, within delta E 12) when at least a
    quarter of the core remains, so a thin object on a plain background is not named after it.
    ``background`` (from :func:`background_lab`) saves recomputing it for every box.
    """
    x0, y0, x1, y1 = box
    if mask is not None:
        pixels = rgb[y0 : y1 + 1, x0 : x1 + 1][mask[y0 : y1 + 1, x0 : x1 + 1]]
        if len(pixels):
            return name_color(pixels)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    mx, my = int(w * (1 - CORE_FRACTION) / 2), int(h * (1 - CORE_FRACTION) / 2)
    core = rgb[y0 + my : y1 + 1 - my, x0 + mx : x1 + 1 - mx].reshape(-1, 3)
    if not len(core):
        core = rgb[y0 : y1 + 1, x0 : x1 + 1].reshape(-1, 3)
    if background is None:
        background = background_lab(rgb)
    distance = np.linalg.norm(rgb_to_lab(core) - background, axis=1)
    kept = core[distance > 12]
    return name_color(kept if len(kept) >= len(core) / 4 else core)
