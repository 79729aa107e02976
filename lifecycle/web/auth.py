"""The ops page's login parts that are not the users file: the session secret, login throttling, safe redirects."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

#: A client gets this many wrong passwords per user name within the window, then waits for the window to pass.
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 15 * 60


def session_secret(folder: Path) -> str:
    """The key that signs session cookies: made once per home, kept 0600 in ``state/serve/session_secret``.

    Keeping it across restarts keeps people logged in; deleting the file logs everyone out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / "session_secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        secret = secrets.token_urlsafe(48)
        out.write(secret + "\n")
    return secret


class LoginThrottle:
    """Counts wrong passwords per (client, user name) so a password cannot be guessed at full speed.

    Keyed on the client too, so someone elsewhere cannot lock a colleague out by failing on purpose.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window_seconds: float = FAILURE_WINDOW_SECONDS) -> None:
        self.max_failures, self.window = max_failures, window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str, user: str) -> bool:
        with self._lock:
            return len(self._recent((client, user.lower()), time.monotonic())) >= self.max_failures

    def failed(self, client: str, user: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent((client, user.lower()), now).append(now)

    def succeeded(self, client: str, user: str) -> None:
        with self._lock:
            self._failures.pop((client, user.lower()), None)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never ``//host`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
