"""The ops page's append-only record of who logged in and who downloaded what: ``state/serve/audit.jsonl``.

One JSON object per line (``at`` in UTC, ``event``, ``user``, ``client`` and the event's fields), so it
can be read with ``jq`` or DuckDB's ``read_json``. A download is recorded before its first byte is sent:
if the record cannot be written the download fails, so no file leaves unrecorded.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

#: Values typed by a visitor (a user name on a failed login, a refused path) are cut to this length.
MAX_FIELD = 300


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # uvicorn runs the page's handlers on several threads

    def record(self, event: str, **fields: object) -> None:
        entry = {"at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), "event": event}
        entry.update({k: v[:MAX_FIELD] if isinstance(v, str) else v for k, v in fields.items()})
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            # O_APPEND: every write lands at the end, whatever else appends; the file is never rewritten.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]
