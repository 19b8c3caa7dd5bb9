"""The transport of the http adapter: base URLs, bounded retries, and keeping the key secret.

* :func:`check_base_url`: only ``http://`` and ``https://`` URLs with a host and no
  credentials in them (the key comes from an environment variable, never from the URL).
* :func:`retry_wait`: exponential backoff, capped; a server's ``Retry-After`` (seconds or an
  HTTP date) is honoured but bounded by the same cap.
* :class:`Transport`: POSTs JSON with bounded retries. Every attempt has a total ``deadline``
  (connect, headers and body together: a watchdog shuts the socket when it passes, so a server
  trickling bytes cannot hold a request longer than the deadline, however short each read's
  ``timeout``), and a reply is read in chunks and abandoned past ``max_bytes``. Redirects are not
  followed (urllib would resend the ``Authorization`` header to wherever a redirect points). Every
  message it raises, and every text the adapter returns, passes through :meth:`Transport.redact`,
  which replaces the key, so a server echoing the key back, or an exception of ``urllib`` /
  ``http.client`` quoting a header, never carries it into an error, a verdict, a junit property or a
  report.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any

from pytest_ureason.models.base import ModelLoadError, Unsupported

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
REDACTED = "[redacted]"


class HttpModelError(RuntimeError):
    """A request failed for good, or its reply was malformed (the message names the endpoint,
    the status or the reply field; never the key)."""


def check_base_url(text: str) -> str:
    """The base URL without a trailing slash.

    Raises:
        ModelLoadError: not http(s), no host, or credentials inside the URL.
    """
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ModelLoadError(
            f"http: base_url must start with http:// or https:// and name a host, got {text!r} "
            "(e.g. base_url=http://127.0.0.1:8000/v1)"
        )
    if parts.username is not None or parts.password is not None:
        raise ModelLoadError(
            "http: base_url must not carry credentials (user:password@); put the key in the "
            "environment variable named by --model-arg api_key_env"
        )
    if any(c.isspace() for c in text.strip()):
        raise ModelLoadError(f"http: base_url contains whitespace: {text!r}")
    return text.strip().rstrip("/")


def retry_after_seconds(header: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


def retry_wait(attempt: int, backoff: float, cap: float, retry_after: float | None) -> float:
    """The pause before retry number ``attempt + 1``: ``backoff * 2**attempt``, or the server's
    ``Retry-After`` when it gave one; never more than ``cap`` seconds."""
    wait = retry_after if retry_after is not None else backoff * 2.0 ** min(attempt, 64)
    return min(max(wait, 0.0), cap)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


class _Watch:
    """The deadline of one attempt: :meth:`fire` (from a timer) shuts the attempt's socket."""

    def __init__(self) -> None:
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shut()

    def fire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _WatchedHTTP(http.client.HTTPConnection):
    """A connection whose socket the deadline watch can shut (HTTPS below shares it)."""

    def __init__(self, *args: Any, watch: _Watch, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        super().connect()
        self._watch.attach(self.sock)


class _WatchedHTTPS(_WatchedHTTP, http.client.HTTPSConnection):
    """The same over TLS: ``connect`` runs HTTPSConnection's (wrapping the socket) first."""


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: _Watch):
        super().__init__()
        self.watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTP, req, watch=self.watch)  # type: ignore[arg-type]


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: _Watch):
        super().__init__()
        self.watch = watch

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            _WatchedHTTPS,  # type: ignore[arg-type]
            req,
            context=self._context,  # type: ignore[attr-defined]
            watch=self.watch,
        )


class DeadlineExceeded(TimeoutError):
    """An attempt that did not complete within its deadline."""


class ReplyTooLarge(ValueError):
    """A reply longer than the transport's ``max_bytes``."""


def _open_and_read(
    target: str | urllib.request.Request, timeout: float, deadline: float, max_bytes: int
) -> bytes:
    """Open ``target`` (no redirects) and read its whole body, within ``deadline`` seconds in
    all and ``max_bytes`` bytes.

    Raises:
        DeadlineExceeded: the deadline passed (while connecting, or reading headers or body).
        ReplyTooLarge: the body (or its announced length) exceeds ``max_bytes``.
        urllib.error.HTTPError, OSError, HTTPException: as urllib raises them.
    """
    watch = _Watch()
    opener = urllib.request.build_opener(
        _NoRedirect, _WatchedHTTPHandler(watch), _WatchedHTTPSHandler(watch)
    )
    timer = threading.Timer(deadline, watch.fire)
    timer.daemon = True
    timer.start()
    try:
        with opener.open(target, timeout=min(timeout, deadline)) as response:
            length = response.headers.get("Content-Length")
            if length and length.strip().isdigit() and int(length) > max_bytes:
                raise ReplyTooLarge(f"the reply announces {int(length)} bytes")
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise ReplyTooLarge(f"the reply passed {max_bytes} bytes")
                chunks.append(chunk)
        if watch.expired:
            raise DeadlineExceeded
        return b"".join(chunks)
    except ReplyTooLarge:
        raise
    except (OSError, HTTPException, ValueError):
        if watch.expired:
            raise DeadlineExceeded from None
        raise
    finally:
        timer.cancel()


