"""The papers' judge protocols, read from their evaluation scripts (issue 14, section 2).

The scripts here are stand-ins written for these tests, in our own words, with the released
scripts' structure: the same constant names and placeholders, the template used in one
function beside one call that names ``temperature`` and ``max_tokens``. No sentence of the
papers' templates is in the project. The judge is a real OpenAI-compatible server on
127.0.0.1 that records every request and answers by rules the tests set.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pytest_ureason.conditions import extract_refined, extract_ureason
from pytest_ureason.judge.paper_parse import (
    ProtocolError,
    unisandbox_caption,
    unisandbox_score,
    ureason_decision,
)
from pytest_ureason.judge.paper_protocols import judge_args, load
from tests.conftest import write
from tests.json_handler import JsonHandler

SERVED = "judge-under-test"

VISION = '''\
import re
from vllm import LLM, SamplingParams

EVALUATION_TEMPLATE = """
Stand-in check. Does the picture show this?  "{description}"
End with <answer>Yes</answer> or with <answer>No</answer>.
"""


def run_task(llm, rows):
    prompts = [EVALUATION_TEMPLATE.format(description=r["expect_en"]) for r in rows]
    return llm.generate(prompts, sampling_params=SamplingParams(temperature=0.0, max_tokens=512))
'''

TEXT = '''\
from vllm import LLM, SamplingParams

EVALUATION_TEMPLATE = """
Stand-in reasoning check.
REQUEST: {user_prompt}
THINKING: {model_thought}
GOAL: {criteria}
End with <answer>Yes</answer> or with <answer>No</answer>.
"""


def run_task(llm, rows):
    texts = [
        EVALUATION_TEMPLATE.format(
            user_prompt=r["prompt"], model_thought=r["thought"], criteria=r["expect_en"]
        )
        for r in rows
    ]
    params = SamplingParams(temperature=0.0, max_tokens=512)
    return llm.generate(texts, sampling_params=params)
'''


def _two_stage(
    family: str, first: str, second: str, fields: tuple[str, str], tokens: tuple[int, int]
) -> str:
    return f'''\
from openai import OpenAI

{first} = """Stand-in stage one ({family}): name what the picture shows, or say Error."""

{second} = (
    "Stand-in stage two.\\n"
    "Seen: {{{fields[0]}}}\\n"
    "Wanted: {{{fields[1]}}}\\n"
    "Say Score: YES or Score: NO"
)


class Evaluator:
    def stage_one(self, url):
        return self.client.chat.completions.create(
            model=self.model,
            messages=[{{"role": "user", "content": [{{"type": "text", "text": {first}}}]}}],
            max_tokens={tokens[0]},
            temperature=0,
        )

    def stage_two(self, caption, answer):
        prompt = {second}.format({fields[0]}=caption, {fields[1]}=answer)
        return self.client.chat.completions.create(
            model=self.model,
            messages=[{{"role": "user", "content": prompt}}],
            max_tokens={tokens[1]},
            temperature=0,
        )
'''


def unisandbox_scripts(root: Path) -> Path:
    """Stand-ins of UniSandbox's three eval scripts under ``root/eval``."""
    write(
        root / "eval" / "eval_math.py",
        _two_stage(
            "math",
            "CAPTION_PROMPT",
            "EVALUATION_PROMPT_TEMPLATE",
            ("caption", "expected_answer"),
            (10240, 10240),
        ),
    )
    write(
        root / "eval" / "eval_mapping.py",
        _two_stage(
            "mapping",
            "IDENTIFICATION_PROMPT",
            "EVALUATION_PROMPT_TEMPLATE",
            ("identified_object", "expected_answer"),
            (10240, 10240),
        ),
    )
    write(
        root / "eval" / "eval_knowledge.py",
        _two_stage(
            "knowledge", "CAPTION_PROMPT", "EVAL_PROMPT_TEMPLATE", ("caption", "gt"), (2048, 1024)
        ),
    )
    return root


