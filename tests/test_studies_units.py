"""Unit tests of the studies (issue 5): answer normaliser, reflection parsing, the 2D IRT fit
(parameter recovery on simulated data), generators, the mapping solver, the GenEval importer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ureason.collect.formats.geneval import expectations
from pytest_ureason.collect.generators import expand
from pytest_ureason.collect.loader import load_suite
from pytest_ureason.reference.model import ReferenceModel
from pytest_ureason.reference.solvers import solve
from pytest_ureason.results import irt
from pytest_ureason.run.interleaved import parse_reflection, reflection_question
from pytest_ureason.run.understand import normalise, score_answer
from pytest_ureason.scene.grammar import parse_scene
from pytest_ureason.scene.render import render_scene


@pytest.mark.parametrize(
    ("reply", "expected", "ok"),
    [
        ("Six.", "6", True),
        ("I would draw 6 apples", "6", True),
        ("6 or 7", "6", False),
        ("16", "6", False),
        ("Grey", "gray", True),
        ("the pink houses", "pink house", True),
        ("Mushroom, duck, lemon.", "mushroom, duck, lemon", True),
        ("duck, mushroom, lemon", "mushroom, duck, lemon", False),
        ("twenty-one", "21", True),
        ("", "6", False),
    ],
)
def test_score_answer(reply: str, expected: str, ok: bool) -> None:
    assert score_answer(reply, expected).passed is ok


def test_accept_list_and_normal_form() -> None:
    assert normalise("A Dozen Eggs!") == "12 egg"
    assert score_answer("television", "monitor", ("tv",)).passed
    assert not score_answer("radio", "monitor", ("tv",)).passed


def test_parse_reflection() -> None:
    text = "Verdict: no\nViolations:\n- expected 6 apples, found 3\n- unexpected dog\n"
    text += "Corrected prompt: A picture of 6 apples."
    parsed = parse_reflection(text)
    assert parsed.verdict == "no" and not parsed.satisfied
    assert parsed.violations == ("expected 6 apples, found 3", "unexpected dog")
    assert parsed.corrected == "A picture of 6 apples."
    ok = parse_reflection("Verdict: yes\nViolations:\n- none\nCorrected prompt: same")
    assert ok.satisfied and ok.violations == ()
    assert not parse_reflection("Verdict: no").satisfied
    assert parse_reflection("garbage").corrected == ""
    assert not parse_reflection("::::::").readable and parsed.readable


def test_reference_reflects_on_its_draft() -> None:
    model = ReferenceModel(options={"size": "192"})
    prompt = "Draw as many red apples as the value of (7 + 5) × 3 − 30."
    wrong, right = model.generate([prompt, "A picture of 6 red apples."], [0, 0])
    replies = model.answer([wrong, right], [reflection_question(prompt)] * 2, [0, 0])
    bad, good = parse_reflection(replies[0]), parse_reflection(replies[1])
    assert not bad.satisfied and any("6 apples" in v for v in bad.violations)
    assert parse_scene(bad.corrected).group("apple").count == 6  # type: ignore[union-attr]
    assert good.satisfied


def test_irt_recovers_abilities_and_covers_gaps() -> None:
    rows, true = irt.simulate(20, 40, seed=3)
    fit = irt.fit(rows)
    order = [int(m[1:]) for m in fit.models]
    for dim in (0, 1):
        r = np.corrcoef(fit.theta[:, dim], true[order, dim])[0, 1]
        assert r > 0.85, (dim, r)
    covered = total = 0
    for seed in range(6):
        rows, true = irt.simulate(3, 60, seed=seed, gaps=np.array([-1.5, 0.0, 1.5]))
        fit = irt.fit(rows)
        for score, (u, g) in zip(fit.scores, true[[int(m[1:]) for m in fit.models]], strict=True):
            covered += score.gap_ci[0] <= u - g <= score.gap_ci[1]
            total += 1
    assert covered / total >= 0.8
    signs = [s.gap for s in fit.scores]
    assert signs[0] < signs[2]  # m0 has the negative true gap, m2 the positive one


def test_irt_hessian_matches_numeric_gradient_differences() -> None:
    rows, _ = irt.simulate(2, 6, seed=1)
    fit = irt.fit(rows)
    objective = irt._Objective(
        np.array([fit.models.index(r.model) for r in rows]),
        np.array([fit.items.index(r.item) for r in rows]),
        fit.dims,
        np.array([r.correct for r in rows], float),
        np.array([r.total for r in rows], float),
        len(fit.models),
        len(fit.items),
    )
    x = np.concatenate([fit.theta.ravel(), np.log(fit.a), fit.b])
    numeric = np.array(
        [(objective(x + e)[1] - objective(x - e)[1]) / 2e-5 for e in np.eye(len(x)) * 1e-5]
    )
    assert np.allclose(irt._hessian(objective, x), numeric, atol=1e-4)


def test_irt_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no responses"):
        irt.fit([])
    with pytest.raises(ValueError, match="both dimensions"):
        irt.fit([irt.Response("m", "i", 0, 1, 1), irt.Response("m", "i", 1, 1, 1)])


@pytest.mark.parametrize("kind", ["math", "mapping"])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_unisandbox_generators(kind: str, level: int) -> None:
    rows = expand(f"unisandbox-{kind}-{level}", 12, 4)
    assert rows == expand(f"unisandbox-{kind}-{level}", 12, 4)
    assert {r["prompt"] for r in rows}.isdisjoint(
        r["prompt"] for r in expand(f"unisandbox-{kind}-{level}", 12, 5)
    )
    for r in rows:
        assert r["task"] == f"{kind}-d{level}" and f"difficulty-{level}" in r["tags"]
        solution = solve(r["prompt"])  # the reference model's solver gets the target
        assert solution is not None and parse_scene(solution.refined) == parse_scene(r["refined"])
        literal = parse_scene(r["prompt"])  # reading the words literally misses a count
        counts = [e["count"] for e in r["expect"] if "count" in e]
        assert any(
            (g := literal.group(c["object"])) is None or g.count != c["value"] for c in counts
        ) or any("absent" in e and literal.group(e["absent"]["object"]) for e in r["expect"])


def test_mapping_solver_chain_and_refusals() -> None:
    s = solve("Let ● stand for ◆. Let ◆ mean book and ■ mean cup. Draw three ● and two ■.")
    assert s is not None and s.family == "mapping"
    scene = parse_scene(s.refined)
    assert scene.group("book").count == 3 and scene.group("cup").count == 2  # type: ignore[union-attr]
    assert solve("Let ◆ stand for ★. Let ★ stand for ◆. Draw two ◆.") is None  # a cycle


@pytest.mark.parametrize("category", ["instruction", "numerical", "knowledge", "reasoning"])
def test_gapeval_items_are_answerable_both_ways(category: str) -> None:
    rows = expand(f"gapeval-{category}", 6, 2)
    model = ReferenceModel()
    images = [
        render_scene(parse_scene(r["question_scene"])) if "question_scene" in r else None
        for r in rows
    ]
    replies = model.answer(images, [r["question"] for r in rows], [0] * len(rows))
    for row, reply in zip(rows, replies, strict=True):
        # the question restates the prompt, or shows the scene the prompt asks to draw
        shown = row.get("question_scene")
        assert row["prompt"] in row["question"] or parse_scene(shown) == parse_scene(row["prompt"])
        assert row["task"] == f"gapeval-{category}" and f"category-{category}" in row["tags"]
        assert score_answer(reply, row["answer"]).passed, (row["question"], reply)


def test_bidirectional_schema_errors(tmp_path: Path) -> None:
    path = tmp_path / "bi.yaml"
    path.write_text(
        "task: t\ninstances:\n"
        "  - id: a\n    prompt: Draw a cup.\n    question: How many cups?\n"
        "    expect:\n      - present: {object: cup}\n"
    )
    suite = load_suite(path)
    assert not suite.instances
    assert "needs both 'question' and 'answer' (answer missing)" in str(suite.errors[0])


def test_geneval_mapping_table() -> None:
    row = {
        "tag": "position",
        "prompt": "a photo of two red dogs right of a chair",
        "include": [
            {"class": "chair", "count": 1},
            {"class": "dog", "count": 2, "color": "red", "position": ["right of", 0]},
        ],
        "exclude": [{"class": "dog", "count": 3}, {"class": "cat"}],
    }
    assert expectations(row) == [
        {"present": {"object": "chair"}},
        {"count": {"object": "dog", "op": ">=", "value": 2}},
        {"color": {"object": "dog", "color": "red"}},
        {"relation": {"subject": "dog", "relation": "right of", "object": "chair"}},
        {"count": {"object": "dog", "op": "<", "value": 3}},
        {"absent": {"object": "cat"}},
    ]


def test_geneval_file_errors_name_line_and_field(tmp_path: Path) -> None:
    good = {"tag": "single_object", "prompt": "a photo of a cup", "include": [{"class": "cup"}]}
    lines = [
        good,
        {"tag": "x", "prompt": "p", "include": [{"class": "unicorn"}]},
        {"tag": "x", "prompt": "p", "include": [{"class": "cup", "position": ["near", 0]}]},
        {"tag": "x", "prompt": "p", "include": [{"class": "cup", "count": "two"}]},
        {"tag": "bad/tag", "prompt": "p", "include": [{"class": "cup"}]},
    ]
    path = tmp_path / "evaluation_metadata.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    suite = load_suite(path)
    assert [(i.id, i.task) for i in suite.instances] == [("geneval-00001", "geneval-single_object")]
    errors = [str(e) for e in suite.errors]
    assert f"{path}:2: GenEval line: field include[0].class: unknown object 'unicorn'" in errors
    assert any(e.startswith(f"{path}:3:") and "include[0].position" in e for e in errors)
    assert any(e.startswith(f"{path}:4:") and "include[0].count" in e for e in errors)
    assert any(e.startswith(f"{path}:5:") and "field tag" in e for e in errors)
    assert any(e.startswith(f"{path}:6:") and "invalid JSON" in e for e in errors)


def test_question_image_must_be_a_file_inside_the_suite_folder(tmp_path: Path) -> None:
    suite_dir = tmp_path / "suites"
    (suite_dir / "img").mkdir(parents=True)
    render_scene(parse_scene("3 cups")).save(suite_dir / "img" / "cups.png")
    (tmp_path / "secret.png").write_bytes(b"x")
    entry = (
        "  - id: {id}\n    prompt: Draw 3 cups.\n    question: How many cups?\n"
        "    answer: '3'\n    question_image: {path}\n"
        "    expect:\n      - count: {{object: cup, op: '==', value: 3}}\n"
    )
    body = "task: t\ninstances:\n" + "".join(
        entry.format(id=i, path=p)
        for i, p in (("ok", "img/cups.png"), ("up", "../secret.png"), ("gone", "img/none.png"))
    )
    path = suite_dir / "bi.yaml"
    path.write_text(body)
    suite = load_suite(path)
    assert [i.id for i in suite.instances] == ["ok"]
    assert suite.instances[0].question_image == str((suite_dir / "img" / "cups.png").resolve())
    errors = [str(e) for e in suite.errors]
    assert any("'up': field question_image: must be a path inside" in e for e in errors)
    assert any("'gone': field question_image: no such file 'img/none.png'" in e for e in errors)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_normalise_is_idempotent_and_reflection_parsing_never_raises(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    parsed = parse_reflection(text)
    assert isinstance(parsed.corrected, str) and len(parsed.violations) <= 20


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 99))
def test_numbers_in_words_and_digits_score_the_same(n: int) -> None:
    from pytest_ureason.reference.solvers.text import int_to_words

    assert score_answer(int_to_words(n), str(n)).passed
    assert not score_answer(str(n + 1), str(n)).passed


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("outcome", "banana", "outcome 'banana' is not one of"),
        ("seed", 1.7, "seed 1.7 is not an integer"),
        ("model", None, None),
    ],
)
def test_gap_records_are_validated(
    tmp_path: Path, field: str, value: object, message: str | None
) -> None:
    from pytest_ureason.results.gapscore import load_records

    record = {"model": "m", "condition": "direct", "task": "t", "instance": "i", "seed": 0,
              "outcome": "passed"}  # fmt: skip
    record[field] = value
    if value is None:
        del record[field]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"items": [record]}))
    with pytest.raises(ValueError, match=r"run\.json: items\[0\]: bad record") as info:
        load_records([path])
    if message:
        assert message in str(info.value)
