"""SQLite persistence shared by the emulators (stdlib ``sqlite3``, never the app's database).

``SQLiteStore(path)`` gives each thread its own connection (the server is threaded), runs
writes one at a time behind a lock (SQLite has one writer anyway; queuing in Python avoids
``database is locked`` under load) and keeps the file in WAL mode so reads never wait.
Subclasses define ``SCHEMA`` (executed with ``executescript`` on open) and ``TABLES`` (emptied
by ``reset()``)::

    class MyStore(SQLiteStore):
        SCHEMA = "CREATE TABLE IF NOT EXISTS thing (id INTEGER PRIMARY KEY, name TEXT);"
        TABLES = ("thing",)

    store = MyStore(default_db_path("mything"))
    with store.write() as conn:
        conn.execute("INSERT INTO thing (name) VALUES (?)", ("a",))
    rows = store.read().execute("SELECT * FROM thing").fetchall()
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings


def sandbox_dir() -> Path:
    """``settings.DATA_DIR / "sandbox"``, created when missing."""
    directory = Path(settings.DATA_DIR) / "sandbox"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def default_db_path(name: str) -> Path:
    """Where emulator ``name`` keeps its state by default: ``DATA_DIR/sandbox/<name>.sqlite3``."""
    return sandbox_dir() / f"{name}.sqlite3"


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (the stdlib class cannot)."""


class SQLiteStore:
    SCHEMA: str = ""
    TABLES: tuple[str, ...] = ()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        # Weak: a connection belongs to its thread and is closed when the thread ends and its
        # thread-local storage is collected; keep-alive threads come and go with the clients'
        # connections, so strong references would leak one file handle per client connection.
        self._connections: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
        self._connections_lock = threading.Lock()
        if self.SCHEMA:
            # executescript commits on its own, so it runs outside write()'s transaction.
            with self._write_lock:
                self.read().executescript(self.SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves so a write is exactly one transaction.
        conn = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False, factory=_Connection
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # An emulator's state is disposable: no fsync at all (a commit costs ~1 ms less; WAL
        # checkpoints no longer wait for the disk). The file still survives a crash of this
        # process, only an OS crash or power loss could lose or corrupt recent writes.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA busy_timeout=30000")
        with self._connections_lock:
            self._connections.add(conn)
        return conn

    def read(self) -> sqlite3.Connection:
        """This thread's connection, for reads outside a write transaction."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        with self._write_lock:
            conn = self.read()
            if conn.in_transaction:  # re-entrant use inside an open write
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @property
    def write_lock(self) -> threading.RLock:
        """Held by ``write()`` for the whole transaction (re-entrant)."""
        return self._write_lock

    def reset(self) -> None:
        """Empty every table of the store (the schema stays)."""
        with self.write() as conn:
            for table in self.TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are class constants
            self.after_reset(conn)

    def after_reset(self, conn: sqlite3.Connection) -> None:
        """Hook: re-create what an empty store must still contain (e.g. standard properties)."""

    def close(self) -> None:
        with self._connections_lock:
            for conn in list(self._connections):
                with suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()
