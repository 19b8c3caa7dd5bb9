"""The http adapter against a real OpenAI-compatible server on 127.0.0.1 (started here).

The server reasons and draws with the reference model, so an end-to-end pytest run through the
API produces real verdicts. It checks the bearer key, can fail on purpose (500s, slowness) and
records every request, so retries and timeouts are observed, not assumed.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_ureason.models.base import ModelLoadError, Unsupported, load_model
from pytest_ureason.models.http import HttpModelError

KEY = "sk-test-5ecret-never-in-reports"


class FakeUMMServer(ThreadingHTTPServer):
    """State of the test server."""

    hits: list[str]
    fail_first: int  # answer this many requests with HTTP 500 first
    delay: float
    with_images: bool


class Handler(BaseHTTPRequestHandler):
    server: FakeUMMServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        import time

        from pytest_ureason.models.reference import ReferenceModel

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.hits.append(self.path)
        if self.server.delay:
            time.sleep(self.server.delay)
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, {"error": {"message": "bad key"}})
        if self.server.fail_first > 0:
            self.server.fail_first -= 1
            return self._send(500, {"error": {"message": "try again"}})
        model = ReferenceModel(None, {"size": "128"})
        if self.path == "/v1/chat/completions":
            content = body["messages"][0]["content"]
            if isinstance(content, list):
                images = sum(1 for p in content if p["type"] == "image_url")
                text = f"I see {images} image(s)."
            else:
                text = model.reason([content.split("\n\nBefore drawing")[0]], [body["seed"]])[0]
            return self._send(200, {"choices": [{"message": {"content": text}}]})
        if self.path == "/v1/images/generations" and self.server.with_images:
            width = int(body["size"].split("x")[0])
            image = ReferenceModel(None, {"size": str(width)}).generate(
                [body["prompt"]], [body["seed"]]
            )[0]
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            return self._send(
                200, {"data": [{"b64_json": base64.b64encode(buf.getvalue()).decode()}]}
            )
        return self._send(404, {"error": {"message": "no such endpoint"}})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUMMServer]:
    monkeypatch.setenv("UMM_KEY", KEY)
    srv = FakeUMMServer(("127.0.0.1", 0), Handler)
    srv.hits, srv.fail_first, srv.delay, srv.with_images = [], 0, 0.0, True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _args(srv: FakeUMMServer, **extra: str) -> dict[str, str]:
    host, port = srv.server_address[:2]
    return {
        "base_url": f"http://{host}:{port}/v1",
        "model": "ref-umm",
        "api_key_env": "UMM_KEY",
        "backoff": "0.01",
        "size": "128x128",
        **extra,
    }


def test_reason_generate_answer_over_http(server: FakeUMMServer) -> None:
    model = load_model("http", None, _args(server))
    texts = model.reason(["Draw as many red apples as the value of 2 + 3."], [0])
    assert "<refined_prompt>" in texts[0] and "5" in texts[0]
    images = model.generate(["Draw 2 blue cups.", "Draw 1 cat."], [0, 1], [None, "context"])
    assert [im.size for im in images] == [(128, 128), (128, 128)]
    assert model.answer([images[0], None], ["How many cups?", "2 + 2?"], [0, 0])[0] == (
        "I see 1 image(s)."
    )
    assert KEY not in json.dumps(model.settings) + model.revision + repr(model)


def test_retries_with_backoff_then_succeeds(server: FakeUMMServer) -> None:
    server.fail_first = 2
    model: Any = load_model("http", None, _args(server, retries="2"))
    assert model.reason(["Draw 3 green books."], [0])
    assert server.hits == ["/v1/chat/completions"] * 3 and model.requests == 3


def test_bounded_retries_and_timeouts_fail_clearly(server: FakeUMMServer) -> None:
    server.fail_first = 10
    model: Any = load_model("http", None, _args(server, retries="1"))
    with pytest.raises(HttpModelError, match=r"failed after 2 attempts: HTTP 500"):
        model.reason(["x"], [0])
    server.fail_first, server.delay = 0, 0.5
    slow: Any = load_model("http", None, _args(server, retries="1", timeout="0.1"))
    with pytest.raises(HttpModelError, match=r"failed after 2 attempts: .*timed out"):
        slow.reason(["x"], [0])


def test_wrong_key_is_not_retried_and_not_echoed(
    server: FakeUMMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UMM_KEY", "sk-wrong")
    model: Any = load_model("http", None, _args(server))
    with pytest.raises(HttpModelError, match="HTTP 401") as info:
        model.reason(["x"], [0])
    assert "sk-wrong" not in str(info.value) and len(server.hits) == 1


def test_missing_images_endpoint_is_unsupported(server: FakeUMMServer) -> None:
    server.with_images = False
    model = load_model("http", None, _args(server))
    with pytest.raises(Unsupported, match="404"):
        model.generate(["Draw 1 cat."], [0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "base_url=URL and --model-arg model=NAME are required"),
        ({"base_url": "ftp://x", "model": "m"}, "must start with http"),
        (
            {"base_url": "http://x", "model": "m", "retries": "many"},
            "retries='many' is not a number",
        ),
        ({"base_url": "http://x", "model": "m", "colour": "red"}, "unknown --model-arg colour"),
    ],
)
def test_bad_options(args: dict[str, str], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        load_model("http", None, args)


def test_pytest_run_through_the_api(
    server: FakeUMMServer, pytester: pytest.Pytester, suite_dir: Path
) -> None:
    args = [f"--model-arg={k}={v}" for k, v in _args(server).items()]
    result = pytester.runpytest(
        "--model", "http", *args, "--junitxml=out.xml", "--ureason-json=out.json"
    )
    # The reference renderer behind the API draws literal prompts right and computed ones
    # from their first mentions: honest passes and failures.
    result.assert_outcomes(passed=5, failed=4)
    result.stdout.fnmatch_lines(["*ureason: 9/9 images ready, 9 generated*"])
    stored = "".join(p.read_text() for p in (pytester.path / ".store").rglob("*.json"))
    report = (pytester.path / "out.xml").read_text() + (pytester.path / "out.json").read_text()
    assert "ref-umm" in stored and KEY not in stored + report + str(result.outlines)
