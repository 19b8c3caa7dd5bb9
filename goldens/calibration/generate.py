"""Generate the detector calibration goldens: images with ground truth and labelled checks.

    python goldens/calibration/generate.py [--out goldens/calibration] [--seed 0]

Writes ``images/*.png|jpg`` and ``manifest.jsonl`` (one line per image: its file, renderer,
font, perturbation, ground truth, and checks). A check is an assertion of the suite format
plus the verdict a correct judge gives: ``{"assertion": "count", "params": {...},
"expected": true}``. Half of the checks are built to fail on a correct judge (wrong count,
wrong color, opposite relation, other text...), so calibration measures false passes as well
as false fails.

Renderers: ``grid`` (the reference model's own renderer, :func:`render_scene`), ``scatter``
(icons of varied sizes at random places, light backgrounds of several colors) and ``text``
(words in several TrueType fonts, ink colors and sizes, on a sign or on the bare
background). Perturbations: none, Gaussian noise, blur, JPEG, scale (drawn at one size and
resized), and a gradient background. The output is deterministic for a seed.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene
from pytest_ureason.scene.render import draw_icon, render_scene

SIZE = 320
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSans-Bold.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
)
PERTURBATIONS = ("none", "noise", "blur", "jpeg", "scale", "gradient")
WORDS = (
    "OPEN",
    "CLOSED",
    "EXIT",
    "CAFE",
    "HOTEL",
    "SALE",
    "STOP",
    "PARK",
    "BAKERY",
    "MUSEUM",
    "LIBRARY",
    "GARDEN",
    "PHARMACY",
    "STATION",
    "MARKET",
    "SCHOOL",
    "THEATER",
    "BANK",
    "hello",
    "river",
    "window",
    "planet",
    "silver",
    "orange",
    "bridge",
    "forest",
)
RELATIONS = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def _font(name: str, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    for folder in FONT_DIRS:
        path = Path(folder) / name
        if path.exists():
            return ImageFont.truetype(str(path), size), name
    return ImageFont.load_default(size=size), "pillow-default"


def _background(rng: random.Random) -> Image.Image:
    base = rng.choice([(238, 236, 228), (250, 250, 250), (225, 232, 240), (240, 228, 215)])
    return Image.new("RGB", (SIZE, SIZE), base)


def _scatter(rng: random.Random, objects: list[tuple[str, str, int]], image: Image.Image):  # type: ignore[no-untyped-def]
    """Place icons without overlap; returns [(name, color, box)]."""
    draw = ImageDraw.Draw(image)
    placed: list[tuple[str, str, tuple[int, int, int, int]]] = []
    total = sum(n for _, _, n in objects)
    top = max(34, int(SIZE / (total**0.5 + 1.2)))
    for name, color, n in objects:
        obj = vocabulary.lookup_object(name)
        assert obj is not None
        for _ in range(n):
            for _attempt in range(400):
                s = rng.randint(30, top)
                x0, y0 = rng.randint(6, SIZE - s - 6), rng.randint(6, SIZE - s - 6)
                box = (x0, y0, x0 + s - 1, y0 + s - 1)
                if all(
                    box[0] > b[2] + 6 or box[2] < b[0] - 6 or box[1] > b[3] + 6 or box[3] < b[1] - 6
                    for _, _, b in placed
                ):
                    break
            else:
                raise RuntimeError("could not place every icon")
            draw_icon(draw, box, obj.code, vocabulary.color_rgb(color))
            placed.append((name, color, box))
    return placed


def _perturb(image: Image.Image, how: str, rng: random.Random) -> Image.Image:
    if how == "gradient":  # uneven lighting: a brightness ramp across the whole image
        ramp = np.linspace(-18, 18, image.width)[None, :, None]
        if rng.random() < 0.5:
            ramp = ramp.transpose(1, 0, 2)
        arr = np.asarray(image, dtype=np.float64) + ramp
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if how == "noise":
        arr = np.asarray(image, dtype=np.float64)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 8, arr.shape)
        return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))
    if how == "blur":
        return image.filter(ImageFilter.GaussianBlur(1.2))
    if how == "jpeg":
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=35)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if how == "scale":
        side = rng.choice([224, 256, 448])
        return image.resize((side, side), Image.Resampling.BILINEAR)
    return image


def _object_checks(
    rng: random.Random, placed: list[tuple[str, str, tuple[int, int, int, int]]], side: int
) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    colors: dict[str, str] = {}
    centers: dict[str, list[tuple[float, float]]] = {}
    for name, color, (x0, y0, x1, y1) in placed:
        counts[name] = counts.get(name, 0) + 1
        colors[name] = color
        centers.setdefault(name, []).append(((x0 + x1) / 2, (y0 + y1) / 2))
    absent = rng.sample([o.name for o in vocabulary.objects() if o.name not in counts], 2)
    checks: list[dict[str, Any]] = []

    def add(kind: str, params: dict[str, Any], expected: bool) -> None:
        checks.append({"assertion": kind, "params": params, "expected": expected})

    for name, n in counts.items():
        add("count", {"object": name, "op": "==", "value": n}, True)
        add(
            "count",
            {"object": name, "op": "==", "value": n + rng.choice([-1, 1]) if n > 1 else n + 1},
            False,
        )
        add("count", {"object": name, "op": ">=", "value": n + 1}, False)
        add("present", {"object": name}, True)
        add("absent", {"object": name}, False)
        add("color", {"object": name, "color": colors[name]}, True)
        wrong = rng.choice([c for c in vocabulary.COLOR_NAMES if c != colors[name]])
        add("color", {"object": name, "color": wrong}, False)
        add(
            "vqa",
            {"question": f"How many {vocabulary.plural(name, 2)} are there?", "answer": str(n)},
            True,
        )
        add("vqa", {"question": f"What color is the {name}?", "answer": wrong}, False)
    for name in absent:
        add("present", {"object": name}, False)
        add("absent", {"object": name}, True)
        add("count", {"object": name, "op": "==", "value": 0}, True)
        add("vqa", {"question": f"Is there a {name}?", "answer": "no"}, True)
    names = list(counts)
    for a, b in (
        (names[i], names[j]) for i in range(len(names)) for j in range(len(names)) if i < j
    ):
        ax = sum(c[0] for c in centers[a]) / len(centers[a])
        ay = sum(c[1] for c in centers[a]) / len(centers[a])
        bx = sum(c[0] for c in centers[b]) / len(centers[b])
        by = sum(c[1] for c in centers[b]) / len(centers[b])
        dx, dy = bx - ax, by - ay
        if max(abs(dx), abs(dy)) < 0.12 * side:
            continue  # too close to call: no ground truth
        rel = (
            ("left of" if dx > 0 else "right of")
            if abs(dx) >= abs(dy)
            else ("above" if dy > 0 else "below")
        )
        add("relation", {"subject": a, "relation": rel, "object": b}, True)
        add("relation", {"subject": a, "relation": RELATIONS[rel], "object": b}, False)
    main = names[0]
    desc = f"{counts[main]} {colors[main]} {vocabulary.plural(main, counts[main])}"
    other = rng.choice([c for c in vocabulary.COLOR_NAMES if c != colors[main]])
    add("clip", {"text": desc, "distractors": [desc.replace(colors[main], other)]}, True)
    return checks


def _objects_image(rng: random.Random, index: int, how: str) -> tuple[Image.Image, dict[str, Any]]:
    pool = [o for o in vocabulary.objects()]
    k = rng.choice([1, 2, 2, 3])
    chosen = rng.sample(pool, k)
    objects = [
        (o.name, rng.choice(vocabulary.COLOR_NAMES), rng.randint(1, 5 if k > 1 else 7))
        for o in chosen
    ]
    renderer = "grid" if index % 2 == 0 else "scatter"
    if renderer == "grid":
        scene = Scene(groups=[Group(n, c, col) for n, col, c in objects])
        if k >= 2 and rng.random() < 0.6:
            scene.relation = (0, rng.choice(list(RELATIONS)), 1)  # type: ignore[assignment]
        image = render_scene(scene, seed=index, size=SIZE)
        from pytest_ureason.judge.detect.classical import detect

        # The renderer's own layout: read the boxes back from the clean drawing.
        placed = [
            (d.label, dict((n, col) for n, col, _ in objects)[d.label], d.box)
            for d in detect(image)
        ]
        if sorted(p[0] for p in placed) != sorted(n for n, _, c in objects for _ in range(c)):
            raise RuntimeError(f"image {index}: the clean grid drawing does not read back")
    else:
        image = _background(rng)
        placed = _scatter(rng, objects, image)
    side = image.width
    image = _perturb(image, how, rng)
    scale = image.width / side
    truth = {
        "objects": [
            {"name": n, "color": c, "box": [round(v * scale) for v in b]} for n, c, b in placed
        ],
    }
    return image, {
        "renderer": renderer,
        "perturbation": how,
        "truth": truth,
        "checks": _object_checks(rng, placed, side),
    }


def _text_image(rng: random.Random, index: int, how: str) -> tuple[Image.Image, dict[str, Any]]:
    words = rng.sample(WORDS, 2)
    number = str(rng.randint(2, 999))
    text = rng.choice([words[0], f"{words[0]} {number}", number])
    image = _background(rng)
    draw = ImageDraw.Draw(image)
    font_name = FONTS[index % len(FONTS)]
    size = rng.randint(26, 52)
    font, used = _font(font_name, size)
    while draw.textlength(text, font=font) > SIZE - 40 and size > 14:
        size -= 2
        font, used = _font(font_name, size)
    ink = rng.choice([(15, 15, 15), (30, 30, 110), (110, 20, 20), (20, 80, 30)])
    on_sign = rng.random() < 0.5
    cx, cy = SIZE / 2 + rng.uniform(-30, 30), rng.uniform(0.3, 0.75) * SIZE
    if on_sign:
        w = draw.textlength(text, font=font) + 30
        draw.rectangle(
            (cx - w / 2, cy - size * 0.9, cx + w / 2, cy + size * 0.9),
            fill=(252, 252, 248),
            outline=(60, 60, 60),
            width=3,
        )
    draw.text((cx, cy), text, font=font, fill=ink, anchor="mm")
    image = _perturb(image, how, rng)
    other = rng.choice([w for w in WORDS if w.lower() not in text.lower()])
    checks = [
        {"assertion": "text", "params": {"contains": text}, "expected": True},
        {"assertion": "text", "params": {"equals": text}, "expected": True},
        {"assertion": "text", "params": {"contains": other}, "expected": False},
        {
            "assertion": "vqa",
            "params": {"question": "What does the sign say?", "answer": text},
            "expected": True,
        },
        {
            "assertion": "vqa",
            "params": {"question": "What does the sign say?", "answer": other},
            "expected": False,
        },
    ]
    if any(ch.isdigit() for ch in text):
        wrong = str(int(number) + rng.choice([1, 10, 100]))
        checks.append({"assertion": "text", "params": {"contains": wrong}, "expected": False})
    return image, {
        "renderer": "text",
        "font": used,
        "font_size": size,
        "perturbation": how,
        "truth": {"texts": [text]},
        "checks": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objects", type=int, default=120, help="object-scene images")
    parser.add_argument("--texts", type=int, default=60, help="text images")
    args = parser.parse_args()
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    for old in (out / "images").iterdir():
        old.unlink()
    rng = random.Random(args.seed)
    rows = []
    jobs = [("objects", i) for i in range(args.objects)] + [("text", i) for i in range(args.texts)]
    for n, (kind, i) in enumerate(jobs):
        how = PERTURBATIONS[(i // 2 if kind == "objects" else i) % len(PERTURBATIONS)]
        make = _objects_image if kind == "objects" else _text_image
        image, record = make(rng, i, how)
        lossy = how in ("noise", "jpeg")
        name = f"{kind}-{i:03d}.{'jpg' if lossy else 'png'}"
        if lossy:
            image.save(out / "images" / name, quality=35 if how == "jpeg" else 90)
        else:
            image.save(out / "images" / name, optimize=True)
        rows.append({"id": f"{kind}-{i:03d}", "image": f"images/{name}", **record})
        if n % 40 == 0:
            print(f"{n}/{len(jobs)} images", flush=True)
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    checks = sum(len(r["checks"]) for r in rows)
    print(f"wrote {len(rows)} images and {checks} checks to {out}")


if __name__ == "__main__":
    main()
