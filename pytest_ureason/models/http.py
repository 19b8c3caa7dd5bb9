"""A model behind an OpenAI-compatible HTTP API (``--model http``).

* ``reason`` / ``answer``: ``POST {base_url}/chat/completions`` (an image goes inline as a
  ``data:image/png;base64`` URL part);
* ``generate``: ``POST {base_url}/images/generations`` with ``response_format=b64_json``
  (a returned http(s) ``url`` is fetched, without the key); the reasoning context is appended
  to the prompt, since the endpoint takes one text.

Options (``--model-arg KEY=VALUE``): ``base_url`` (an ``http://`` or ``https://`` URL) and ``model``
(required), ``api_key_env`` (name of the environment variable holding the key, default
``OPENAI_API_KEY``; the key itself is read at call time, never stored in settings, metadata or
reports, and redacted from every error and reply; a variable named explicitly must be set, else
loading fails without echoing the name, which may be a pasted key), ``timeout`` (seconds any one
connect or read may wait, default 60), ``deadline`` (seconds one attempt may take in all, connect
and the whole reply included, default 300), ``max_reply_mb`` (largest reply body read, MiB, default
64; a longer one fails that item), ``max_text_chars`` (longest text reply kept, and so stored as
reasoning, default 1,000,000 characters; a longer one fails that item), ``retries`` (extra attempts
after a timeout, a connection error, 429 or 5xx; default 3), ``backoff`` (first wait in seconds,
doubled each retry, default 1), ``max_wait`` (cap on any wait, a ``Retry-After`` header included;
default 60), ``concurrency`` (requests in flight, default 4), ``size`` (``WIDTHxHEIGHT`` or
``auto``, default ``1024x1024``), ``temperature`` (default 0), ``max_tokens`` (default 1024).

An image reply is checked from its header before decoding: its width and height may be at
most ``IMAGE_SIZE_FACTOR`` (2) times the requested ``size`` (with ``size=auto``, at
most ``AUTO_MAX_PIXELS``). Each prompt is its own request: a request that fails (after its
retries) fails its item only; the batch is not resent (:class:`ItemErrors`).

Replies are validated: a reply that is not JSON, or lacks ``choices[0].message.content`` /
``data[0].b64_json`` or has them of the wrong type, is an :class:`HttpModelError` naming the
field (see :mod:`pytest_ureason.models.http_transport` for the transport).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pytest_ureason.models.base import ItemErrors, ModelLoadError, Unsupported
from pytest_ureason.models.http_transport import (
    RETRY_STATUS,
    HttpModelError,
    Transport,
    check_base_url,
)
from pytest_ureason.models.janus import (
    IMAGE_CONTEXT_TEMPLATE,
    reasoning_instruction,
    template_settings,
)
from pytest_ureason.models.options import Options

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL import Image

__all__ = ["RETRY_STATUS", "HttpItemErrors", "HttpModel", "HttpModelError"]

_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
#: A returned image may be at most this factor larger than requested, per side.
IMAGE_SIZE_FACTOR = 2
#: With ``size=auto``: the most pixels a returned image may have.
AUTO_MAX_PIXELS = 4096 * 4096


class HttpItemErrors(ItemErrors, HttpModelError):
    """Some requests of a batched call failed (each after its own retries); see
    :class:`ItemErrors`."""


def check_key_env(options: dict[str, str] | None) -> None:
    """An explicitly named ``api_key_env`` must be set (its value is never echoed: people paste
    the key itself there).

    Raises:
        ModelLoadError: the variable is not set.
    """
    name = (options or {}).get("api_key_env", "").strip()
    if name and not os.environ.get(name, "").strip():
        raise ModelLoadError(
            "http: the environment variable named by --model-arg api_key_env is not set "
            "(give the variable's name there, never the key itself)"
        )


def _field(value: Any, path: str, kind: type, what: str) -> Any:
    """``value`` if it is a ``kind``; else an error naming the reply field ``path``."""
    if value is None:
        raise HttpModelError(f"{what} reply without {path}")
    if not isinstance(value, kind):
        raise HttpModelError(
            f"{what} reply field {path} is a {type(value).__name__}, expected {kind.__name__}"
        )
    return value


def chat_content(reply: dict[str, Any]) -> str:
    """The text of ``choices[0].message.content`` (a string, or a list of text parts).

    Raises:
        HttpModelError: naming the missing or mistyped field.
    """
    choices = _field(reply.get("choices"), "choices", list, "chat")
    if not choices:
        raise HttpModelError("chat reply field choices is an empty list")
    first = _field(choices[0], "choices[0]", dict, "chat")
    message = _field(first.get("message"), "choices[0].message", dict, "chat")
    content = message.get("content")
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        texts = []
        for k, part in enumerate(content):
            part = _field(part, f"choices[0].message.content[{k}]", dict, "chat")
            if part.get("type", "text") == "text":
                texts.append(
                    _field(part.get("text"), f"choices[0].message.content[{k}].text", str, "chat")
                )
        return "".join(texts)
    text: str = _field(content, "choices[0].message.content", str, "chat")
    return text


def image_item(reply: dict[str, Any]) -> dict[str, Any]:
    """``data[0]`` of an images reply, checked to hold a ``b64_json`` or ``url`` string."""
    data = _field(reply.get("data"), "data", list, "images")
    if not data:
        raise HttpModelError("images reply field data is an empty list")
    item: dict[str, Any] = _field(data[0], "data[0]", dict, "images")
    for key in ("b64_json", "url"):
        if item.get(key) is not None:
            _field(item[key], f"data[0].{key}", str, "images")
    if not item.get("b64_json") and not item.get("url"):
        raise HttpModelError("images reply without data[0].b64_json or data[0].url")
    return item


class HttpModel:
    """An OpenAI-compatible API behind the batched protocol (see the module docstring)."""

    name = "http"
    #: Options that change speed or robustness, not answers: left out of judge cache keys.
    speed_options = ("concurrency", "timeout", "retries", "backoff", "max_wait", "deadline")
    #: Run before any item (``pytest_configure``): a bad option is a usage error.
    check_options = staticmethod(check_key_env)

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
        check_key_env(options)
        self.base_url = check_base_url(base_url)
        self.model = model
        key_env = opts.text("api_key_env", "OPENAI_API_KEY")
        timeout = opts.number("timeout", 60, 0.001, 3600)
        deadline = opts.number("deadline", 300, 0.001, 86400)
        max_bytes = int(opts.number("max_reply_mb", 64, 0.001, 16384) * (1 << 20))
        self.max_text_chars = opts.integer("max_text_chars", 1_000_000, 1, 1 << 30)
        retries = opts.integer("retries", 3, 0, 20)
        backoff = opts.number("backoff", 1.0, 0.0, 60)
        max_wait = opts.number("max_wait", 60.0, 0.0, 3600)
        self.concurrency = opts.integer("concurrency", 4, 1, 256)
        self.size = opts.text("size", "1024x1024")
        match = _SIZE.fullmatch(self.size)
        if self.size != "auto" and (
            match is None or not all(1 <= int(g) <= 16384 for g in match.groups())
        ):
            raise ModelLoadError(
                f"http: --model-arg size={self.size!r} is not WIDTHxHEIGHT (e.g. 1024x1024) or auto"
            )
        self.temperature = opts.number("temperature", 0.0, 0.0, 2.0)
        self.max_tokens = opts.integer("max_tokens", 1024, 1, 1_000_000)
        opts.done()
        self.transport = Transport(
            self.base_url,
            key_env,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_wait=max_wait,
            deadline=deadline,
            max_bytes=max_bytes,
        )
        self.settings: dict[str, Any] = {
            "base_url": self.base_url,
            "model": self.model,
            "size": self.size,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            # The server's model and libraries are its own (named by ``model``); the text we
            # send is ours, so our templates enter the key.
            "templates": template_settings(image_context=IMAGE_CONTEXT_TEMPLATE),
        }
        self.revision = f"http-{self.model}"

    def __repr__(self) -> str:
        return f"HttpModel(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def requests(self) -> int:
        """Requests made so far, retries included."""
        return self.transport.requests

    # -- helpers ---------------------------------------------------------------------------

    @contextmanager
    def _redacting(self) -> Iterator[None]:
        """Whatever escapes a protocol method leaves without the key in its message."""
        try:
            yield
        except Unsupported as exc:
            raise Unsupported(self.transport.redact(str(exc))) from None
        except HttpModelError as exc:
            raise self.transport.error(str(exc)) from None
        except Exception as exc:
            raise self.transport.error(f"{type(exc).__name__}: {exc}") from None

    def _one(self, fn: Callable[[int], Any], i: int) -> Any:
        """``fn(i)``, or the exception it raised (the key redacted)."""
        try:
            with self._redacting():
                return fn(i)
        except Exception as exc:
            return exc

    def _map(self, fn: Callable[[int], Any], n: int) -> list[Any]:
        """``fn`` over ``range(n)``, ``concurrency`` at a time. Each item is its own request:
        when some fail, :class:`ItemErrors` carries every item's result or error, so a batch
        runner fails those items alone (a missing endpoint is :class:`Unsupported` for all)."""
        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(n, 1))) as pool:
            results = list(pool.map(lambda i: self._one(fn, i), range(n)))
        for result in results:
            if isinstance(result, Unsupported):
                raise result
        errors = [r for r in results if isinstance(r, BaseException)]
        if len(results) == 1 and errors:
            raise errors[0]
        if errors:
            raise HttpItemErrors(results)
        return results

    def _chat(self, content: str | list[dict[str, Any]], seed: int) -> str:
        reply = self.transport.post(
            "chat/completions",
            {
                "model": self.model,
                "messages": [{"role": "user", "content": content}],
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "seed": seed,
            },
        )
        # A server may echo the key back: it never reaches the store or a report.
        text = chat_content(reply)
        if len(text) > self.max_text_chars:
            raise HttpModelError(
                f"chat reply text is {len(text)} characters, over the limit of "
                f"{self.max_text_chars} (--model-arg max_text_chars): not kept"
            )
        return self.transport.redact(text)

    def _check_pixels(self, size: tuple[int, int]) -> None:
        """Refuse an image whose header announces a size far from the requested one."""
        width, height = size
        if self.size == "auto":
            if width * height > AUTO_MAX_PIXELS:
                raise HttpModelError(
                    f"images reply data[0] is {width}x{height} pixels, more than "
                    f"{AUTO_MAX_PIXELS} with size=auto: refused before decoding"
                )
            return
        want_w, want_h = (int(g) for g in self.size.split("x"))
        f = IMAGE_SIZE_FACTOR
        if width > want_w * f or height > want_h * f:
            raise HttpModelError(
                f"images reply data[0] is {width}x{height} pixels for a requested {self.size} "
                f"(more than {f}x larger in a side): refused before decoding"
            )

    # -- protocol --------------------------------------------------------------------------

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
        from PIL import Image, UnidentifiedImageError

        contexts = contexts or [None] * len(prompts)

        def one(i: int) -> Image.Image:
            context = contexts[i]
            text = (
                prompts[i]
                if context is None
                else IMAGE_CONTEXT_TEMPLATE.format(prompt=prompts[i], context=context)
            )
            reply = self.transport.post(
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
            item = image_item(reply)
            if item.get("b64_json"):
                try:
                    raw = base64.b64decode(item["b64_json"], validate=True)
                except (binascii.Error, ValueError):
                    raise HttpModelError(
                        "images reply field data[0].b64_json is not base64"
                    ) from None
            else:
                raw = self.transport.fetch(item["url"])
            try:
                with Image.open(io.BytesIO(raw)) as img:  # reads the header only
                    self._check_pixels(img.size)
                    return img.convert("RGB")
            except HttpModelError:
                raise
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                raise HttpModelError(
                    "images reply data[0] does not decode to an image "
                    f"({len(raw)} bytes, starting {raw[:8]!r})"
                ) from None

        return self._map(one, len(prompts))
