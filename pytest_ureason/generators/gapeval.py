"""Generators of bidirectional (GAPEVAL-style) instances: one piece of knowledge asked both ways.

Each instance is drawn (its ``prompt`` and ``expect`` come from a task family's generator) and
answered in text: its ``question`` restates the prompt, asks for the fact the drawing depends
on, and says not to draw; ``answer`` is that fact, read off the instance's own assertions.

Categories (generator name -> task, family used for the knowledge):

* ``gapeval-instruction`` -> ``gapeval-instruction``: following an arrangement or a text
  instruction (``spatial`` and ``text`` alternately): *list the objects in order* / *what
  should the sign read*;
* ``gapeval-numerical`` -> ``gapeval-numerical``: a count from numbers in the prompt
  (``arithmetic``): *how many X*;
* ``gapeval-knowledge`` -> ``gapeval-knowledge``: a color or an object chosen from world
  knowledge (``attribute``): *which object, in what color*;
* ``gapeval-reasoning`` -> ``gapeval-reasoning``: a count, color and object computed by a
  short program (``code``): *how many X*.

The answer is leak-proof wherever the family's prompt is (it never appears in the prompt).
"""

from __future__ import annotations

from typing import Any

from pytest_ureason import vocabulary
from pytest_ureason.generators import expand, generator

CATEGORIES: dict[str, tuple[str, ...]] = {
    "instruction": ("spatial", "text"),
    "numerical": ("arithmetic",),
    "knowledge": ("attribute",),
    "reasoning": ("code",),
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


def _register(category: str) -> None:
    @generator(f"gapeval-{category}")
    def make(count: int, seed: int) -> list[dict[str, Any]]:
        return bidirectional(category, count, seed)

    make.__doc__ = f"Bidirectional instances of the {category!r} category."


for _category in CATEGORIES:
    _register(_category)
