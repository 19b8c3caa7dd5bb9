"""The http adapter as the ``vqa`` judge (``--judge http``), against a real OpenAI-compatible
server on 127.0.0.1 started here, the way one points the plugin at vLLM serving a Qwen-VL judge.

The server reads the image the adapter sends inline (an ``image_url`` part holding a
``data:image/png;base64`` URL), decodes it and answers the question with the reference model's
``answer`` (its detector and OCR), so verdicts through the API are real: a right expectation
passes and a wrong one fails."""

from __future__ import annotations

import base64
import io
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pytest_ureason.models.base import load_model
from pytest_ureason.scene.grammar import parse_scene
from pytest_ureason.scene.render import render_scene
from tests.conftest import write
from tests.json_handler import JsonHandler

KEY = "sk-judge-key-never-in-reports"
SERVED = "Qwen/Qwen2.5-VL-7B-Instruct"  # the name vLLM serves the judge under


class JudgeServer(ThreadingHTTPServer):
    """State of the test server: every chat request body, in order."""

    bodies: list[dict[str, Any]]


class Handler(JsonHandler):
    server: JudgeServer

    def do_POST(self) -> None:
        from pytest_ureason.reference.model import ReferenceModel

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, {"error": {"message": "bad key"}})
        if self.path != "/v1/chat/completions" or body.get("model") != SERVED:
            missing = f"no {self.path} for {body.get('model')}"
            return self._send(404, {"error": {"message": missing}})
        content = body["messages"][0]["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        question = " ".join(p["text"] for p in parts if p["type"] == "text")
        image = None
        for part in parts:
            if part["type"] == "image_url":
                header, _, data = part["image_url"]["url"].partition(",")
                assert header == "data:image/png;base64"
                image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        text = ReferenceModel(None, {}).answer([image], [question], [body.get("seed", 0)])[0]
        return self._send(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[JudgeServer]:
    monkeypatch.setenv("JUDGE_KEY", KEY)
    srv = JudgeServer(("127.0.0.1", 0), Handler)
    srv.bodies = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _args(srv: JudgeServer) -> dict[str, str]:
    host, port = srv.server_address[:2]
    return {
        "base_url": f"http://{host}:{port}/v1",
        "model": SERVED,
        "api_key_env": "JUDGE_KEY",
        "max_tokens": "64",
        "concurrency": "2",
    }


def test_http_judge_sees_the_image(server: JudgeServer) -> None:
    judge = load_model("http", None, _args(server))
    apples = render_scene(parse_scene("3 red apples"), seed=0, size=128)
    cups = render_scene(parse_scene("2 blue cups"), seed=1, size=128)
    questions = ["How many apples are there?", "How many cups?", "What color are the apples?"]
    answers = judge.answer([apples, cups, apples], questions, [0] * 3)
    assert answers[:2] == ["3", "2"] and "red" in answers[2].lower()
    first = server.bodies[0]["messages"][0]["content"]
    assert [p["type"] for p in first] == ["image_url", "text"]
    assert server.bodies[0]["temperature"] == 0 and server.bodies[0]["max_tokens"] == 64


VQA_SUITE = """\
suite: demo/vqa-http
task: counting
instances:
  - id: apples-right
    prompt: Draw 3 red apples.
    refined: A picture of 3 red apples.
    expect:
      - vqa: {question: "How many apples are there?", answer: "3"}
  - id: apples-wrong
    prompt: Draw 3 red apples.
    refined: A picture of 3 red apples.
    expect:
      - vqa: {question: "How many apples are there?", answer: "4"}
"""


def test_pytest_run_with_the_http_judge(server: JudgeServer, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nureason_store = .store\n")
    write(pytester.path / "suites" / "vqa.yaml", VQA_SUITE)
    junit = pytester.path / "out.xml"
    judge = ["--judge", "http", *(f"--judge-arg={k}={v}" for k, v in _args(server).items())]
    result = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", *judge,
        f"--junitxml={junit}", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*ureason judges:*vqa judge http*", "*expected '4', judge answered '3'*"]
    )
    verdicts = [
        json.loads(p.get("value") or "[]")[0]
        for p in ET.parse(junit).getroot().iter("property")
        if p.get("name") == "ureason_verdicts"
    ]
    assert [v["passed"] for v in verdicts] == [True, False]
    assert {v["evidence"]["judge"] for v in verdicts} == {f"http@http-{SERVED}"}
    chats = [b for b in server.bodies if isinstance(b["messages"][0]["content"], list)]
    # Both instances draw the same image: the judge answer is cached, asked once.
    assert len(chats) == 1 and chats[0]["model"] == SERVED
    outputs = "".join(p.read_text() for p in Path(pytester.path / ".store").rglob("*.json"))
    assert KEY not in outputs + junit.read_text() + str(result.outlines)
    # Another concurrency or timeout changes speed, not answers: the cached answers serve.
    faster = [a.replace("concurrency=2", "concurrency=8") for a in judge]
    faster.append("--judge-arg=timeout=5")
    again = pytester.runpytest(
        "suites", "--model", "reference", "--condition", "direct", *faster, "-p", "no:cacheprovider"
    )  # fmt: skip
    again.assert_outcomes(passed=1, failed=1)
    assert len([b for b in server.bodies if isinstance(b["messages"][0]["content"], list)]) == 1
