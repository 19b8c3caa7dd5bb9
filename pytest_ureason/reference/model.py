"""The reference model: the embedded default, a program-aided baseline that runs anywhere.

It is honest about what it is: not a neural network, but the smallest system with the three
capabilities of a unified model, built so that a run shows every part of the harness working.

* ``reason`` recognises the task family and solves it symbolically
  (:mod:`pytest_ureason.reference.solvers`; never ``eval``/``exec`` of suite text), writing
  readable steps
  that end in ``<refined_prompt>...</refined_prompt>``.
* ``generate`` is a *literal keyword mapper*: it parses its whole text context with the scene
  grammar (:mod:`pytest_ureason.scene.grammar`: first mention of an object wins) and renders icons
  with PIL (:mod:`pytest_ureason.scene.render`). From a raw prompt it draws what the words say, not
  what they mean; from prompt + reasoning it is led by the prompt's first mentions, the failure
  mode the UReason paper documents; from a refined prompt alone it draws the answer.
* ``answer`` answers simple questions about its own scenes (counts, colors, presence,
  positions, sign text) with the classical detector and OCR. A text question (no image) is
  solved like a prompt, and the asked attribute (after ``Question:``: how many, which color,
  which object, which order, what text) is read off the solved scene. A reflection request
  (:data:`pytest_ureason.run.interleaved.REFLECT_TEMPLATE`) is answered by solving the prompt,
  comparing the target scene with what the detector finds in the image, and listing each
  difference as a violation, with the solved scene as the corrected prompt. A yes/no judge
  evaluation prompt (:mod:`pytest_ureason.judge.yesno`) is answered by
  :mod:`pytest_ureason.reference.judge`.

A prompt that asks for UReason's output format (``Reasoning: ...`` then ``Final Scene
Prompt: ...``) gets its reasoning in that format instead of the ``<refined_prompt>`` tag.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pytest_ureason.judge.assertions import Observation, RelationParams, evaluate
from pytest_ureason.models.base import ModelLoadError
from pytest_ureason.models.fingerprint import source_fingerprint
from pytest_ureason.reference.judge import is_judge_prompt, judge_reply
from pytest_ureason.reference.solvers import Solution, solve
from pytest_ureason.scene import vocabulary
from pytest_ureason.scene.grammar import describe, parse_scene

if TYPE_CHECKING:
    from PIL import Image


#: The modules whose source decides what the reference model writes and draws.
SOURCE_MODULES = (
    "pytest_ureason.reference.model",
    "pytest_ureason.reference.judge",
    "pytest_ureason.scene.render",
    "pytest_ureason.scene.grammar",
    "pytest_ureason.scene.vocabulary",
    "pytest_ureason.reference.solvers",
    "pytest_ureason.reference.safe_python",
)


class ReferenceModel:
    """The program-aided baseline behind ``--model reference``.

    Args:
        model_path: unused (the reference model has no weights); must be None.
        options: ``size`` (image side in pixels, default 384).
    """

    name = "reference"
    #: Its images are the reference renderer's badge-marked icons, the only images the
    #: classical detector reads: ``--detector auto`` may fall back to it for this adapter (and
    #: adapters built on it); for any other it refuses (see :func:`pytest_ureason.plugin.
    #: check_detector_fallback`).
    renders_reference_scenes = True

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
        out = []
        for prompt in prompts:
            solution = solve(prompt)
            if solution is None and _UREASON_FORMAT_RE.search(prompt):
                out.append(
                    "Reasoning: I cannot work this task out step by step, so I will draw it as "
                    f"stated.\n\nFinal Scene Prompt: {' '.join(prompt.split())}"
                )
                continue
            if solution is None:
                out.append(
                    "I cannot work this task out step by step, so I will draw it as stated.\n"
                    f"<refined_prompt>{' '.join(prompt.split())}</refined_prompt>"
                )
                continue
            steps = "\n".join(f"Step {i}: {s}" for i, s in enumerate(solution.steps, 1))
            if _UREASON_FORMAT_RE.search(prompt):
                out.append(
                    f"Reasoning: this is {_article(solution.family)} {solution.family} task.\n"
                    f"{steps}\nAnswer: {solution.answer}\n\n"
                    f"Final Scene Prompt: {solution.refined}"
                )
                continue
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
        from pytest_ureason.scene.render import render_scene

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
        out = []
        for image, question in zip(images, questions, strict=True):
            if is_judge_prompt(question):
                out.append(judge_reply(image, question))
            elif image is None:
                solution = solve(question)
                out.append(_answer_from_solution(solution, question))
            elif _REFLECT_RE.search(question):
                out.append(_reflect(image, question))
            else:
                out.append(_answer_about(image, question))
        return out


_UREASON_FORMAT_RE = re.compile(r"final\s+scene\s+prompt", re.IGNORECASE)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_REL_RE = re.compile(r"\b(left of|right of|above|below)\b", re.IGNORECASE)


def _answer_about(image: Image.Image, question: str) -> str:
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


_REFLECT_RE = re.compile(
    r"^-----\n(?P<prompt>[\s\S]*?)\n-----$(?=[\s\S]*corrected prompt)", re.I | re.M
)
_ASK_RE = re.compile(r"question\s*:", re.IGNORECASE)


def _answer_from_solution(solution: Solution | None, question: str) -> str:
    """Answer a text question from the scene its solution describes."""
    if solution is None:
        return "I don't know."
    scene = parse_scene(solution.refined)
    asks = list(_ASK_RE.finditer(question))
    ask = question[asks[-1].end() :] if asks else question
    q = ask.lower()
    named = [vocabulary.canonical_object(m) for m in vocabulary.object_pattern().findall(q)]
    group = next((g for g in scene.groups if g.name in named), None)
    if group is None and scene.groups:
        group = scene.groups[0]
    if re.search(r"\b(sign|text|written|say|says|read|reads|word)\b", q):
        return scene.texts[0] if scene.texts else "There is no text."
    if group is None:
        return solution.answer
    color = group.color or vocabulary.lookup_object(group.name).default_color  # type: ignore[union-attr]
    if "how many" in q:
        return str(group.count)
    if re.search(r"\b(order|left to right|top to bottom|arrangement)\b", q):
        return ", ".join(g.name for g in scene.groups)
    if "color" in q and re.search(r"\b(which|what) (object|thing|one)\b", q):
        return f"{color} {group.name}"
    if "color" in q:
        return color
    if re.search(r"\b(which|what) (object|thing|one|animal|item)\b", q):
        return group.name
    return solution.answer


def _reflect(image: Image.Image, question: str) -> str:
    """Compare an image with the scene its prompt asks for; reply in the reflection format."""
    found = _REFLECT_RE.search(question)
    prompt = found.group("prompt").strip() if found else question
    solution = solve(prompt)
    target = parse_scene(solution.refined if solution is not None else prompt)
    obs = Observation(image)
    violations: list[str] = []
    for g in target.groups:
        seen = obs.objects(g.name)
        if len(seen) != g.count:
            violations.append(
                f"expected {g.count} {vocabulary.plural(g.name, g.count)}, found {len(seen)}"
            )
        wrong = sorted({d.color for d in seen if g.color and d.color != g.color})
        if wrong:
            violations.append(f"the {g.name} should be {g.color}, not {', '.join(wrong)}")
    wanted = {g.name for g in target.groups}
    for name in sorted({d.label for d in obs.detections} - wanted):
        violations.append(f"unexpected {name} in the image")
    if target.relation is not None:
        a, rel, b = target.relation
        subject, other = target.groups[a].name, target.groups[b].name
        params = RelationParams(subject=subject, relation=rel, object=other)
        if not evaluate("relation", params, obs).passed:
            violations.append(f"the {subject} should be {rel} the {other}")
    if target.order is not None:
        rel = "left of" if target.order == "row" else "above"
        for first, second in zip(target.groups, target.groups[1:], strict=False):
            params = RelationParams(subject=first.name, relation=rel, object=second.name)
            if not evaluate("relation", params, obs).passed:
                violations.append(f"the {first.name} should be {rel} the {second.name}")
    read = obs.ocr.text.upper() if target.texts else ""
    for text in target.texts:
        if text.upper() not in read:
            violations.append(f'the sign should read "{text}"')
    corrected = solution.refined if solution is not None else describe(target)
    lines = [f"Verdict: {'no' if violations else 'yes'}", "Violations:"]
    lines += [f"- {v}" for v in violations] or ["- none"]
    lines.append(f"Corrected prompt: {corrected}")
    return "\n".join(lines)
