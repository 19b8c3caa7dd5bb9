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
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_ureason.models.base import ModelLoadError, Unsupported, load_model
from pytest_ureason.models.http import HttpModelError
from tests.json_handler import JsonHandler

KEY = "sk-test-5ecret-never-in-reports"


class FakeUMMServer(ThreadingHTTPServer):
    """State of the test server."""

    hits: list[str]
    fail_first: int  # answer this many requests with HTTP 500 first
    delay: float
    with_images: bool
    canned: list[tuple[int, dict[str, str], bytes]]  # replies served first, as they are


class Handler(JsonHandler):
    server: FakeUMMServer

    def _canned(self) -> bool:
        if not self.server.canned:
            return False
        code, headers, body = self.server.canned.pop(0)
        # "{auth}" in a canned body echoes the Authorization header back, as some servers do.
        body = body.replace(b"{auth}", self.headers.get("Authorization", "").encode())
        self.send_response(code)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return True

    def do_GET(self) -> None:
        self.server.hits.append("GET " + self.path)
        if not self._canned():
            self._send(404, {"error": {"message": "nothing here"}})

    def do_POST(self) -> None:
        import time

        from pytest_ureason.reference.model import ReferenceModel

        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.hits.append(self.path)
        if self._canned():
            return
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
    srv.canned = []
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
        "--model", "http", *args, "--detector", "classical",  # reference scenes behind it
        "--junitxml=out.xml", "--ureason-json=out.json",
    )  # fmt: skip
    # The reference renderer behind the API draws literal prompts right and computed ones
    # from their first mentions: honest passes and failures.
    result.assert_outcomes(passed=5, failed=4)
    result.stdout.fnmatch_lines(["*ureason: 9/9 images ready, 9 generated*"])
    stored = "".join(p.read_text() for p in (pytester.path / ".store").rglob("*.json"))
    report = (pytester.path / "out.xml").read_text() + (pytester.path / "out.json").read_text()
    assert "ref-umm" in stored and KEY not in stored + report + str(result.outlines)


# -- the key never leaks; replies are validated; waits are bounded ------------------------------


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def test_key_echoed_by_the_server_is_redacted_everywhere(server: FakeUMMServer) -> None:
    model: Any = load_model("http", None, _args(server, retries="0"))
    server.canned = [(400, {}, b'{"error": "bad request from {auth}"}')]
    with pytest.raises(HttpModelError, match=r"HTTP 400") as info:
        model.reason(["x"], [0])
    assert KEY not in str(info.value) and "Bearer [redacted]" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    # The key echoed in a successful reply's text is redacted from the text the run stores.
    server.canned = [(200, {}, _json({"choices": [{"message": {"content": "hi {auth}"}}]}))]
    (text,) = model.reason(["x"], [0])
    assert text == "hi Bearer [redacted]"
    # ... and from a reply that is not JSON, and from a malformed one.
    server.canned = [(200, {}, b"<html>{auth}</html>")]
    with pytest.raises(HttpModelError, match="not JSON") as info:
        model.reason(["x"], [0])
    assert KEY not in str(info.value)
    server.canned = [(200, {}, _json({"choices": "{auth}"}))]
    with pytest.raises(HttpModelError, match="choices is a str, expected list") as info:
        model.reason(["x"], [0])
    assert KEY not in str(info.value) + repr(model) + repr(model.transport)


def test_key_quoted_by_urllib_is_redacted(
    server: FakeUMMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key with a stray newline (a copy-paste accident): http.client refuses the header and
    # quotes its value, key included, in its ValueError.
    monkeypatch.setenv("UMM_KEY", "sk-line1\nsk-line2-secret")
    model: Any = load_model("http", None, _args(server))
    with pytest.raises(HttpModelError, match=r"could not be sent .*\$UMM_KEY") as info:
        model.reason(["x"], [0])
    assert "sk-line2-secret" not in str(info.value) and server.hits == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "reply is a JSON list, expected an object"),
        ({}, "chat reply without choices"),
        ({"choices": []}, "choices is an empty list"),
        ({"choices": [7]}, r"choices\[0\] is a int, expected dict"),
        ({"choices": [{}]}, r"without choices\[0\]\.message"),
        ({"choices": [{"message": "hi"}]}, r"choices\[0\]\.message is a str, expected dict"),
        ({"choices": [{"message": {"content": None}}]}, r"without choices\[0\]\.message\.content"),
        ({"choices": [{"message": {"content": 5}}]}, r"content is a int, expected str"),
        ({"choices": [{"message": {"content": [{"type": "text"}]}}]}, r"content\[0\]\.text"),
    ],
)
def test_malformed_chat_replies_name_the_field(
    server: FakeUMMServer, payload: Any, message: str
) -> None:
    model = load_model("http", None, _args(server, retries="0"))
    server.canned = [(200, {}, _json(payload))]
    with pytest.raises(HttpModelError, match=message):
        model.reason(["x"], [0])


