"""Latency per image of the classical detector and the OCR backends on this machine.

Images are the reference renderer's drawings of the shipped suites' gold refined prompts
(384 x 384). Prints median and 90th-percentile milliseconds per image, and how many images
each backend judged correctly (objects: every drawn object found with its color; OCR: every
rendered text found, case-insensitive).

    python benchmarks/detectors.py [--images 60]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections import Counter
from pathlib import Path

from pytest_ureason.collect.loader import load_suite
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Scene, parse_scene
from pytest_ureason.scene.render import render_scene

REPO = Path(__file__).resolve().parent.parent


def scenes(limit: int, with_text: bool) -> list[Scene]:
    out = []
    for path in sorted((REPO / "suites/ureason").glob("*.yaml")):
        for inst in load_suite(path).instances:
            scene = parse_scene(inst.refined or inst.prompt)
            if bool(scene.texts) == with_text:
                out.append(scene)
    return out[:limit]


def timed(fn, items):  # type: ignore[no-untyped-def]
    fn(items[0])  # warm-up (model loading)
    times, results = [], []
    for item in items:
        start = time.perf_counter()
        results.append(fn(item))
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))], results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    args = parser.parse_args()
    from pytest_ureason.judge.detect.classical import detect
    from pytest_ureason.judge.detect.ocr import get_ocr

    obj_scenes = scenes(args.images, with_text=False)
    obj_images = [render_scene(s, seed=i) for i, s in enumerate(obj_scenes)]
    text_scenes = scenes(args.images, with_text=True)
    text_images = [render_scene(s, seed=i) for i, s in enumerate(text_scenes)]
    print(f"{'detector':<12}{'images':>8}{'median ms':>11}{'p90 ms':>9}{'correct':>10}")
    med, p90, found = timed(detect, obj_images)
    ok = 0
    for scene, dets in zip(obj_scenes, found, strict=True):
        want = Counter(
            {
                (g.name, g.color or vocabulary.lookup_object(g.name).default_color): g.count  # type: ignore[union-attr]
                for g in scene.groups
                if g.count
            }
        )
        ok += Counter((d.label, d.color) for d in dets) == want
    print(f"{'classical':<12}{len(obj_images):>8}{med:>11.1f}{p90:>9.1f}{ok:>7}/{len(obj_images)}")
    backends = ["rapidocr"] + (["tesseract"] if shutil.which("tesseract") else [])
    for name in backends:
        med, p90, reads = timed(get_ocr(name).read, text_images)
        ok = sum(
            all(t.lower() in r.text.lower() for t in s.texts)
            for s, r in zip(text_scenes, reads, strict=True)
        )
        print(f"{name:<12}{len(text_images):>8}{med:>11.1f}{p90:>9.1f}{ok:>7}/{len(text_images)}")
    if "tesseract" not in backends:
        print("tesseract: not installed (apt-get install tesseract-ocr)")


if __name__ == "__main__":
    main()
