"""The event log of a home's Dagster instance: Dagster's SQLite storage, with one open connection per database.

Dagster's ``SqliteEventLogStorage`` creates an engine, connects, commits (with SQLite's default rollback journal,
several ``fsync`` calls) and disposes the engine for every event it stores: about 20 ms an event, so 10 of the
seconds of a 2,000-customer night went into writing its 572 events. This storage keeps one engine, holding one
connection, per database file (the run's shard and the cross-run index; a few at most, the oldest closed first)
and opens each file in write-ahead-log mode with ``synchronous = NORMAL``: a commit is a write to the log, and a
process killed at any instruction leaves every committed event in place (only a power cut can lose the last
ones; the night's truth is the home's files and the published warehouse, not its event log).

The files, their tables and the queries are Dagster's own, so ``dagster dev`` on the home reads them as usual.
``lifecycle.pipelines.night`` names it in a home's ``dagster/dagster.yaml`` (``EVENT_LOG``), unless the home names
its own storage.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

#: database files kept open at once: tonight's run shard and the index, with room for a UI reading another run
OPEN_FILES = 4


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma journal_mode = wal")
    cursor.execute("pragma synchronous = normal")
    cursor.close()


class NightEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that keeps its connections open, in write-ahead-log mode."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> NightEventLogStorage:
        """``base_dir`` relative to ``$DAGSTER_HOME`` (a home can move); Dagster's own default is ``history/runs``."""
        base_dir = Path(config_value["base_dir"])
        if not base_dir.is_absolute():
            base_dir = Path(os.environ.get("DAGSTER_HOME", ".")) / base_dir
        return cls(str(base_dir), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            # one connection, shared by the threads that write events (always under self._db_lock)
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=StaticPool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            event.listen(engine, "connect", _pragmas)
        self._engines[shard] = engine  # the most recently used last
        while len(self._engines) > OPEN_FILES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()
        super().dispose()
