"""Render a :class:`~pytest_ureason.scene.grammar.Scene` as an image with PIL.

Each object is an *icon*: a filled silhouette in the object's color with a dark outline and,
in its centre, a 4x4 black-and-white badge that encodes the object's vocabulary code (corner
cells fixed for validation, 8 code bits, 4 check bits). Icons never overlap, so the classical
detector in :mod:`pytest_ureason.judge.detect.classical` reads every object back exactly. Text goes
on
light sign boards at the bottom of the image in a sans-serif font that OCR reads reliably.
"""

from __future__ import annotations

import math
import random
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene

BACKGROUND = (238, 236, 228)
BADGE_FRACTION = 0.44
CORNERS = {0: 1, 3: 0, 12: 0, 15: 1}
DATA_CELLS = tuple(i for i in range(16) if i not in CORNERS)


def checksum(code: int) -> int:
    """4 check bits of an 8-bit code: any single flipped code bit changes them."""
    return ((code & 0xF) ^ (code >> 4) ^ 0b1010) & 0xF


def badge_bits(code: int) -> list[int]:
    """The 16 badge cells (row-major, 1 = black) that encode an object code."""
    if not 0 <= code < 256:
        raise ValueError(f"object code out of range: {code}")
    payload = (code << 4) | checksum(code)
    bits = [0] * 16
    for cell, value in CORNERS.items():
        bits[cell] = value
    for k, cell in enumerate(DATA_CELLS):
        bits[cell] = (payload >> (11 - k)) & 1
    return bits


def decode_bits(bits: list[int]) -> int | None:
    """Inverse of :func:`badge_bits`; None when the corners or the checksum do not match."""
    if len(bits) != 16 or any(bits[c] != v for c, v in CORNERS.items()):
        return None
    payload = 0
    for cell in DATA_CELLS:
        payload = (payload << 1) | bits[cell]
    code, check = payload >> 4, payload & 0xF
    return code if checksum(code) == check else None


