"""Deliver the nightly communications outbox to a messaging platform's webhook (optional).

Each message is POSTed as JSON with ``Idempotency-Key: <message_id>``, so sending the same message
twice is harmless: the platform keeps one, and answers 409 to a key it already has (counted as
delivered). Transient failures (408, 425, 429, 5xx, connection errors, timeouts) are retried with
backoff; any other answer is a permanent failure. A failure never raises: :func:`deliver` returns
one :class:`Delivery` per message and the caller records them; ids recorded as delivered are passed
back as ``already_delivered`` on a rerun, which then sends nothing twice.

Redirects are not followed (urllib would turn a redirected POST into a GET without a body): a 3xx
is a permanent failure, like an unexpected 4xx.
"""

from __future__ import annotations

import http.client
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass

RETRYABLE_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_SECONDS = 60.0
_ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Delivery:
    """The outcome of one message in one call of :func:`deliver`."""

    message_id: str
    status: str  # 'delivered' or 'failed'
    attempts: int  # HTTP attempts made for this message in this call
    http_status: int | None  # last HTTP status seen (None for a connection error/timeout)
    error: str | None  # last error text for failures (short, one line), None when delivered


@dataclass(frozen=True)
class _Attempt:
    http_status: int | None
    error: str | None  # None when delivered
    retryable: bool
    retry_after: float | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        return None  # the 3xx then surfaces as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def deliver(
    messages: Iterable[Mapping],
    url: str,
    *,
    max_attempts: int = 4,
    backoff_seconds: Sequence[float] = (1, 4, 15),
    timeout_seconds: float = 10.0,
    already_delivered: Container[str] = frozenset(),
    sleep: Callable[[float], object] = time.sleep,
) -> list[Delivery]:
    """POST each message not in ``already_delivered`` to ``url``, in order; one result per message sent.

    Attempt k+1 waits ``backoff_seconds[min(k-1, len-1)]``; a 429/503 with a numeric ``Retry-After``
    waits the larger of that and the backoff, the ``Retry-After`` capped at 60 s. A malformed batch
    (a ``message_id`` missing or not printable ASCII, a message not JSON-serialisable) raises ValueError before
    anything is sent.
    """
    _check_url(url)
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    if not backoff_seconds or any(s < 0 for s in backoff_seconds):
        raise ValueError(f"backoff_seconds must be non-empty and non-negative, got {backoff_seconds!r}")

    batch = [_encode(message) for message in messages]
    results: list[Delivery] = []
    for message_id, body in batch:
        if message_id in already_delivered:
            continue
        attempts = 0
        while True:
            attempts += 1
            outcome = _post(url, message_id, body, timeout_seconds)
            if outcome.error is None or not outcome.retryable or attempts >= max_attempts:
                break
            wait = float(backoff_seconds[min(attempts - 1, len(backoff_seconds) - 1)])
            if outcome.retry_after is not None:
                wait = max(wait, min(outcome.retry_after, MAX_RETRY_AFTER_SECONDS))
            sleep(wait)
        status = "delivered" if outcome.error is None else "failed"
        results.append(Delivery(message_id, status, attempts, outcome.http_status, outcome.error))
    return results


def _check_url(url: str) -> None:
    if not url:
        raise ValueError("webhook url is empty")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook url must be an http or https url, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"webhook url has an invalid port: {url!r}") from exc
    if not (url.isascii() and url.isprintable()) or " " in url:
        raise ValueError(f"webhook url must be printable ASCII without spaces, got {url!r}")


def _encode(message: Mapping) -> tuple[str, bytes]:
    message_id = message.get("message_id")
    # it travels as an HTTP header, so printable ASCII only (http.client would raise mid-batch otherwise)
    if not isinstance(message_id, str) or not message_id or not (message_id.isascii() and message_id.isprintable()):
        raise ValueError(f"every message needs a non-empty printable ASCII message_id, got {message_id!r}")
    try:
        text = json.dumps(message, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"message {message_id} is not JSON-serialisable: {exc}") from exc
    return message_id, text.encode("utf-8")


def _post(url: str, message_id: str, body: bytes, timeout_seconds: float) -> _Attempt:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": message_id},
    )
    try:
        with _OPENER.open(request, timeout=timeout_seconds) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:  # any non-2xx answer
        return _http_failure(exc)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # no answer: refused, reset, timeout
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        text = f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
        return _Attempt(None, _one_line(text or "no answer"), retryable=True)
    if 200 <= status < 300:
        return _Attempt(status, None, retryable=False)
    return _Attempt(status, f"HTTP {status}", retryable=status in RETRYABLE_STATUSES)


def _http_failure(exc: urllib.error.HTTPError) -> _Attempt:
    status = exc.code
    if status == 409:  # the platform already has this idempotency key
        return _Attempt(status, None, retryable=False)
    try:
        detail = exc.read(_ERROR_BODY_CHARS * 4).decode("utf-8", "replace")
    except Exception:  # the body of an error answer is a courtesy; never let it hide the status
        detail = ""
    finally:
        exc.close()
    error = _one_line(f"HTTP {status} {exc.reason}" + (f": {detail}" if detail.strip() else ""))
    retry_after = _retry_after(exc.headers.get("Retry-After")) if status in RETRY_AFTER_STATUSES else None
    return _Attempt(status, error, retryable=status in RETRYABLE_STATUSES, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a numeric Retry-After header; None for an HTTP date, garbage or nothing."""
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_BODY_CHARS else text[: _ERROR_BODY_CHARS - 1] + "…"
