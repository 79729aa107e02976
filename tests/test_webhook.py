"""Webhook delivery against a real local HTTP server that answers from a per-message script."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lifecycle.io.webhook import Delivery, deliver

NO_SLEEP = {"sleep": lambda seconds: None}


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that timed out and hung up is expected
            super().handle_error(request, client_address)


class Platform:
    """The fake messaging platform: records every request, answers from ``script``.

    ``script[message_id]`` is a list of answers, one per attempt (the last one repeats); an answer
    is a status, or (status, headers), or (status, headers, delay in seconds before answering).
    A message id with no script gets 200.
    """

    def __init__(self) -> None:
        self.script: dict[str, list] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/outbox"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw.decode("utf-8"))
                with platform.lock:
                    seen = sum(r["key"] == self.headers["Idempotency-Key"] for r in platform.requests)
                    platform.requests.append(
                        {
                            "path": self.path,
                            "key": self.headers["Idempotency-Key"],
                            "content_type": self.headers["Content-Type"],
                            "raw": raw,
                            "body": body,
                        }
                    )
                answers = platform.script.get(body["message_id"], [200])
                answer = answers[min(seen, len(answers) - 1)]
                status, headers, delay = (answer, {}, 0) if isinstance(answer, int) else (*answer, 0)[:3]
                time.sleep(delay)
                payload = json.dumps({"status": status}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def keys(self) -> list[str]:
        return [r["key"] for r in self.requests]


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("no_proxy", "*")  # a proxy in the environment must not intercept 127.0.0.1
    platform = Platform()
    thread = threading.Thread(target=platform.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        platform.server.shutdown()
        platform.server.server_close()
        thread.join(timeout=5)


def message(message_id: str) -> dict:
    return {
        "message_id": message_id,
        "channel": "email",
        "customer_id": "C-0042",
        "template": "renewal_reminder",
        "vars": {"name": "Zoë Ørsted", "amount_cents": 1999, "renews_on": "2025-03-01"},
    }


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BATCH_IDS = ["m-retry", "m-down", "m-bad", "m-dup", "m-ok"]


def test_mixed_batch_each_message_gets_its_outcome(platform: Platform) -> None:
    platform.script = {"m-retry": [503, 503, 200], "m-down": [500], "m-bad": [400], "m-dup": [409], "m-ok": [200]}
    messages = [message(i) for i in BATCH_IDS]

    results = deliver(messages, platform.url, max_attempts=3, **NO_SLEEP)

    by_id = {r.message_id: r for r in results}
    assert [r.message_id for r in results] == BATCH_IDS
    assert by_id["m-retry"] == Delivery("m-retry", "delivered", 3, 200, None)
    assert by_id["m-dup"] == Delivery("m-dup", "delivered", 1, 409, None)
    assert by_id["m-ok"] == Delivery("m-ok", "delivered", 1, 200, None)
    down, bad = by_id["m-down"], by_id["m-bad"]
    assert (down.status, down.attempts, down.http_status) == ("failed", 3, 500)
    assert (bad.status, bad.attempts, bad.http_status) == ("failed", 1, 400)  # not retried
    for failed in (down, bad):
        assert failed.error.startswith(f"HTTP {failed.http_status}") and "\n" not in failed.error

    # 3 (retry) + 3 (down) + 1 (bad) + 1 (dup) + 1 (ok), in the order given
    assert len(platform.requests) == 9
    assert platform.keys() == ["m-retry"] * 3 + ["m-down"] * 3 + ["m-bad", "m-dup", "m-ok"]
    originals = {m["message_id"]: m for m in messages}
    for request in platform.requests:
        assert request["path"] == "/hooks/outbox"
        assert request["content_type"] == "application/json"
        assert request["key"] == request["body"]["message_id"]
        assert request["body"] == originals[request["key"]]
        assert request["raw"] == json.dumps(originals[request["key"]], sort_keys=True, separators=(",", ":")).encode()


def test_rerun_skips_already_delivered(platform: Platform) -> None:
    platform.script = {"m-down": [500], "m-bad": [400]}
    delivered_last_night = {"m-retry", "m-dup", "m-ok"}

    results = deliver(
        [message(i) for i in BATCH_IDS],
        platform.url,
        max_attempts=3,
        already_delivered=delivered_last_night,
        **NO_SLEEP,
    )

    assert [(r.message_id, r.status) for r in results] == [("m-down", "failed"), ("m-bad", "failed")]
    assert platform.keys() == ["m-down"] * 3 + ["m-bad"]


def test_backoff_waits_follow_the_sequence_and_retry_after(platform: Platform) -> None:
    waits: list[float] = []
    platform.script = {
        "m-flaky": [500, 502, 504, 200],
        "m-slow": [(503, {"Retry-After": "2"}), 200],
        "m-short": [(429, {"Retry-After": "1"}), 200],
        "m-greedy": [(503, {"Retry-After": "3600"}), 200],
        "m-date": [(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), 200],
    }

    flaky = deliver([message("m-flaky")], platform.url, backoff_seconds=(1, 4, 15), sleep=waits.append)
    assert flaky == [Delivery("m-flaky", "delivered", 4, 200, None)]
    assert waits == [1, 4, 15]

    waits.clear()
    deliver([message("m-slow")], platform.url, backoff_seconds=(1,), sleep=waits.append)
    assert waits == [2]  # Retry-After longer than the backoff wins

    waits.clear()
    deliver([message("m-short")], platform.url, backoff_seconds=(5,), sleep=waits.append)
    assert waits == [5]  # the backoff longer than Retry-After wins

    waits.clear()
    deliver([message(i) for i in ("m-greedy", "m-date")], platform.url, backoff_seconds=(1,), sleep=waits.append)
    assert waits == [60, 1]  # Retry-After capped at 60 s; an HTTP-date Retry-After falls back to the backoff


def test_backoff_repeats_its_last_value_and_no_wait_after_the_last_attempt(platform: Platform) -> None:
    waits: list[float] = []
    platform.script = {"m-down": [503]}

    (result,) = deliver([message("m-down")], platform.url, max_attempts=5, backoff_seconds=(1, 2), sleep=waits.append)

    assert (result.status, result.attempts, result.http_status) == ("failed", 5, 503)
    assert waits == [1, 2, 2, 2]


def test_connection_refused_fails_after_max_attempts() -> None:
    url = f"http://127.0.0.1:{unused_port()}/hooks/outbox"

    (result,) = deliver([message("m-1")], url, max_attempts=3, timeout_seconds=0.5, **NO_SLEEP)

    assert (result.message_id, result.status, result.attempts, result.http_status) == ("m-1", "failed", 3, None)
    assert result.error and "\n" not in result.error
    assert "refused" in result.error.lower()


def test_timeout_is_retried_with_the_same_key(platform: Platform) -> None:
    platform.script = {"m-1": [(200, {}, 0.5), 200]}  # the first answer comes too late

    (result,) = deliver([message("m-1")], platform.url, timeout_seconds=0.1, **NO_SLEEP)

    assert result == Delivery("m-1", "delivered", 2, 200, None)
    assert platform.keys() == ["m-1", "m-1"]  # the platform saw it twice; the key lets it keep one


def test_redirect_is_not_followed(platform: Platform) -> None:
    platform.script = {"m-1": [(302, {"Location": "/elsewhere"})]}

    (result,) = deliver([message("m-1")], platform.url, **NO_SLEEP)

    assert (result.status, result.attempts, result.http_status) == ("failed", 1, 302)
    assert [r["path"] for r in platform.requests] == ["/hooks/outbox"]


def test_malformed_batch_raises_before_anything_is_sent(platform: Platform) -> None:
    with pytest.raises(ValueError, match="message_id"):
        deliver([message("m-1"), {"channel": "email"}], platform.url, **NO_SLEEP)
    with pytest.raises(ValueError, match="message_id"):
        deliver([message("m-1"), message("m-2\nX-Injected: 1")], platform.url, **NO_SLEEP)
    with pytest.raises(ValueError, match="JSON"):
        deliver([message("m-1"), {"message_id": "m-2", "at": object()}], platform.url, **NO_SLEEP)
    assert platform.requests == []


@pytest.mark.parametrize("url", ["", "ftp://x", "hooks.example.com/outbox", "http://", "http://host:port/x"])
def test_bad_url_raises(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        deliver([message("m-1")], url, **NO_SLEEP)
    if url:
        assert url in str(raised.value)