def ureason_scripts(root: Path) -> Path:
    """Stand-ins of UReason's two evaluation scripts under ``root/evaluation``."""
    (root / "evaluation").mkdir(parents=True, exist_ok=True)
    (root / "evaluation" / "qwen_vision_batch.py").write_text(VISION)
    (root / "evaluation" / "qwen_text_batch.py").write_text(TEXT)
    return root


# -- reading the scripts -------------------------------------------------------------------


def test_reads_templates_and_limits(tmp_path: Path) -> None:
    ureason_scripts(tmp_path / "u")
    vision = load(f"ureason={tmp_path / 'u' / 'evaluation' / 'qwen_vision_batch.py'}", "image")
    (stage,) = vision.stages("ureason")
    assert stage.template.fields == ("description",) and stage.image
    assert (stage.limits.max_tokens, stage.limits.temperature) == (512, 0.0)
    assert stage.template.fill(description="two  cats {x}") == (
        '\nStand-in check. Does the picture show this?  "two  cats {x}"\n'
        "End with <answer>Yes</answer> or with <answer>No</answer>.\n"
    )
    assert vision.label.startswith("ureason#") and len(vision.sha) == 12
    text = load(f"ureason={tmp_path / 'u'}", "reasoning")  # the folder: evaluation/ found
    assert text.stages("ureason")[0].template.fields == ("user_prompt", "model_thought", "criteria")
    uni = load(f"unisandbox={unisandbox_scripts(tmp_path / 's')}", "image")
    assert [f for f, _ in uni.families] == ["math", "mapping", "knowledge"]
    know = uni.stages("knowledge")
    assert [s.limits.max_tokens for s in know] == [2048, 1024] and [s.image for s in know] == [
        True,
        False,
    ]
    assert uni.stages("mapping")[1].template.fields == ("identified_object", "expected_answer")
    # the adapter's option names carry the limits; an adapter without them is noted
    args, note = judge_args("http", (("max_tokens", "64"), ("model", "m")), know[0].limits)
    assert dict(args) == {"max_tokens": "2048", "temperature": "0", "model": "m"}
    assert note == "max_tokens=2048 temperature=0"
    assert judge_args("qwen-vl", (), know[1].limits)[0] == (
        ("max_new_tokens", "1024"),
        ("temperature", "0"),
    )
    assert judge_args("reference", (), know[1].limits)[1].startswith("not applied")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.replace("EVALUATION_TEMPLATE = ", "OTHER_TEMPLATE = "),
            "constant EVALUATION_TEMPLATE is missing",
        ),
        (
            lambda s: s.replace("{description}", "{target}"),
            "constant EVALUATION_TEMPLATE has the placeholders {target}, the released "
            "script's are {description}",
        ),
        (
            lambda s: s.replace(
                'EVALUATION_TEMPLATE = """', 'EVALUATION_TEMPLATE = str("""'
            ).replace('"""\n\n\ndef', '""")\n\n\ndef'),
            "constant EVALUATION_TEMPLATE is not a string literal",
        ),
        (
            lambda s: s.replace("max_tokens=512", "max_tokens=LIMIT"),
            "the call that sends EVALUATION_TEMPLATE has no literal max_tokens",
        ),
        (
            lambda s: s.replace(", max_tokens=512", ""),
            "expected one call with max_tokens= and temperature=",
        ),
        (lambda s: s + "\nEVALUATION_TEMPLATE = 'x'\n", "assigned more than once"),
        (lambda s: s.replace("def run_task", "def run_task("), "not Python"),
    ],
)
def test_changed_script_is_an_error_naming_file_and_constant(
    tmp_path: Path, edit: Callable[[str], str], message: str
) -> None:
    script = tmp_path / "qwen_vision_batch.py"
    script.write_text(edit(VISION))
    with pytest.raises(ProtocolError) as info:
        load(f"ureason={script}", "image")
    assert str(script) in str(info.value) and message in str(info.value)


