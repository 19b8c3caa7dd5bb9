"""The http adapter never hangs and never trusts a reply: a total deadline per attempt, a reply
size limit, a text limit, an image size checked before decoding, per-item failures that are not
resent by the batch splitter, and an unset ``api_key_env`` refused without echoing it.

Every case runs against a real server on 127.0.0.1 that misbehaves on purpose.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from pytest_ureason.models.base import load_model
from pytest_ureason.models.batching import Failed, run_batched
from pytest_ureason.models.http import HttpModelError
from tests.json_handler import JsonHandler

CHAT = json.dumps({"choices": [{"message": {"content": "a short answer, slowly"}}]}).encode()


class BadServer(ThreadingHTTPServer):
    mode: str  # trickle-body | trickle-headers | huge | long-text | big-image | always-500
    hits: int
    sent: int  # body bytes written by the "huge" mode
    image: bytes


class Handler(JsonHandler):
    server: BadServer

    def _write(self, data: bytes, pause: float = 0.0) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up
            return False
        if pause:
            time.sleep(pause)
        return True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.hits += 1
        mode = self.server.mode
        if mode == "always-500":
            return self._send(500, {"error": {"message": "down"}})
        if mode == "long-text":
            return self._send(200, {"choices": [{"message": {"content": "x" * 5000}}]})
        if mode == "big-image":
            import base64

            return self._send(200, {"data": [{"b64_json": base64.b64encode(self.server.image)
                                              .decode()}]})  # fmt: skip
        if mode == "huge":  # no length announced: an endless body, until the client stops
            self.close_connection = True
            if not self._write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"):
                return
            block = b" " * (1 << 16)
            while self.server.sent < 64 << 20 and self._write(block):
                self.server.sent += len(block)
            return
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(CHAT)
        )
        slow = head + CHAT if mode == "trickle-headers" else CHAT
        if mode == "trickle-body" and not self._write(head):
            return
        for byte in slow:  # one byte every 0.25 s: each read waits far less than the timeout
            if not self._write(bytes([byte]), pause=0.25):
                return


@pytest.fixture
def bad() -> Iterator[BadServer]:
    srv = BadServer(("127.0.0.1", 0), Handler)
    srv.mode, srv.hits, srv.sent, srv.image = "", 0, 0, b""
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _model(srv: BadServer, **extra: str) -> Any:
    port = srv.server_address[1]
    args = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "retries": "0",
            "backoff": "0", "size": "128x128", **extra}  # fmt: skip
    return load_model("http", None, args)


@pytest.mark.parametrize("mode", ["trickle-body", "trickle-headers"])
def test_a_trickling_server_is_cut_at_the_deadline(bad: BadServer, mode: str) -> None:
    # Without a deadline each read waits 0.25 s (< timeout 5 s) and the reply completes after
    # ~12 s; with deadline=1.5 the attempt is abandoned, whichever part is trickled.
    bad.mode = mode
    model = _model(bad, timeout="5", deadline="1.5")
    start = time.monotonic()
    with pytest.raises(HttpModelError, match=r"no complete reply within the deadline of 1.5 s"):
        model.reason(["x"], [0])
    print(f"{mode}: gave up after {time.monotonic() - start:.2f} s")
    assert bad.hits == 1


def test_a_huge_reply_is_stopped_at_the_size_limit(bad: BadServer) -> None:
    bad.mode = "huge"
    model = _model(bad, max_reply_mb="1")
    with pytest.raises(HttpModelError, match=r"reply passed 1048576 bytes, over the limit"):
        model.reason(["x"], [0])
    # The read stopped: the server got to write far less than its 64 MiB.
    assert bad.sent < 16 << 20


def test_a_long_text_is_not_kept_as_reasoning(bad: BadServer) -> None:
    bad.mode = "long-text"
    model = _model(bad, max_text_chars="1000")
    with pytest.raises(HttpModelError, match=r"5000 characters, over the limit of 1000"):
        model.reason(["x"], [0])


def test_an_oversized_image_is_refused_before_decoding(bad: BadServer) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (4096, 4096)).save(buf, format="PNG")  # a few KB, 16.8 Mpx
    bad.mode, bad.image = "big-image", buf.getvalue()
    model = _model(bad)
    with pytest.raises(
        HttpModelError, match=r"4096x4096 pixels for a requested 128x128 .*refused before decoding"
    ):
        model.generate(["a cat"], [0])
    buf = io.BytesIO()
    Image.new("RGB", (256, 64)).save(buf, format="PNG")
    bad.image = buf.getvalue()  # at most 2x per side: accepted
    assert model.generate(["a cat"], [0])[0].size == (256, 64)


def test_failed_requests_are_per_item_and_not_resent_by_halving(bad: BadServer) -> None:
    # 16 prompts, 2 attempts each, all answered 500: 32 requests, not one batch resent at
    # every halving level (which made 16 + 2*8 + 4*4 + ... resends of every attempt).
    bad.mode = "always-500"
    model = _model(bad, retries="1", concurrency="4")
    prompts = [f"p{i}" for i in range(16)]
    results = run_batched(lambda chunk: model.reason(chunk, [0] * len(chunk)), prompts, 16)
    assert bad.hits == 16 * 2
    assert all(isinstance(r, Failed) for r in results)
    assert all("failed after 2 attempts: HTTP 500" in str(r.error) for r in results)  # type: ignore[union-attr]


def test_unset_api_key_env_is_a_usage_error_that_does_not_echo_it(
    bad: BadServer, pytester: pytest.Pytester
) -> None:
    port = bad.server_address[1]
    secret = "sk-pasted-instead-of-a-name-1234"
    pytester.makeini("[pytest]\nureason_store = .store\n")
    suite = "suite: demo\nversion: 1\ntask: arithmetic\ninstances:\n  - generator: arithmetic\n"
    pytester.makefile(".suite.yaml", demo=suite + "    count: 1\n    seed: 1\n")
    result = pytester.runpytest(
        "--model", "http", f"--model-arg=base_url=http://127.0.0.1:{port}/v1",
        "--model-arg=model=m", f"--model-arg=api_key_env={secret}",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*the environment variable named by --model-arg api_key_env is not set*"]
    )
    assert secret not in str(result.outlines) + str(result.errlines)
    assert bad.hits == 0 and not list((pytester.path / ".store").rglob("*.json"))
    with pytest.raises(Exception, match="api_key_env is not set") as info:
        _model(bad, api_key_env=secret)
    assert secret not in str(info.value)