def _outline(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    if sum(rgb) > 600:  # white: a mid-gray outline keeps it apart from the background
        return (120, 120, 120)
    return (int(rgb[0] * 0.5), int(rgb[1] * 0.5), int(rgb[2] * 0.5))


def draw_icon(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], code: int, rgb: tuple[int, int, int]
) -> None:
    """Draw one object icon filling the square ``box`` (x0, y0, x1, y1 inclusive)."""
    x0, y0, x1, y1 = box
    s = x1 - x0 + 1
    width = max(2, s // 22)
    fill, line = rgb, _outline(rgb)
    shape = code % 4
    if shape == 0:
        draw.ellipse(box, fill=fill, outline=line, width=width)
    elif shape == 1:
        draw.rounded_rectangle(box, radius=s // 5, fill=fill, outline=line, width=width)
    else:
        cut = s * (0.25 if shape == 2 else 0.29)
        if shape == 2:  # hexagon touching all four sides
            pts = [
                (x0 + cut, y0),
                (x1 - cut, y0),
                (x1, (y0 + y1) / 2),
                (x1 - cut, y1),
                (x0 + cut, y1),
                (x0, (y0 + y1) / 2),
            ]
        else:  # octagon
            pts = [
                (x0 + cut, y0),
                (x1 - cut, y0),
                (x1, y0 + cut),
                (x1, y1 - cut),
                (x1 - cut, y1),
                (x0 + cut, y1),
                (x0, y1 - cut),
                (x0, y0 + cut),
            ]
        draw.polygon(pts, fill=fill, outline=line, width=width)
    b = round(s * BADGE_FRACTION)
    bx, by = x0 + (s - b) // 2, y0 + (s - b) // 2
    for i, bit in enumerate(badge_bits(code)):
        r, c = divmod(i, 4)
        cx0, cy0 = bx + c * b // 4, by + r * b // 4
        cx1, cy1 = bx + (c + 1) * b // 4 - 1, by + (r + 1) * b // 4 - 1
        draw.rectangle((cx0, cy0, cx1, cy1), fill=(20, 20, 20) if bit else (255, 255, 255))


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The sans-serif font that Pillow embeds (no system font needed)."""
    return ImageFont.load_default(size=size)


def _grid(
    n: int, region: tuple[float, float, float, float]
) -> tuple[list[tuple[float, float]], float]:
    x0, y0, x1, y1 = region
    w, h = x1 - x0, y1 - y0
    if n == 0:
        return [], 0.0
    cols = max(1, min(n, math.ceil(math.sqrt(n * w / h))))
    rows = math.ceil(n / cols)
    while cols > 1 and math.ceil(n / (cols - 1)) == rows:
        cols -= 1
    cell = min(w / cols, h / rows)
    ox = x0 + (w - cell * cols) / 2
    oy = y0 + (h - cell * rows) / 2
    centers = [(ox + (i % cols + 0.5) * cell, oy + (i // cols + 0.5) * cell) for i in range(n)]
    return centers, cell


def _line(
    n: int, region: tuple[float, float, float, float], row: bool
) -> tuple[list[tuple[float, float]], float]:
    x0, y0, x1, y1 = region
    span = (x1 - x0) if row else (y1 - y0)
    cross = (y1 - y0) if row else (x1 - x0)
    cell = min(span / max(n, 1), cross)
    start = (span - cell * n) / 2
    if row:
        return [(x0 + start + (i + 0.5) * cell, (y0 + y1) / 2) for i in range(n)], cell
    return [((x0 + x1) / 2, y0 + start + (i + 0.5) * cell) for i in range(n)], cell


def _placements(
    scene: Scene, region: tuple[float, float, float, float]
) -> list[tuple[Group, float, float, float]]:
    """(group, cx, cy, cell) for every object to draw."""
    out: list[tuple[Group, float, float, float]] = []
    if scene.order is not None:
        items = [g for g in scene.groups for _ in range(g.count)]
        centers, cell = _line(len(items), region, scene.order == "row")
        return [(g, cx, cy, cell) for g, (cx, cy) in zip(items, centers, strict=True)]
    x0, y0, x1, y1 = region
    if scene.relation is not None:
        a, rel, b = scene.relation
        midx, midy = (x0 + x1) / 2, (y0 + y1) / 2
        halves = {
            "left of": ((x0, y0, midx, y1), (midx, y0, x1, y1)),
            "right of": ((midx, y0, x1, y1), (x0, y0, midx, y1)),
            "above": ((x0, y0, x1, midy), (x0, midy, x1, y1)),
            "below": ((x0, midy, x1, y1), (x0, y0, x1, midy)),
        }[rel]
        second = [scene.groups[b]] + [g for i, g in enumerate(scene.groups) if i not in (a, b)]
        parts = [([scene.groups[a]], halves[0]), (second, halves[1])]
    else:
        parts = [(scene.groups, region)]
    for groups, sub in parts:
        items = [g for g in groups for _ in range(g.count)]
        centers, cell = _grid(len(items), sub)
        out.extend((g, cx, cy, cell) for g, (cx, cy) in zip(items, centers, strict=True))
    return out


def _draw_sign(draw: ImageDraw.ImageDraw, text: str, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(252, 252, 248), outline=(60, 60, 60), width=3)
    size = y1 - y0 - 22
    while size > 12 and draw.textlength(text, font=font(size)) > (x1 - x0) - 24:
        size -= 2
    draw.text(((x0 + x1) / 2, (y0 + y1) / 2), text, font=font(size), fill=(15, 15, 15), anchor="mm")


def render_scene(scene: Scene, seed: int = 0, size: int = 384) -> Image.Image:
    """Draw a scene.

    Args:
        scene: what to draw.
        seed: varies the small jitter of icon positions and sizes.
        size: width and height in pixels.

    Returns:
        An RGB image.
    """
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = size * 0.04
    sign_h = size * 0.2
    bottom = size - margin - len(scene.texts) * (sign_h + margin * 0.5)
    for k, text in enumerate(scene.texts):
        top = int(bottom + margin * 0.5 + k * (sign_h + margin * 0.5))
        _draw_sign(draw, text, (int(margin), top, int(size - margin), int(top + sign_h)))
    region = (margin, margin, size - margin, bottom)
    for group, cx, cy, cell in _placements(scene, region):
        obj = vocabulary.lookup_object(group.name)
        assert obj is not None, group.name
        rgb = vocabulary.color_rgb(group.color or obj.default_color)
        s = int(min(cell * rng.uniform(0.68, 0.78), size * 0.3))
        slack = max(0.0, (cell - s) / 2 - 3)
        jx, jy = rng.uniform(-slack, slack) * 0.6, rng.uniform(-slack, slack) * 0.6
        x0, y0 = int(cx - s / 2 + jx), int(cy - s / 2 + jy)
        draw_icon(draw, (x0, y0, x0 + s - 1, y0 + s - 1), obj.code, rgb)
    return image