def test_bad_specs(tmp_path: Path) -> None:
    for spec, message in [
        ("ureason", "must be NAME=PATH"),
        ("geneval=/x", "'geneval' is unknown"),
        (f"ureason={tmp_path / 'nowhere'}", "no such file or folder"),
        (f"unisandbox={tmp_path}", "eval_math.py is not there"),
    ]:
        with pytest.raises(ProtocolError, match=message):
            load(spec, "image")
    with pytest.raises(ProtocolError, match="no reasoning judge protocol"):
        load(f"unisandbox={unisandbox_scripts(tmp_path / 's')}", "reasoning")


# -- the papers' parses --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "yes", "method"),
    [
        ("Looks right. <answer>Yes</answer>", True, "tag"),
        ("<answer>No</answer> ... although yes, apples", False, "tag"),
        ("<answer>No</answer> then <answer>Yes</answer>", False, "tag"),  # the first tag
        ("<answer>\nYes</answer>", True, "text"),  # a tag over two lines is no tag
        ("<answer>unsure</answer> but yes", True, "text"),
        ("I cannot tell.", False, "text"),  # "cannot" holds "no": the paper's substring rule
        ("Three apples.", False, "default"),
        ("YES", True, "text"),
    ],
)
def test_ureason_parse(reply: str, yes: bool, method: str) -> None:
    found = ureason_decision(reply)
    assert (found.yes, found.method) == (yes, method)


def test_unisandbox_parse() -> None:
    assert unisandbox_caption("math", "  Caption: 3 apples \n") == "Caption: 3 apples"
    assert unisandbox_caption("math", " error ") is None
    assert unisandbox_caption("math", "") is None
    assert unisandbox_caption("mapping", "Object: red apple\nmore") == "red apple"
    assert unisandbox_caption("mapping", "Object: ERROR") is None
    assert unisandbox_caption("mapping", "a cup") == "a cup"
    assert unisandbox_caption("knowledge", "Fruit: apple\nextra line") == "Fruit: apple"
    assert unisandbox_caption("knowledge", "Reject\n") is None
    assert unisandbox_caption("knowledge", "reject") == "reject"  # only exactly 'Reject'
    assert unisandbox_score("**Score: yes**").yes is True
    assert unisandbox_score("Score: NO, then Score: YES").yes is False  # the first one
    assert unisandbox_score("They match.") == unisandbox_score("")
    assert unisandbox_score("They match.").yes is False


@pytest.mark.parametrize(
    ("thought", "paper"),
    [
        ("Reasoning: 7 - 5 = 2.\nFinal Scene Prompt: Two red apples.", "Two red apples."),
        ("The refined prompt is: **Three cats.**</think>", "Three cats.**"),
        ("Final prompt:\n\nA dog.\n\nA cat on the left.", "A dog.\n\nA cat on the left."),
        ("prompt: a\nprompt: b<image_start>", "b"),
        ("Just two apples.", "Just two apples."),
        ("My prompts: two apples", "My prompts: two apples"),  # "prompts" is no label
    ],
)
def test_ureason_extraction(thought: str, paper: str) -> None:
    assert extract_ureason(thought).prompt == paper


def test_extraction_differs_from_ours_where_documented() -> None:
    # ours keeps the first paragraph after a label and trims markup; the paper keeps it all
    thought = "Final prompt:\n\nA dog.\n\nA cat on the left."
    assert extract_refined(thought).prompt == "A dog."
    assert extract_ureason(thought).prompt == "A dog.\n\nA cat on the left."
    # our tag wins for ours; the paper reads labels only
    tagged = "Final Scene Prompt: a cat. <refined_prompt>two dogs</refined_prompt>"
    assert extract_refined(tagged).prompt == "two dogs"
    assert extract_ureason(tagged).prompt == "a cat. <refined_prompt>two dogs</refined_prompt>"


# -- end to end against a loopback judge ---------------------------------------------------


class RecordingServer(ThreadingHTTPServer):
    bodies: list[dict[str, Any]]
    reply: Callable[[str, bool], str | None]  # None: answer 500
    lock: threading.Lock


