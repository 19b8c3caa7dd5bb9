"""A fluent API for plain tests: ``expect(image).count("apple") == 3``.

Every check evaluates a registered assertion (the same code that judges suite items) and raises
``AssertionError`` with the verdict's reason when it fails; on success it returns the verdict::

    def test_three_red_apples(generate):
        image = generate("three red apples on a white table")
        expect(image).count("apple") == 3
        expect(image).color("apple", "red")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pytest_ureason.judge import assertions

if TYPE_CHECKING:
    from PIL import Image

    from pytest_ureason.judge.judges import Judges


class ExpectError(ValueError):
    """A fluent check was called with bad arguments (unknown object, color, relation...)."""


class _Count:
    def __init__(self, parent: Expectation, obj: str):
        self._parent, self._object = parent, obj

    def _check(self, op: str, value: int) -> assertions.Verdict:
        return self._parent.check("count", object=self._object, op=op, value=value)

    def __eq__(self, value: object) -> bool:  # type: ignore[override]
        return bool(self._check("==", int(value)))  # type: ignore[call-overload]

    def __ne__(self, value: object) -> bool:  # type: ignore[override]
        found = len(self._parent.observation.objects(self._parent._object_name(self._object)))
        if found == value:
            raise AssertionError(f"expected {self._object} != {value}, found {found}")
        return True

    def __ge__(self, value: int) -> bool:
        return bool(self._check(">=", value))

    def __le__(self, value: int) -> bool:
        return bool(self._check("<=", value))

    def __gt__(self, value: int) -> bool:
        return bool(self._check(">", value))

    def __lt__(self, value: int) -> bool:
        return bool(self._check("<", value))

    __hash__ = None  # type: ignore[assignment]


class Expectation:
    """Checks on one image; detector outputs are shared between checks."""

    def __init__(
        self,
        image: Image.Image,
        *,
        detector: str = "classical",
        ocr: str = "rapidocr",
        judges: Judges | None = None,
    ):
        self.observation = assertions.Observation(image, detector=detector, ocr=ocr, judges=judges)

    @staticmethod
    def _object_name(name: str) -> str:
        try:
            return assertions.ObjectParams(object=name).object
        except ValidationError as exc:
            raise ExpectError(exc.errors(include_url=False)[0]["msg"]) from None

    def check(self, name: str, **params: Any) -> assertions.Verdict:
        """Evaluate the assertion ``name`` with ``params``; raise AssertionError on failure.

        Raises:
            ExpectError: unknown assertion or invalid parameters.
            AssertionError: the image fails the assertion (message: the verdict's reason).
        """
        try:
            kind = assertions.get_assertion(name)
        except KeyError as exc:
            raise ExpectError(str(exc.args[0])) from None
        try:
            parsed = kind.params.model_validate(params)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ExpectError(f"{name}: {where}: {err['msg']}") from None
        verdict = kind.fn(self.observation, parsed)
        if not verdict.passed:
            raise AssertionError(verdict.reason)
        return verdict

    def count(self, obj: str) -> _Count:
        """Compare the number of ``obj`` with ==, !=, >=, <=, > or <."""
        self._object_name(obj)
        return _Count(self, obj)

    def present(self, obj: str) -> assertions.Verdict:
        """At least one ``obj``."""
        return self.check("present", object=obj)

    def absent(self, obj: str) -> assertions.Verdict:
        """No ``obj``."""
        return self.check("absent", object=obj)

    def color(self, obj: str, color: str) -> assertions.Verdict:
        """Every ``obj`` has ``color``."""
        return self.check("color", object=obj, color=color)

    def relation(self, subject: str, relation: str, obj: str) -> assertions.Verdict:
        """``subject`` stands ``relation`` (left of, right of, above, below) ``obj``."""
        return self.check("relation", subject=subject, relation=relation, object=obj)

    def text(
        self, *, contains: str | None = None, equals: str | None = None, tolerance: int = 0
    ) -> assertions.Verdict:
        """OCR finds ``contains`` (or exactly ``equals``), case-insensitively."""
        return self.check("text", contains=contains, equals=equals, tolerance=tolerance)

    def clip(
        self, text: str, *, min_score: float | None = None, distractors: list[str] | None = None
    ) -> assertions.Verdict:
        """CLIP matches ``text`` (absolute ``min_score``, or better than ``distractors``)."""
        return self.check("clip", text=text, min_score=min_score, distractors=distractors or [])

    def vqa(self, question: str, answer: str, match: str = "auto") -> assertions.Verdict:
        """The VQA judge answers ``question`` with ``answer``."""
        return self.check("vqa", question=question, answer=answer, match=match)


def expect(
    image: Image.Image,
    *,
    detector: str = "classical",
    ocr: str = "rapidocr",
    judges: Judges | None = None,
) -> Expectation:
    """Start fluent checks on an image.

    Args:
        image: the image.
        detector: object detector name (when ``judges`` is not given).
        ocr: OCR backend name (when ``judges`` is not given).
        judges: the run's judges (the ``ureason_judges`` fixture): detector, OCR, CLIP, VQA.
    """
    return Expectation(image, detector=detector, ocr=ocr, judges=judges)