def test_chat_content_parts_are_joined(server: FakeUMMServer) -> None:
    model = load_model("http", None, _args(server))
    parts = [{"type": "text", "text": "a"}, {"type": "refusal"}, {"type": "text", "text": "b"}]
    server.canned = [(200, {}, _json({"choices": [{"message": {"content": parts}}]}))]
    assert model.reason(["x"], [0]) == ["ab"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"data": {}}, "data is a dict, expected list"),
        ({"data": []}, "data is an empty list"),
        ({"data": [{}]}, r"without data\[0\]\.b64_json or data\[0\]\.url"),
        ({"data": [{"b64_json": 3}]}, r"data\[0\]\.b64_json is a int, expected str"),
        ({"data": [{"b64_json": "not base64!"}]}, r"data\[0\]\.b64_json is not base64"),
        ({"data": [{"b64_json": "aGVsbG8="}]}, r"data\[0\] does not decode to an image"),
        ({"data": [{"url": "file:///etc/passwd"}]}, r"data\[0\]\.url is not an http\(s\) URL"),
    ],
)
def test_malformed_image_replies_name_the_field(
    server: FakeUMMServer, payload: Any, message: str
) -> None:
    model = load_model("http", None, _args(server, retries="0"))
    server.canned = [(200, {}, _json(payload))]
    with pytest.raises(HttpModelError, match=message):
        model.generate(["a cat"], [0])


def test_image_url_is_fetched_without_the_key(server: FakeUMMServer) -> None:
    from PIL import Image

    host, port = server.server_address[:2]
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, format="PNG")
    server.canned = [
        (200, {}, _json({"data": [{"url": f"http://{host}:{port}/img.png"}]})),
        (200, {"Content-Type": "image/png"}, buf.getvalue()),
    ]
    model = load_model("http", None, _args(server))
    (image,) = model.generate(["a cat"], [0])
    assert image.size == (16, 16) and server.hits == ["/v1/images/generations", "GET /img.png"]


def test_redirects_are_not_followed(server: FakeUMMServer) -> None:
    model = load_model("http", None, _args(server))
    server.canned = [(307, {"Location": "http://127.0.0.1:9/steal"}, b"")]
    with pytest.raises(HttpModelError, match=r"HTTP 307 .*redirects are not followed"):
        model.reason(["x"], [0])
    assert len(server.hits) == 1


def test_retry_after_is_honoured_but_bounded(server: FakeUMMServer) -> None:
    ok = (200, {}, _json({"choices": [{"message": {"content": "done"}}]}))
    server.canned = [
        (429, {"Retry-After": "3600"}, b"{}"),
        (503, {"Retry-After": "0.02"}, b"{}"),
        (503, {}, b"{}"),
        ok,
    ]
    model: Any = load_model("http", None, _args(server, retries="3", backoff="30", max_wait="0.05"))
    assert model.reason(["x"], [0]) == ["done"]
    # An hour asked for, capped at max_wait; 0.02 s honoured; backoff 30 s * 2**2, capped.
    assert model.transport.waits == [0.05, 0.02, 0.05] and model.requests == 4


def test_retry_wait_and_retry_after_parsing() -> None:
    from email.utils import formatdate

    from pytest_ureason.models.http_transport import retry_after_seconds, retry_wait

    assert [retry_wait(a, 1.0, 60.0, None) for a in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_wait(1000, 1.0, 60.0, None) == 60.0  # no overflow on a huge attempt count
    assert retry_wait(0, 1.0, 60.0, 5.0) == 5.0 and retry_wait(0, 1.0, 60.0, 1e9) == 60.0
    assert retry_after_seconds("7") == 7.0 and retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("nan") is None
    now = 1_700_000_000.0
    assert retry_after_seconds(formatdate(now + 120, usegmt=True), now=now) == 120.0
    assert retry_after_seconds(formatdate(now - 120, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize(
    "url",
    ["ftp://x/v1", "file:///tmp/x", "http://", "https:///v1", "127.0.0.1:8000/v1", "http://a b/"],
)
def test_only_http_base_urls(url: str) -> None:
    with pytest.raises(ModelLoadError, match="base_url"):
        load_model("http", None, {"base_url": url, "model": "m"})


def test_credentials_in_base_url_are_refused() -> None:
    with pytest.raises(ModelLoadError, match="must not carry credentials") as info:
        load_model("http", None, {"base_url": "https://me:sk-secret@api.example/v1", "model": "m"})
    assert "sk-secret" not in str(info.value)


def test_key_echoed_in_a_pytest_run_reaches_no_report(
    server: FakeUMMServer, pytester: pytest.Pytester, suite_dir: Path
) -> None:
    # Every reasoning echoes the key; the items that need it report it redacted, never the key.
    echo = (
        200,
        {},
        _json(
            {
                "choices": [
                    {"message": {"content": "key {auth} <refined_prompt>3 books</refined_prompt>"}}
                ]
            }
        ),
    )
    fail = (400, {}, b'{"error": "rejected {auth}"}')
    server.canned = [echo, echo, echo, fail, fail, fail, fail, fail, fail]
    args = [f"--model-arg={k}={v}" for k, v in _args(server, retries="0").items()]
    result = pytester.runpytest(
        "--model", "http", *args, "--detector", "classical",
        "--junitxml=out.xml", "--ureason-json=out.json", "-rA",
    )  # fmt: skip
    stored = "".join(p.read_text() for p in (pytester.path / ".store").rglob("*.json"))
    report = (pytester.path / "out.xml").read_text() + (pytester.path / "out.json").read_text()
    everything = stored + report + "\n".join(result.outlines + result.errlines)
    assert "Bearer [redacted]" in everything and KEY not in everything