class Transport:
    """JSON POSTs to one base URL with the key of one environment variable.

    Args:
        base_url: checked base URL.
        key_env: name of the environment variable with the key (read at every request).
        timeout: seconds any one connect or read may wait.
        retries: extra attempts after a timeout, a connection error, 429 or 5xx.
        backoff: first pause in seconds, doubled each retry.
        max_wait: cap on any pause, ``Retry-After`` included.
        deadline: most seconds one attempt may take in all (connect, headers, body).
        max_bytes: longest reply body read; a longer one fails the request (not retried).
    """

    def __init__(
        self,
        base_url: str,
        key_env: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        max_wait: float,
        deadline: float = 300.0,
        max_bytes: int = 64 << 20,
    ):
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.base_url = base_url
        self.key_env = key_env
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.requests = 0  # attempts made, retries included
        self.waits: list[float] = []  # pauses taken between attempts, in seconds
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, key_env={self.key_env!r})"

    def redact(self, text: str) -> str:
        """``text`` with the key (if set) replaced by ``[redacted]``, also where it appears
        escaped: as Python quotes it (``repr`` of str or bytes), JSON-escaped or URL-quoted."""
        key = os.environ.get(self.key_env, "").strip()
        if not key:
            return text
        forms = {
            key,
            repr(key)[1:-1],
            repr(key.encode("utf-8", "backslashreplace"))[2:-1],
            json.dumps(key)[1:-1],
            urllib.parse.quote(key, safe=""),
        }
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, REDACTED)
        return text

    def error(self, message: str) -> HttpModelError:
        """An :class:`HttpModelError` with the key redacted from ``message``."""
        return HttpModelError(self.redact(message))

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.key_env, "").strip()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` as JSON to ``{base_url}/{path}``; the reply's JSON object.

        Raises:
            Unsupported: the endpoint does not exist (HTTP 404).
            HttpModelError: a status that is not retried, retries exhausted, a reply that is
                not a JSON object.
        """
        url = f"{self.base_url}/{path}"
        data = json.dumps(body).encode()
        last = ""
        for attempt in range(self.retries + 1):
            with self._lock:
                self.requests += 1
            retry_after: float | None = None
            try:
                request = urllib.request.Request(url, data=data, headers=self._headers())
                raw = _open_and_read(request, self.timeout, self.deadline, self.max_bytes)
                return self._parse(url, raw)
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {_detail(exc)}"
                if exc.code == 404:
                    raise Unsupported(self.redact(f"{url} not found (HTTP 404)")) from None
                if 300 <= exc.code < 400:
                    raise self.error(
                        f"POST {url} answered HTTP {exc.code} (a redirect); redirects are not "
                        "followed, so the key is never sent elsewhere: use the final URL"
                    ) from None
                if exc.code not in RETRY_STATUS:
                    raise self.error(f"POST {url} failed: {last}") from None
                retry_after = retry_after_seconds(exc.headers.get("Retry-After"))
            except DeadlineExceeded:
                last = f"no complete reply within the deadline of {self.deadline:g} s"
            except ReplyTooLarge as exc:
                raise self.error(f"POST {url}: {self._too_large(exc)}") from None
            except (TimeoutError, urllib.error.URLError, HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}"
            except ValueError as exc:  # e.g. http.client: "Invalid header value b'Bearer ...'"
                raise self.error(
                    f"POST {url}: the request could not be sent ({exc}); check the key in "
                    f"${self.key_env}"
                ) from None
            if attempt < self.retries:
                wait = retry_wait(attempt, self.backoff, self.max_wait, retry_after)
                self.waits.append(wait)
                time.sleep(wait)
        raise self.error(f"POST {url} failed after {self.retries + 1} attempts: {last}")

    def _too_large(self, exc: ReplyTooLarge) -> str:
        return (
            f"{exc}, over the limit of {self.max_bytes} bytes (--model-arg max_reply_mb): "
            "the read was stopped"
        )

    def _parse(self, url: str, raw: bytes) -> dict[str, Any]:
        try:
            reply = json.loads(raw)
        except ValueError:
            snippet = raw[:120].decode("utf-8", "replace")
            raise self.error(f"POST {url}: the reply is not JSON: {snippet!r}") from None
        if not isinstance(reply, dict):
            raise self.error(
                f"POST {url}: the reply is a JSON {type(reply).__name__}, expected an object"
            )
        return reply

    def fetch(self, url: str) -> bytes:
        """GET an image URL from a reply (http/https only; the key is not sent there)."""
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise self.error(f"images reply data[0].url is not an http(s) URL: {url[:80]!r}")
        try:
            return _open_and_read(url, self.timeout, self.deadline, self.max_bytes)
        except urllib.error.HTTPError as exc:
            raise self.error(f"GET {url[:200]} failed: HTTP {exc.code}") from None
        except DeadlineExceeded:
            raise self.error(
                f"GET {url[:200]} failed: no complete reply within the deadline of "
                f"{self.deadline:g} s"
            ) from None
        except ReplyTooLarge as exc:
            raise self.error(f"GET {url[:200]}: {self._too_large(exc)}") from None
        except (TimeoutError, urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            raise self.error(f"GET {url[:200]} failed: {type(exc).__name__}: {exc}") from None


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read()[:300].decode("utf-8", "replace")
    except (OSError, HTTPException, ValueError):
        return "(no body)"
