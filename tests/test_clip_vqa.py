"""``clip`` (open_clip, a tiny random model built from a config file) and ``vqa`` (the
reference adapter's ``answer``, and a test adapter registered like a third party's)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from pytest_ureason.judge.assertions import Observation, evaluate, get_assertion
from pytest_ureason.judge.detect import DetectorUnavailable
from pytest_ureason.judge.judges import JudgeConfig, Judges
from pytest_ureason.judge.model_assertions import ClipParams, VqaParams, answer_matches
from pytest_ureason.models.base import register_model
from pytest_ureason.reference.model import ReferenceModel
from pytest_ureason.run.store import Store, StoredEvidence
from pytest_ureason.scene.grammar import parse_scene
from pytest_ureason.scene.render import render_scene
from tests.conftest import VQA_SUITE, write


@pytest.fixture(scope="module")
def clip_judges(tmp_path_factory: pytest.TempPathFactory) -> Judges:
    pytest.importorskip("open_clip")
    from pytest_ureason.judge.detect.tiny import save_clip_config

    config = save_clip_config(tmp_path_factory.mktemp("clip"))
    return Judges(JudgeConfig("classical", clip_model=str(config), clip_weights="random"))


IMAGE = render_scene(parse_scene("3 red apples"), seed=0, size=128)


def test_clip_scores_and_both_forms(clip_judges: Judges) -> None:
    obs = Observation(IMAGE, judges=clip_judges)
    texts = ["three red apples", "a blue car", "two dogs"]
    scores = obs.clip_scores(texts)
    assert set(scores) == set(texts) and all(-1.0 <= s <= 1.0 for s in scores.values())
    assert len(set(scores.values())) == 3  # different texts, different embeddings
    ranked = evaluate("clip", ClipParams(text=texts[0], distractors=texts[1:]), obs)
    assert ranked.passed == (scores[texts[0]] > max(scores[texts[1]], scores[texts[2]]))
    assert ranked.detector == "clip:ureason-tiny-clip (random weights)"
    assert set(ranked.evidence["distractors"]) == set(texts[1:])
    low = evaluate("clip", ClipParams(text=texts[0], min_score=-1.0), obs)
    high = evaluate("clip", ClipParams(text=texts[0], min_score=1.0), obs)
    assert low.passed and not high.passed
    assert "got" in high.reason and high.evidence["min_score"] == 1.0


def test_clip_batches_images(clip_judges: Judges) -> None:
    scorer = clip_judges.clip()
    other = render_scene(parse_scene("a blue cup"), seed=1, size=128)
    both = scorer.score([IMAGE, other], ["apples", "a cup"])
    assert both.shape == (2, 2)
    alone = scorer.score([other], ["apples", "a cup"])
    assert abs(both[1] - alone[0]).max() < 1e-4


def test_clip_params_and_missing_weights() -> None:
    with pytest.raises(ValidationError, match="either 'min_score'"):
        ClipParams(text="x", min_score=0.2, distractors=["y"])
    with pytest.raises(ValidationError):
        ClipParams(text="")
    obs = Observation(IMAGE, judges=Judges(JudgeConfig("classical")))
    with pytest.raises(DetectorUnavailable, match="--clip-weights"):
        evaluate("clip", ClipParams(text="apples"), obs)
    judges = Judges(JudgeConfig("classical", clip_weights="/nonexistent/clip.pt"))
    with pytest.raises(DetectorUnavailable, match="no such checkpoint file"):
        judges.clip()


def test_clip_identity_follows_the_weights_content(tmp_path: Path) -> None:
    """The CLIP identity (verdict evidence, cached-score keys) names the checkpoint and the
    model config by content, not by file name or size."""
    import shutil

    from pytest_ureason.judge.detect.clip import clip_identity
    from pytest_ureason.judge.detect.tiny import save_clip_config

    config = save_clip_config(tmp_path / "cfg")
    ckpt = tmp_path / "clip.pt"
    ckpt.write_bytes(b"\x01" * 1000)
    first = clip_identity(str(config), str(ckpt)).version
    assert first.startswith("clip-ureason-tiny-clip-c") and "-sha-" in first
    # The same checkpoint copied under another name and folder: the same identity.
    copy = tmp_path / "elsewhere" / "renamed.pt"
    copy.parent.mkdir()
    shutil.copy(ckpt, copy)
    assert clip_identity(str(config), str(copy)).version == first
    # Replaced in place with the same name and size: a new identity.
    ckpt.write_bytes(b"\x02" * 1000)
    assert clip_identity(str(config), str(ckpt)).version != first
    # A model config edited in place (same file name, so the same architecture name): new too.
    again = clip_identity(str(config), str(ckpt)).version
    config.write_text(config.read_text().replace('"embed_dim": 32', '"embed_dim": 16'))
    assert clip_identity(str(config), str(ckpt)).version != again
    assert clip_identity("ViT-B-16", "random").version == "clip-ViT-B-16-random"
    with pytest.raises(DetectorUnavailable, match="no such model config file"):
        clip_identity(str(tmp_path / "none.json"), "random")


def test_clip_verdict_carries_the_loaded_checkpoint_identity(tmp_path: Path) -> None:
    """A real open_clip checkpoint loaded from a file: verdicts and cached scores use its
    content identity."""
    open_clip = pytest.importorskip("open_clip")
    import torch

    from pytest_ureason.judge.detect.clip import clip_identity
    from pytest_ureason.judge.detect.tiny import save_clip_config

    config = save_clip_config(tmp_path / "cfg")
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model(config.stem, pretrained=None)
    ckpt = tmp_path / "tiny-clip.pt"
    torch.save(model.state_dict(), ckpt)
    judges = Judges(JudgeConfig("classical", clip_model=str(config), clip_weights=str(ckpt)))
    store = Store(tmp_path / "store")
    obs = Observation(IMAGE, judges=judges, cache=StoredEvidence(store, "img"))
    verdict = evaluate("clip", ClipParams(text="apples", min_score=-1.0), obs)
    version = clip_identity(str(config), str(ckpt)).version
    assert verdict.evidence["model"] == judges.clip().version == version
    assert verdict.detector == "clip:ureason-tiny-clip"
    saved = [p.name for p in store.root.rglob("*.json")]
    assert saved and all(version in name for name in saved)


@pytest.mark.parametrize(
    ("expected", "answer", "match", "ok"),
    [
        ("3", "There are 3 apples.", "auto", True),
        ("3", "three", "auto", True),
        ("3", "I count 4 apples, not 3", "auto", False),  # the first number is the answer
        ("yes", "Yes, there is.", "auto", True),
        ("no", "Yes. No doubt.", "auto", False),
        ("red", "The apple is red.", "auto", True),
        ("hot dog", "a dog, hot", "auto", False),
        ("OPEN 24", "open 24", "exact", True),
        ("OPEN", "open 24", "exact", False),
    ],
)
def test_answer_matching(expected: str, answer: str, match: str, ok: bool) -> None:
    assert answer_matches(expected, answer, match) is ok


def test_vqa_with_the_reference_judge() -> None:
    judges = Judges(JudgeConfig("classical", judge="reference"))
    obs = Observation(IMAGE, judges=judges)
    good = evaluate("vqa", VqaParams(question="How many apples are there?", answer="3"), obs)
    assert good.passed and good.evidence["answer"] == "3"
    assert good.detector.startswith("vqa:reference@reference-")
    bad = evaluate("vqa", VqaParams(question="What color is the apple?", answer="blue"), obs)
    assert not bad.passed and "judge answered 'red'" in bad.reason


class CountingJudge(ReferenceModel):
    """A third-party judge: answers like the reference model, and counts its calls."""

    name = "counting-judge"
    calls: ClassVar[list[str]] = []
    batches: ClassVar[list[int]] = []
    loads: ClassVar[list[str]] = []

    def __init__(self, path: str | None, options: dict[str, str]) -> None:
        super().__init__(None, {})
        CountingJudge.loads.append(options.get("rev", "1"))
        self.revision = f"rev-{options.get('rev', '1')}"

    def answer(self, images: list[Any], questions: list[str], seeds: list[int]) -> list[str]:
        CountingJudge.calls.extend(questions)
        CountingJudge.batches.append(len(questions))
        return super().answer(images, questions, seeds)


register_model("counting-judge")(CountingJudge)


def test_vqa_answers_are_cached_per_judge_revision(tmp_path: Path) -> None:
    CountingJudge.calls.clear()
    store = Store(tmp_path)
    q = VqaParams(question="Is there an apple?", answer="yes")
    for rev in ("1", "1", "2"):
        judges = Judges(
            JudgeConfig("classical", judge="counting-judge", judge_args=(("rev", rev),))
        )
        obs = Observation(IMAGE, judges=judges, cache=StoredEvidence(store, "img"))
        verdict = evaluate("vqa", q, obs)
        assert verdict.passed and verdict.evidence["judge"] == f"counting-judge@rev-{rev}"
    assert len(CountingJudge.calls) == 2  # rev 1 once (then cached), rev 2 once
    assert get_assertion("vqa").params is VqaParams


def test_plugin_vqa_needs_a_judge(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(pytester.path / "suites" / "vqa.yaml", VQA_SUITE)
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", "-rs", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*vqa assertions need a judge model: pass --judge NAME*"])
    junit = pytester.path / "out.xml"
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", "--judge", "reference",
        f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ureason judges: detector classical*vqa judge reference*"])
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    verdict = json.loads(props["ureason_verdicts"])[0]
    assert verdict["evidence"]["judge"].startswith("reference@reference-")
    result = pytester.runpytest("suites", "--model", "reference", "--judge", "nope")
    result.stderr.fnmatch_lines(["*--judge: unknown model 'nope'*"])


def test_fluent_vqa_and_clip_use_the_runs_judges(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    pytester.makepyfile(
        """
        import pytest
        from pytest_ureason import expect

        def test_apples(generate, ureason_judges):
            image = generate("3 red apples")
            expect(image, judges=ureason_judges).vqa("How many apples are there?", "3")
            with pytest.raises(AssertionError, match="judge answered 'red'"):
                expect(image, judges=ureason_judges).vqa("What color is the apple?", "blue")

        def test_clip_needs_weights(generate, ureason_judges):
            from pytest_ureason.judge.detect import DetectorUnavailable
            with pytest.raises(DetectorUnavailable, match="--clip-weights"):
                expect(generate("3 red apples"), judges=ureason_judges).clip("apples")
        """
    )
    result = pytester.runpytest(
        "--model", "reference", "--judge", "reference", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)


def test_plugin_vqa_questions_go_to_the_judge_in_batches(pytester: pytest.Pytester) -> None:
    """A group's vqa questions reach ``--judge`` in one ``answer`` call per batch, are cached
    under the key the items read, and a rerun asks nothing."""
    lines = ["suite: demo/vqa-batch", "task: counting", "instances:"]
    for n in range(1, 7):
        lines += [
            f"  - id: apples-{n}",
            f"    prompt: Draw {n} red apples.",
            f"    refined: A picture of {n} red apples.",
            "    expect:",
            f'      - vqa: {{question: "How many apples are there?", answer: "{n}"}}',
            '      - vqa: {question: "What color are the apples?", answer: "red"}',
        ]
    write(pytester.path / "suites" / "vqa.yaml", "\n".join(lines) + "\n")
    pytester.makeini("[pytest]\nureason_store = .store\n")
    args = ["suites", "--model", "reference", "--condition", "direct", "--judge",
            "counting-judge", "--batch-size", "8", "-p", "no:cacheprovider"]  # fmt: skip
    CountingJudge.batches.clear()
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=6)
    # 6 instances in groups of up to 8: one group, 12 questions, 8 + 4 per answer() call.
    assert CountingJudge.batches == [8, 4]
    result.stdout.fnmatch_lines(["vqa judge: 12 questions answered in 2 batched answer() calls*"])
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=6)
    assert CountingJudge.batches == [8, 4]  # all from the store
    assert "vqa judge:" not in result.stdout.str()


def test_plugin_loads_the_judge_once_for_suites_with_their_own_detector(
    pytester: pytest.Pytester,
) -> None:
    """Under --detector auto a suite that requires its detector gets judges of its own
    configuration; the --judge model (a 7B on a GPU) is still loaded once, not once per
    configuration, and --text-judge naming the same model and weights reuses it too."""
    write(pytester.path / "suites" / "a.yaml", VQA_SUITE)
    own = VQA_SUITE.replace("task: counting", "task: counting-classical\ndetector: classical")
    write(pytester.path / "suites" / "b.yaml", own)
    pytester.makeini("[pytest]\nureason_store = .store\n")
    CountingJudge.loads.clear()
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", "--detector", "auto",
        "--judge", "counting-judge", "--judge-arg", "rev=shared-load", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert CountingJudge.loads == ["shared-load"]
    config = JudgeConfig("auto", judge="counting-judge", text_judge="counting-judge")
    both = Judges(config)
    text = both.text_judge()
    assert text is not None and text.model is both.vqa()
    assert Judges(JudgeConfig("classical", judge="counting-judge")).vqa() is both.vqa()
