"""The reference model: the embedded default, a program-aided baseline that runs anywhere.

It is honest about what it is: not a neural network, but the smallest system with the three
capabilities of a unified model, built so that a run shows every part of the harness working.

* ``reason`` recognises the task family and solves it symbolically
  (:mod:`pytest_ureason.solvers`; never ``eval``/``exec`` of suite text), writing readable steps
  that end in ``<refined_prompt>...</refined_prompt>``.
* ``generate`` is a *literal keyword mapper*: it parses its whole text context with the scene
  grammar (:mod:`pytest_ureason.scene`: first mention of an object wins) and renders icons
  with PIL (:mod:`pytest_ureason.render`). From a raw prompt it draws what the words say, not
  what they mean; from prompt + reasoning it is led by the prompt's first mentions, the failure
  mode the UReason paper documents; from a refined prompt alone it draws the answer.
* ``answer`` answers simple questions about its own scenes (counts, colors, presence,
  positions, sign text) with the classical detector and OCR, and text questions with the
  solvers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pytest_ureason import vocabulary
from pytest_ureason.fingerprint import source_fingerprint
from pytest_ureason.models.base import ModelLoadError

if TYPE_CHECKING:
    from PIL import Image

#: The modules whose source decides what the reference model writes and draws.
SOURCE_MODULES = (
    "pytest_ureason.models.reference",
    "pytest_ureason.render",
    "pytest_ureason.scene",
    "pytest_ureason.vocabulary",
    "pytest_ureason.solvers",
    "pytest_ureason.safe_python",
)


class ReferenceModel:
    """The program-aided baseline behind ``--model reference``.

    Args:
        model_path: unused (the reference model has no weights); must be None.
        options: ``size`` (image side in pixels, default 384).
    """

    name = "reference"

    def __init__(self, model_path: str | None = None, options: dict[str, str] | None = None):
        if model_path:
            raise ModelLoadError("the reference model has no weights: drop --model-path")
        options = dict(options or {})
        try:
            size = int(options.pop("size", "384"))
        except ValueError as exc:
            raise ModelLoadError(f"reference model option size must be an integer: {exc}") from None
        if not 128 <= size <= 2048:
            raise ModelLoadError(f"reference model option size must be 128..2048, got {size}")
        if options:
            raise ModelLoadError(f"unknown reference model options: {', '.join(sorted(options))}")
        self.size = size
        self.settings: dict[str, Any] = {"size": size}
        # The store key changes whenever the code that reasons or draws changes.
        self.revision = "reference-" + source_fingerprint(*SOURCE_MODULES)

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        """Solve each prompt symbolically and write the reasoning."""
        from pytest_ureason.solvers import solve

        out = []
        for prompt in prompts:
            solution = solve(prompt)
            if solution is None:
                out.append(
                    "I cannot work this task out step by step, so I will draw it as stated.\n"
                    f"<refined_prompt>{' '.join(prompt.split())}</refined_prompt>"
                )
                continue
            steps = "\n".join(f"Step {i}: {s}" for i, s in enumerate(solution.steps, 1))
            out.append(
                f"This is {_article(solution.family)} {solution.family} task.\n{steps}\n"
                f"Answer: {solution.answer}\n"
                f"<refined_prompt>{solution.refined}</refined_prompt>"
            )
        return out

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """Render each prompt (plus its context, if any) literally."""
        from pytest_ureason.render import render_scene
        from pytest_ureason.scene import parse_scene

        contexts = contexts or [None] * len(prompts)
        images = []
        for prompt, seed, context in zip(prompts, seeds, contexts, strict=True):
            text = prompt if context is None else f"{prompt}\n{context}"
            images.append(render_scene(parse_scene(text), seed=seed, size=self.size))
        return images

    def answer(
        self, images: list[Image.Image | None], questions: list[str], seeds: list[int]
    ) -> list[str]:
        """Answer each question about its image, or as a text task when there is none."""
        from pytest_ureason.solvers import solve

        out = []
        for image, question in zip(images, questions, strict=True):
            if image is None:
                solution = solve(question)
                out.append(solution.answer if solution is not None else "I don't know.")
            else:
                out.append(_answer_about(image, question))
        return out


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_REL_RE = re.compile(r"\b(left of|right of|above|below)\b", re.IGNORECASE)


def _answer_about(image: Image.Image, question: str) -> str:
    from pytest_ureason.assertions import Observation, RelationParams, evaluate

    obs = Observation(image)
    q = question.lower()
    names = [vocabulary.canonical_object(m) for m in vocabulary.object_pattern().findall(q)]
    if re.search(r"\b(sign|text|written|say|says|read|reads)\b", q):
        return obs.ocr.text or "There is no text."
    if names and "how many" in q:
        return str(len(obs.objects(names[0])))
    if names and "color" in q:
        found = obs.objects(names[0])
        return found[0].color if found else f"There is no {names[0]}."
    relation = _REL_RE.search(q)
    if relation and len(names) >= 2:
        params = RelationParams(
            subject=names[0],
            relation=relation.group(1).lower(),  # type: ignore[arg-type]
            object=names[1],
        )
        return "yes" if evaluate("relation", params, obs).passed else "no"
    if names and re.match(r"\s*(is|are|does|do)\b", q):
        return "yes" if obs.objects(names[0]) else "no"
    counts: dict[str, int] = {}
    for det in obs.detections:
        counts[det.label] = counts.get(det.label, 0) + 1
    if not counts:
        return "I see no objects."
    parts = [f"{n} {vocabulary.plural(name, n)}" for name, n in counts.items()]
    return "I see " + ", ".join(parts) + "."
