"""Generators of bidirectional (GAPEVAL-style) instances: one piece of knowledge asked both ways.

Each instance is drawn (its ``prompt`` and ``expect`` come from a task family's generator) and
answered in text: its ``question`` restates the prompt, asks for the fact the drawing depends
on, and says not to draw; ``answer`` is that fact, read off the instance's own assertions.

Categories (generator name -> task, family used for the knowledge):

* ``gapeval-instruction`` -> ``gapeval-instruction``: following an arrangement or a text
  instruction (``spatial`` and ``text`` alternately): *list the objects in order* / *what
  should the sign read*;
* ``gapeval-numerical`` -> ``gapeval-numerical``: numerical perception, counting. The
  understanding side shows an image (``question_scene``, rendered) and asks *how many X are in
  the image*; the generation side asks to draw exactly those counts;
* ``gapeval-knowledge`` -> ``gapeval-knowledge``: a color or an object chosen from world
  knowledge (``attribute``): *which object, in what color*;
* ``gapeval-reasoning`` -> ``gapeval-reasoning``: a count computed from an expression, a word
  problem or a short program (``arithmetic`` and ``code`` alternately): *how many X*.

Outside the numerical category the answer is leak-proof wherever the family's prompt is (it
never appears in the prompt).
"""

from __future__ import annotations

import random
from typing import Any

from pytest_ureason.collect.generators import draw_fresh, expand, generator
from pytest_ureason.collect.generators.arithmetic import COUNTABLE
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import Group, Scene, describe, number_word

PAINTS = ("red", "blue", "green", "yellow", "purple", "orange")

CATEGORIES: dict[str, tuple[str, ...]] = {
    "instruction": ("spatial", "text"),
    "numerical": (),
    "knowledge": ("attribute",),
    "reasoning": ("arithmetic", "code"),
}
ASK_SUFFIX = "Do not draw anything; answer in words."


def _params(expect: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e[kind] for e in expect if kind in e]


def ask_about(expect: list[dict[str, Any]], category: str) -> tuple[str, str] | None:
    """The understanding question's ask and its answer for an instance's assertions."""
    counts = _params(expect, "count")
    colors = _params(expect, "color")
    texts = _params(expect, "text")
    relations = _params(expect, "relation")
    present = _params(expect, "present")
    if texts:
        shown = texts[0].get("contains") or texts[0]["equals"]
        return "What exactly should the sign read?", str(shown)
    if relations:
        rel = relations[0]["relation"]
        order = [relations[0]["subject"], *(r["object"] for r in relations)]
        direction = "from left to right" if rel == "left of" else "from top to bottom"
        return f"List the objects of the final arrangement in order, {direction}.", ", ".join(order)
    if category == "knowledge" and present and colors:
        obj = colors[0]["object"]
        return "Which object should be drawn, and in what color?", f"{colors[0]['color']} {obj}"
    if category == "knowledge" and colors:
        noun = vocabulary.plural(colors[0]["object"], 2)
        return f"What color should the {noun} be?", str(colors[0]["color"])
    if category == "knowledge" and present:
        return "Which object should be drawn?", str(present[0]["object"])
    if counts:
        obj = counts[0]["object"]
        noun = vocabulary.plural(obj, 2)
        return f"How many {noun} should the picture show? Answer with a number.", str(
            counts[0]["value"]
        )
    if present and colors:
        return "Which object should be drawn, and in what color?", (
            f"{colors[0]['color']} {present[0]['object']}"
        )
    return None


def bidirectional(category: str, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` bidirectional instances of a category, deterministically from ``seed``."""
    if category == "numerical":
        return perception(count, seed)
    families = CATEGORIES[category]
    out: list[dict[str, Any]] = []
    per_family = -(-count // len(families))
    pools = [expand(f, per_family, seed * 7919 + 5 + i) for i, f in enumerate(families)]
    for index in range(count):
        raw = pools[index % len(families)][index // len(families)]
        asked = ask_about(raw["expect"], category)
        if asked is None:  # every family's instances carry an askable assertion
            raise ValueError(f"gapeval-{category}: nothing to ask about {raw['id']!r}")
        ask, answer = asked
        item = {
            "id": f"gap-{raw['id']}",
            "task": f"gapeval-{category}",
            "prompt": raw["prompt"],
            "expect": raw["expect"],
            "question": f"{raw['prompt']}\n{ASK_SUFFIX} Question: {ask}",
            "answer": answer,
            "tags": [*raw.get("tags", []), f"category-{category}", "bidirectional"],
        }
        if raw.get("refined"):
            item["refined"] = raw["refined"]
        out.append(item)
    return out


def perception(count: int, seed: int) -> list[dict[str, Any]]:
    """Counting items: perceive the counts in a rendered image, or draw them."""
    rng = random.Random(f"gapeval-numerical-{seed}")
    seen: set[str] = set()
    out = []
    for index in range(count):

        def draw() -> Scene:
            objects = rng.sample(COUNTABLE, rng.choice((1, 2)))
            counts = rng.sample(range(2, 10), len(objects))
            colors = [rng.choice((None, *PAINTS)) for _ in objects]
            return Scene([Group(o, n, c) for o, n, c in zip(objects, counts, colors, strict=True)])

        scene = draw_fresh(
            draw, lambda sc: describe(sc) not in seen, tries=1000, what="gapeval-numerical"
        )
        seen.add(describe(scene))
        first = scene.groups[0]
        parts = [
            f"{number_word(g.count)} {g.color + ' ' if g.color else ''}"
            f"{vocabulary.plural(g.name, g.count)}"
            for g in scene.groups
        ]
        noun = vocabulary.plural(first.name, 2)
        expect: list[dict[str, Any]] = [
            {"count": {"object": g.name, "op": "==", "value": g.count}} for g in scene.groups
        ]
        expect += [{"color": {"object": g.name, "color": g.color}} for g in scene.groups if g.color]
        out.append(
            {
                "id": f"gap-count-s{seed}-{index:04d}",
                "task": "gapeval-numerical",
                "prompt": f"Draw exactly {' and '.join(parts)}.",
                "refined": describe(scene),
                "expect": expect,
                "question": f"How many {noun} are in the image? Answer with a number.",
                "question_scene": describe(scene),
                "answer": str(first.count),
                "tags": ["category-numerical", "bidirectional", "perception"],
            }
        )
    return out


def _register(category: str) -> None:
    @generator(f"gapeval-{category}")
    def make(count: int, seed: int) -> list[dict[str, Any]]:
        return bidirectional(category, count, seed)

    make.__doc__ = f"Bidirectional instances of the {category!r} category."


for _category in CATEGORIES:
    _register(_category)
