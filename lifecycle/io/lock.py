"""One night at a time per home: ``state/night.lock``, held with ``flock`` for as long as a night runs.

Nights are stateful (each reads the export register and the last published night) and dbt wants one writer
of the build file, so a second ``nightly``, ``backfill`` or ``demo`` on a home where one runs must refuse at
once, saying which night runs and in which process. ``flock`` is released by the kernel when the holding
process dies, so a crashed night never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from lifecycle.settings import Settings


class NightRunning(Exception):
    """Another process runs a night on this home."""


_HELD: dict[str, tuple[int, int]] = {}  # home → (fd, depth): re-entrant within this process
_GUARD = threading.Lock()


def lock_path(settings: Settings):
    return settings.state / "night.lock"


def _describe(fd: int) -> str:
    holder: dict = {}
    # the holder records itself just after taking the lock: a refusal in between waits for the record (1 s at most)
    for _ in range(50):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            holder = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
        except (OSError, ValueError):
            holder = {}
        if "pid" in holder:
            break
        time.sleep(0.02)
    what = holder.get("what", "a night")
    return f"{what} is running on this home (PID {holder.get('pid', '?')}, since {holder.get('started', '?')})"


def _record(fd: int, what: str) -> None:
    record = {"what": what, "pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(record).encode("utf-8"))


@contextmanager
def night_lock(settings: Settings, what: str) -> Iterator[None]:
    """Hold the home's night lock while the block runs; raise NightRunning at once if another process has it.

    ``what`` names the work for whoever is refused ("night 2026-11-20", "backfill 2026-11-01..2026-11-20").
    """
    home = str(settings.home)
    with _GUARD:
        if home in _HELD:  # this process already holds it (a backfill running its nights)
            fd, depth = _HELD[home]
            _HELD[home] = (fd, depth + 1)
            _record(fd, what)  # the backfill's current night
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _GUARD:
                fd, depth = _HELD[home]
                _HELD[home] = (fd, depth - 1)
        return
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        message = _describe(fd)
        os.close(fd)
        raise NightRunning(f"{settings.home}: {message}; wait for it to finish or stop it") from None
    try:
        _record(fd, what)
        with _GUARD:
            _HELD[home] = (fd, 1)
        yield
    finally:
        with _GUARD:
            _HELD.pop(home, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def running_night(settings: Settings) -> str | None:
    """What runs on this home now ("night 2026-11-20 is running on this home (PID …)"), or None; takes no lock."""
    path = lock_path(settings)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