class Handler(JsonHandler):
    server: RecordingServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.bodies.append(body)
        content = body["messages"][0]["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        text = "".join(p["text"] for p in parts if p["type"] == "text")
        image = any(p["type"] == "image_url" for p in parts)
        for p in parts:
            if p["type"] == "image_url":
                data = p["image_url"]["url"].partition(",")[2]
                Image.open(io.BytesIO(base64.b64decode(data))).verify()
        answer = self.server.reply(text, image)
        if answer is None:
            return self._send(500, {"error": {"message": "judge down"}})
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": answer}}]})


@pytest.fixture
def judge_server() -> Iterator[RecordingServer]:
    srv = RecordingServer(("127.0.0.1", 0), Handler)
    srv.bodies, srv.lock = [], threading.Lock()
    srv.reply = lambda text, image: "<answer>Yes</answer>"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def http_args(flag: str, srv: RecordingServer, tokens: int = 64) -> list[str]:
    host, port = srv.server_address[:2]
    return [
        f"{flag}=base_url=http://{host}:{port}/v1",
        f"{flag}=model={SERVED}",
        f"{flag}=max_tokens={tokens}",
    ]


def _props(junit: Path) -> list[dict[str, str]]:
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        if "ureason_task" in props:
            out.append(props)
    return out


UREASON_FULL = [
    {
        "id": 1,
        "prompt": "Draw as many red apples as 7 - 5. Reply with 'Reasoning: ...' and "
        "'Final Scene Prompt: ...'.",
        "expect_en": "Exactly 2 red apples  on a {table}.",
        "category": "arithmetic",
    },
    {
        "id": 2,
        "prompt": "Draw as many blue cups as 9 - 6. Reply with 'Reasoning: ...' and "
        "'Final Scene Prompt: ...'.",
        "expect_en": "three blue cups",
        "category": "arithmetic",
    },
]
UREASON_DIRECT = [
    {"id": 1, "prompt": "Draw 2 red apples.", "expect_en": "Exactly 2 red apples  on a {table}."},
    {"id": 2, "prompt": "Draw 3 blue cups.", "expect_en": "three blue cups"},
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def test_ureason_protocol_end_to_end(
    judge_server: RecordingServer, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scripts = ureason_scripts(tmp_path / "UReason")
    data = pytester.path / "data"
    _jsonl(data / "arithmetic.jsonl", UREASON_FULL)
    _jsonl(data / "direct_arithmetic.jsonl", UREASON_DIRECT)

    def reply(text: str, image: bool) -> str:
        if text.startswith("\nStand-in check.") and "blue cups" in text:
            return "I do not know. no answer tag"  # paper: "no" -> No; ours: undecided
        if "Stand-in reasoning check." in text:
            return "The thinking covers it. <answer>Yes</answer>"
        return "Fine.\n<answer>Yes</answer>"

    judge_server.reply = reply
    junit = pytester.path / "out.xml"
    out_json = pytester.path / "out.json"
    result = pytester.runpytest(
        "data", "--model", "reference", "--judge", "http", *http_args("--judge-arg", judge_server),
        "--text-judge", "http", *http_args("--text-judge-arg", judge_server, 100),
        f"--judge-protocol=ureason={scripts / 'evaluation' / 'qwen_vision_batch.py'}",
        f"--text-judge-protocol=ureason={scripts}",
        "--store", str(pytester.path / "store"), f"--junitxml={junit}",
        f"--ureason-json={out_json}", "-p", "no:cacheprovider",
    )  # fmt: skip
    text = result.stdout.str()
    assert "paper protocols beside ours" in text, text
    items = _props(junit)
    assert len(items) == 6  # 2 ids x direct, reasoning, decontext
    vision = load(f"ureason={scripts / 'evaluation' / 'qwen_vision_batch.py'}", "image")
    template = vision.stages("ureason")[0].template
    expects = {str(r["id"]): r["expect_en"] for r in UREASON_FULL}
    wanted = {template.fill(description=e) for e in expects.values()}
    received = [b for b in judge_server.bodies if isinstance(b["messages"][0]["content"], list)]
    paper = [b for b in received if b["messages"][0]["content"][1]["text"].startswith("\nStand-in")]
    # every paper prompt is the template filled with the record, character for character
    assert {b["messages"][0]["content"][1]["text"] for b in paper} == wanted
    assert all(b["max_tokens"] == 512 and b["temperature"] == 0 for b in paper)
    assert all(b["messages"][0]["content"][0]["type"] == "image_url" for b in paper)
    ours = [b for b in received if b not in paper]
    assert ours and all(b["max_tokens"] == 64 for b in ours)  # our protocol keeps its options
    for props in items:
        assert props["ureason_paper_protocol"] == vision.label
        evidence = json.loads(props["ureason_paper_evidence"])
        assert evidence["stages"][0]["template"].startswith("qwen_vision_batch.py:")
        assert evidence["stages"][0]["limits"] == "max_tokens=512 temperature=0"
        if props["ureason_instance"] == "2":
            assert props["ureason_paper_verdict"] == "no"
            assert evidence["parsed_by"] == "text" and evidence["our_parse_of_the_reply"] == (
                "undecided"
            )
        else:
            assert props["ureason_paper_verdict"] == "yes"
        verdicts = json.loads(props["ureason_verdicts"])
        assert verdicts[0]["evidence"]["protocol"].startswith("ours#")
    # the reasoning protocol: record prompt, the model's reasoning, expect_en; text only
    text_stage = load(f"ureason={scripts}", "reasoning").stages("ureason")[0]
    thought_bodies = [
        b["messages"][0]["content"]
        for b in judge_server.bodies
        if isinstance(b["messages"][0]["content"], str)
        and "Stand-in reasoning check." in b["messages"][0]["content"]
    ]
    reasoning_items = [p for p in items if p["ureason_condition"] in ("reasoning", "decontext")]
    assert reasoning_items
    for props in reasoning_items:
        rid = props["ureason_instance"]
        prompt = next(r["prompt"] for r in UREASON_FULL if str(r["id"]) == rid)
        filled = text_stage.template.fill(
            user_prompt=prompt, model_thought=props["ureason_reasoning"], criteria=expects[rid]
        )
        assert filled in thought_bodies
        assert props["ureason_paper_reasoning_verdict"] == "right"
        if props["ureason_condition"] == "decontext":  # the paper's extraction drew it
            assert (
                props["ureason_drawn_prompt"] == extract_ureason(props["ureason_reasoning"]).prompt
            )
    # summary and JSON: the paper's rate beside ours, and where they disagree
    summary = json.loads(out_json.read_text())["seed_formats"]["paper_protocols"]
    image = summary["image"][vision.label]
    assert image["all"]["paper_yes"] == 3 and image["all"]["judged"] == 6
    assert {d["instance"] for d in summary["disagreements"]} == {"2"}
    result.stdout.fnmatch_lines(
        [
            f"*ureason judges:*beside our protocol: image {vision.label} (qwen_vision_batch.py:*",
            "*paper protocols beside ours*",
            f"*image*{vision.label}*direct*ureason-arithmetic*2/2 100.0%*1/2  50.0%*1*0",
            "*disagreements (ours -> paper), 3:*ureason-arithmetic/2: yes -> no*",
        ]
    )
    # ureason report reads the same from the junit file
    report = pytester.run(sys.executable, "-m", "pytest_ureason.cli", "report", str(junit),
                          "--json", str(pytester.path / "report.json"))  # fmt: skip
    assert report.ret == 0, report.stderr.str()
    report.stdout.fnmatch_lines(
        [
            "*paper protocols beside ours*",
            f"*image*{vision.label}*direct*ureason-arithmetic*2/2 100.0%*1/2  50.0%*1*0",
            f"*reasoning*{load(f'ureason={scripts}', 'reasoning').label}*",
            "*disagreements (ours -> paper), 3:*",
        ]
    )
    from_report = json.loads((pytester.path / "report.json").read_text())["paper_protocols"]
    assert from_report == summary


UNI_MATH = [
    {"id": 1, "Question": "Draw 7 - 4 apples.", "Answer": "3 apples"},
    {"id": 2, "Question": "Draw 1 + 1 cups.", "Answer": "2 cups"},
]
UNI_MAPPING = [
    {"ID": 1, "Question_A": "Draw 1 red apple.", "Answer": "apple"},
    {"ID": 1, "Question_B": "Draw 2 yellow bananas.", "Answer": "banana"},
]
UNI_KNOWLEDGE = [{"ID": 5, "Question": "Draw the fruit Newton saw fall.", "Answer": "apple"}]
ANSWERS = {"1": "3 apples", "2": "2 cups", "1-a": "apple", "1-b": "banana", "5": "apple"}


def test_unisandbox_two_stages(
    judge_server: RecordingServer, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scripts = unisandbox_scripts(tmp_path / "UniSandBox")
    data = pytester.path / "data"
    _jsonl(data / "math_1.jsonl", UNI_MATH)
    _jsonl(data / "mapping1.jsonl", UNI_MAPPING)
    _jsonl(data / "Newton.jsonl", UNI_KNOWLEDGE)
    captions = {
        "math": iter(["  Caption: 3 apples  ", "Error"]),
        "mapping": iter(["Object: apple", "Object: pear"]),
        "knowledge": iter(["Reject\nit is a drawing"]),
    }
    lock = threading.Lock()

    def reply(text: str, image: bool) -> str:
        if text.startswith("Stand-in stage one"):
            family = text.split("(")[1].split(")")[0]
            with lock:  # one caption per image, whichever image asks first
                return next(captions[family], "Error")
        if text.startswith("Stand-in stage two"):
            return "Score: YES" if "pear" not in text else "**Score: NO**"
        return "<answer>Yes</answer>"

    judge_server.reply = reply
    junit = pytester.path / "out.xml"
    result = pytester.runpytest(
        "data", "--model", "reference", "--condition", "direct", "--batch-size", "1",
        "--judge", "http", *http_args("--judge-arg", judge_server),
        f"--judge-protocol=unisandbox={scripts}", "--store", str(pytester.path / "store"),
        f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    items = {p["ureason_instance"]: p for p in _props(junit)}
    assert set(items) == {"1", "2", "1-a", "1-b", "5"}, result.stdout.str()
    protocol = load(f"unisandbox={scripts}", "image")
    stage_one = [
        b for b in judge_server.bodies
        if isinstance(b["messages"][0]["content"], list)
        and b["messages"][0]["content"][1]["text"].startswith("Stand-in stage one")
    ]  # fmt: skip
    assert len(stage_one) == 5
    by_tokens = sorted(b["max_tokens"] for b in stage_one)
    assert by_tokens == [2048, 10240, 10240, 10240, 10240]
    stage_two = [
        b["messages"][0]["content"]
        for b in judge_server.bodies
        if isinstance(b["messages"][0]["content"], str)
    ]
    # refusals (Error, Reject) get no stage 2: 3 of the 5 images reach it
    assert len(stage_two) == 3
    verdicts = {k: v["ureason_paper_verdict"] for k, v in items.items()}
    assert sorted(verdicts.values()) == ["no", "no", "no", "yes", "yes"]
    for key, props in items.items():
        evidence = json.loads(props["ureason_paper_evidence"])
        family = evidence["family"]
        stages = protocol.stages(family)
        assert props["ureason_paper_protocol"] == protocol.label
        if len(evidence["stages"]) == 2:  # stage 2 got the template filled exactly
            caption = evidence["stages"][0]["reply"]
            slot, answer_slot = stages[1].template.fields
            parsed = {
                "math": caption.strip(),
                "mapping": caption.strip().removeprefix("Object:").strip(),
            }[family]
            answer = ANSWERS[key]
            assert stages[1].template.fill(**{slot: parsed, answer_slot: answer}) in stage_two
        else:
            assert props["ureason_paper_verdict"] == "no"
            assert evidence["parsed_by"].startswith("stage 1 refused")


def test_usage_errors_name_the_file_and_constant(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scripts = ureason_scripts(tmp_path / "UReason")
    vision = scripts / "evaluation" / "qwen_vision_batch.py"
    vision.write_text(VISION.replace("{description}", "{text}"))
    result = pytester.runpytest(f"--judge-protocol=ureason={vision}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*{vision}:*constant EVALUATION_TEMPLATE has the placeholders {{text}}*"]
    )
    result = pytester.runpytest(
        f"--text-judge-protocol=unisandbox={tmp_path}", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--text-judge-protocol unisandbox: the paper has no reasoning*"])
    result = pytester.runpytest("--refined-extraction=theirs", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--refined-extraction 'theirs' is unknown*"])
    # an ini line's PATH is taken from the rootdir; a protocol named twice is refused
    (pytester.path / "scripts").mkdir()
    ureason_scripts(pytester.path / "scripts")
    pytester.makeini(
        "[pytest]\nureason_judge_protocols =\n    ureason=scripts\n    ureason=scripts\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--judge-protocol names ureason twice*"])


def test_a_failing_paper_judge_is_an_error_verdict_never_a_pass(
    judge_server: RecordingServer, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scripts = ureason_scripts(tmp_path / "UReason")
    _jsonl(pytester.path / "data" / "arithmetic.jsonl", UREASON_FULL[:1])
    judge_server.reply = lambda text, image: (
        None if text.startswith("\nStand-in check.") else "<answer>Yes</answer>"
    )
    junit = pytester.path / "out.xml"
    result = pytester.runpytest(
        "data", "--model", "reference", "--condition", "reasoning",
        "--judge", "http", *http_args("--judge-arg", judge_server), "--judge-arg=retries=0",
        f"--judge-protocol=ureason={scripts}", "--store", str(pytester.path / "store"),
        f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=1)  # our protocol decides the item
    (props,) = _props(junit)
    assert props["ureason_paper_verdict"] == "error"
    evidence = json.loads(props["ureason_paper_evidence"])
    assert "judge failed" in evidence["error"] and "500" in evidence["error"]
    result.stdout.fnmatch_lines(["*image*ureason#*reasoning*0/0   0.0%*1"])


def test_stand_in_judge_notes_the_limits_it_could_not_apply(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scripts = ureason_scripts(tmp_path / "UReason")
    _jsonl(pytester.path / "data" / "arithmetic.jsonl", UREASON_FULL[:1])
    junit = pytester.path / "out.xml"
    pytester.runpytest(
        "data", "--model", "reference", "--condition", "reasoning",
        f"--judge-protocol=ureason={scripts}", "--store", str(pytester.path / "store"),
        f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    (props,) = _props(junit)
    evidence = json.loads(props["ureason_paper_evidence"])
    assert props["ureason_paper_verdict"] in ("yes", "no")
    assert evidence["stages"][0]["limits"].startswith("not applied: the model under test")
    assert "stand-in" in evidence["stages"][0]["judge"]


@pytest.mark.parametrize("choice", ["ours", "ureason"])
def test_refined_extraction_is_selectable(
    pytester: pytest.Pytester, tmp_path: Path, choice: str
) -> None:
    scripts = ureason_scripts(tmp_path / "UReason")
    rows = [dict(UREASON_FULL[0], prompt="Draw 2 red apples. Final prompt:\n\nA dog.\n\nA cat.")]
    _jsonl(pytester.path / "data" / "arithmetic.jsonl", rows)
    junit = pytester.path / "out.xml"
    pytester.runpytest(
        "data", "--model", "reference", "--condition", "decontext",
        f"--judge-protocol=ureason={scripts}", f"--refined-extraction={choice}",
        "--store", str(pytester.path / "store"), f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    (props,) = _props(junit)
    rule = extract_ureason if choice == "ureason" else extract_refined
    reasoning = props["ureason_reasoning"]
    assert extract_refined(reasoning).prompt != extract_ureason(reasoning).prompt  # they differ
    assert props["ureason_drawn_prompt"] == rule(reasoning).prompt
    assert props["ureason_refined_method"] == rule(reasoning).method
