"""A model behind an OpenAI-compatible HTTP API (``--model http``).

* ``reason`` / ``answer``: ``POST {base_url}/chat/completions`` (an image goes inline as a
  ``data:image/png;base64`` URL part);
* ``generate``: ``POST {base_url}/images/generations`` with ``response_format=b64_json``
  (a returned ``url`` is fetched); the reasoning context is appended to the prompt, since the
  endpoint takes one text.

Options (``--model-arg KEY=VALUE``): ``base_url`` and ``model`` (required), ``api_key_env``
(name of the environment variable holding the key, default ``OPENAI_API_KEY``; the key itself
is read at call time and never stored in settings, metadata or reports), ``timeout`` (seconds
per request, default 60), ``retries`` (extra attempts after a timeout, a connection error, 429
or 5xx; default 3), ``backoff`` (first wait in seconds, doubled each retry, default 1; a
``Retry-After`` header wins, capped at 60 s), ``concurrency`` (requests in flight, default 4),
``size`` (image size, default ``1024x1024``), ``temperature`` (default 0), ``max_tokens``
(default 1024).
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pytest_ureason.models.base import ModelLoadError, Unsupported
from pytest_ureason.models.janus import reasoning_instruction
from pytest_ureason.models.options import Options

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL import Image

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class HttpModelError(RuntimeError):
    """A request failed for good (the message names the endpoint and status, never the key)."""


class HttpModel:
    """An OpenAI-compatible API behind the batched protocol (see the module docstring)."""

    name = "http"

    def __init__(self, model_path: str | None = None, options: dict[str, str] | None = None):
        if model_path:
            raise ModelLoadError("http: an API model has no weights: drop --model-path")
        opts = Options("http", options)
        base_url = opts.optional("base_url")
        model = opts.optional("model")
        if not base_url or not model:
            raise ModelLoadError(
                "http: --model-arg base_url=URL and --model-arg model=NAME are required "
                "(e.g. base_url=http://127.0.0.1:8000/v1 model=my-umm)"
            )
        if not base_url.startswith(("http://", "https://")):
            raise ModelLoadError(
                f"http: base_url must start with http:// or https://, got {base_url!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.key_env = opts.text("api_key_env", "OPENAI_API_KEY")
        self.timeout = opts.number("timeout", 60, 0.01, 3600)
        self.retries = int(opts.number("retries", 3, 0, 20))
        self.backoff = opts.number("backoff", 1.0, 0.0, 60)
        self.concurrency = int(opts.number("concurrency", 4, 1, 256))
        self.size = opts.text("size", "1024x1024")
        self.temperature = opts.number("temperature", 0.0, 0.0, 2.0)
        self.max_tokens = int(opts.number("max_tokens", 1024, 1, 1_000_000))
        opts.done()
        self.requests = 0  # attempts made, retries included
        self.settings: dict[str, Any] = {
            "base_url": self.base_url,
            "model": self.model,
            "size": self.size,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        self.revision = f"http-{self.model}"

    def __repr__(self) -> str:
        return f"HttpModel(base_url={self.base_url!r}, model={self.model!r})"

    # -- transport -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON with bounded retries and exponential backoff; the parsed JSON reply."""
        url = f"{self.base_url}/{path}"
        data = json.dumps(body).encode()
        last = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2**attempt
            self.requests += 1
            request = urllib.request.Request(url, data=data, headers=self._headers())
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    reply: dict[str, Any] = json.loads(response.read())
                    return reply
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                last = f"HTTP {exc.code}: {detail}"
                if exc.code == 404:
                    raise Unsupported(f"{url} not found (HTTP 404)") from None
                if exc.code not in RETRY_STATUS:
                    raise HttpModelError(f"POST {url} failed: {last}") from None
                after = exc.headers.get("Retry-After") if exc.headers else None
                if after and after.replace(".", "", 1).isdigit():
                    wait = min(float(after), 60.0)
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}"
            except ValueError as exc:
                raise HttpModelError(f"POST {url}: the reply is not JSON ({exc})") from None
            if attempt < self.retries:
                time.sleep(wait)
        raise HttpModelError(f"POST {url} failed after {self.retries + 1} attempts: {last}")

    def _map(self, fn: Callable[[int], str], n: int) -> list[str]:
        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(n, 1))) as pool:
            return list(pool.map(fn, range(n)))

    # -- protocol --------------------------------------------------------------------------

    def _chat(self, content: str | list[dict[str, Any]], seed: int) -> str:
        reply = self._post(
            "chat/completions",
            {
                "model": self.model,
                "messages": [{"role": "user", "content": content}],
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "seed": seed,
            },
        )
        try:
            return str(reply["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            raise HttpModelError(
                f"chat reply without choices[0].message.content: {reply!r:.200}"
            ) from None

    def reason(self, prompts: list[str], seeds: list[int]) -> list[str]:
        """Reasoning text per prompt, one chat completion each (``concurrency`` at a time)."""
        return self._map(
            lambda i: self._chat(reasoning_instruction(prompts[i]), seeds[i]), len(prompts)
        )

    def answer(
        self, images: list[Image.Image | None], questions: list[str], seeds: list[int]
    ) -> list[str]:
        """Answer each question; an image is sent inline as a PNG data URL."""

        def one(i: int) -> str:
            image = images[i]
            if image is None:
                return self._chat(questions[i], seeds[i])
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="PNG")
            url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
            parts: list[dict[str, Any]] = [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": questions[i]},
            ]
            return self._chat(parts, seeds[i])

        return self._map(one, len(questions))

    def generate(
        self, prompts: list[str], seeds: list[int], contexts: list[str | None] | None = None
    ) -> list[Image.Image]:
        """One image per prompt from the images endpoint."""
        from PIL import Image

        contexts = contexts or [None] * len(prompts)

        def one(i: int) -> Image.Image:
            text = prompts[i] if contexts[i] is None else f"{prompts[i]}\n\n{contexts[i]}"
            reply = self._post(
                "images/generations",
                {
                    "model": self.model,
                    "prompt": text,
                    "n": 1,
                    "size": self.size,
                    "response_format": "b64_json",
                    "seed": seeds[i],
                },
            )
            try:
                item = reply["data"][0]
            except (KeyError, IndexError, TypeError):
                raise HttpModelError(f"images reply without data[0]: {reply!r:.200}") from None
            if item.get("b64_json"):
                raw = base64.b64decode(item["b64_json"])
            elif item.get("url"):
                with urllib.request.urlopen(item["url"], timeout=self.timeout) as response:
                    raw = response.read()
            else:
                raise HttpModelError("images reply item has neither b64_json nor url")
            with Image.open(io.BytesIO(raw)) as img:
                return img.convert("RGB")

        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(len(prompts), 1))) as pool:
            return list(pool.map(one, range(len(prompts))))
