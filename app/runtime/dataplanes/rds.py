"""An RDS database's SQL, run by SQLite in-process.

moto creates DB instances (engine, class, endpoint, status) but runs no database engine.
:class:`SqlDatabase` is the database behind one instance's endpoint: SQLite in memory, with
statement counters and a span per statement (service ``rds``). It is labelled as such.

Differences from AWS: SQLite's SQL dialect, not PostgreSQL's or MySQL's; no users,
connections, storage, Multi-AZ standby or backups; the endpoint is a name, not a socket.
"""
from __future__ import annotations

import sqlite3
import threading
from typing import Any, Sequence

from app.runtime.trace import Trace

LABEL = "SQL run by SQLite in-process (moto has no database engine)"


class SqlDatabase:
    def __init__(self, endpoint: str, engine: str, *, trace: Trace | None = None) -> None:
        self.endpoint = endpoint
        self.engine = engine
        self.trace = trace if trace is not None else Trace()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self.counters = {"statements": 0, "rows_written": 0}
        self.label = LABEL

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        verb = sql.split(None, 1)[0].upper()
        with self.trace.span("rds", verb, self.endpoint, detail={"sql": sql[:120]}), self._lock:
            cur = self._db.execute(sql, tuple(params))
            rows = cur.fetchall()
            self._db.commit()
            self.counters["statements"] += 1
            if verb in ("INSERT", "UPDATE", "DELETE"):
                self.counters["rows_written"] += cur.rowcount
        return rows

    def close(self) -> None:
        self._db.close()
