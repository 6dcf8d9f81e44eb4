"""PostgreSQL for RAG_DATABASE_URL: one connection pool per database and process, and versioned migrations.

Every part that keeps data in PostgreSQL declares a :class:`Schema`: a component name ("index" for the
index store; the shared feedback, log and staff sessions add their own) and its migrations, numbered
1, 2, 3 ... and never changed once released (a change is a new migration). Before the first connection is
handed out for a component, :meth:`Database.ensure` applies the migrations the database lacks, each in one
transaction together with the row in ``rag_schema_migrations`` that records it, under an advisory lock, so
replicas that start together apply each one exactly once. A database whose component is at a newer version
than this program knows is refused: an older program must not write to a newer schema.

Usage::

    db = database(settings.database_url)          # shared per URL; nothing connects yet
    with db.connection(MY_SCHEMA) as conn:        # migrated on first use; commit on success, rollback on error
        conn.execute("INSERT INTO ...", (...))
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rag.errors import ConfigError, RagError

log = logging.getLogger(__name__)

MIGRATIONS_TABLE = "rag_schema_migrations"
_MIGRATION_LOCK = 0x72616721  # pg_advisory_lock key held while migrations run ("rag!")
_COMPONENT = r"[a-z][a-z0-9_]{0,30}"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str  # one or more statements without parameters; run in one transaction


@dataclass(frozen=True)
class Schema:
    """A component's migrations, versions 1..n in order."""

    component: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        if not re.fullmatch(_COMPONENT, self.component):
            raise ValueError(f"schema component must match {_COMPONENT}, got {self.component!r}")
        versions = [m.version for m in self.migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"{self.component}: migrations must be numbered 1..n in order, got {versions}")

    @property
    def version(self) -> int:
        return len(self.migrations)


class DatabaseUnavailableError(RagError):
    """PostgreSQL cannot be reached, or refused what was asked of it."""


class Database:
    """A lazily opened connection pool on one PostgreSQL database. Construction only checks the URL."""

    def __init__(self, url: str, *, max_connections: int = 8, connect_timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):  # no host: the local socket, as libpq does
            shown = display_url(url) if "://" in url else "(not a URL)"
            raise ConfigError(
                f"RAG_DATABASE_URL must be a PostgreSQL URL such as "
                f"postgresql://rag:secret@db.example.se:5432/rag, got {shown}"
            )
        if max_connections < 2:
            raise ConfigError(f"max_connections must be at least 2, got {max_connections}")
        self.url = url
        self.display_url = display_url(url)
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self._pool: Any = None
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}  # component -> version ensured in this process

    # --- connections ------------------------------------------------------------------------------------
    def connect(self, *, autocommit: bool = False) -> Any:
        """A connection of its own, outside the pool (close it): for a session-level advisory lock, or a
        long COPY that should not hold a pooled connection."""
        import psycopg

        try:
            return psycopg.connect(
                self.url,
                autocommit=autocommit,
                connect_timeout=max(1, round(self.connect_timeout_s)),
                application_name="helsingborg-assistant",
            )
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc) from exc

    @contextmanager
    def connection(self, schema: Schema | None = None) -> Iterator[Any]:
        """A pooled connection in a transaction: committed when the block ends, rolled back if it raises.
        With ``schema``, that component's migrations have run first (once per process)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        if schema is not None:
            self.ensure(schema)
        pool = self._open_pool()
        try:
            with pool.connection(timeout=self.connect_timeout_s) as conn:
                yield conn
        except PoolTimeout as exc:
            raise self._unreachable(exc) from exc
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc) from exc

    def _open_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.max_connections,
                    open=False,
                    check=ConnectionPool.check_connection,  # a server restart leaves dead connections
                    kwargs={
                        "connect_timeout": max(1, round(self.connect_timeout_s)),
                        "application_name": "helsingborg-assistant",
                    },
                    name="rag",
                )
                self._pool.open(wait=False)
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _unreachable(self, exc: BaseException) -> DatabaseUnavailableError:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return DatabaseUnavailableError(
            f"Cannot use PostgreSQL at {self.display_url} ({first}). Check RAG_DATABASE_URL and that the "
            "server runs and lets this user in."
        )

    # --- migrations -------------------------------------------------------------------------------------
    def ensure(self, schema: Schema) -> int:
        """Bring the component's tables to the schema's version (once per process); returns that version."""
        with self._lock:
            if self._versions.get(schema.component) == schema.version:
                return schema.version
        applied = self.migrate(schema)
        with self._lock:
            self._versions[schema.component] = schema.version
        if applied:
            log.info("%s schema: applied migrations %s on %s", schema.component, applied, self.display_url)
        return schema.version

    def migrate(self, schema: Schema) -> list[int]:
        """Apply the component's missing migrations; returns the versions applied now (none: up to date)."""
        import psycopg

        conn = self.connect(autocommit=True)
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                    "component text NOT NULL, version integer NOT NULL, name text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
                )
                current = self.schema_version(schema.component, conn)
                if current > schema.version:
                    raise DatabaseUnavailableError(
                        f"The {schema.component} tables in {self.display_url} are at version {current}; this "
                        f"program knows up to {schema.version}. Run the newer program (or restore a backup)."
                    )
                applied = []
                for m in schema.migrations[current:]:
                    try:
                        with conn.transaction():
                            conn.execute(m.sql)
                            conn.execute(
                                f"INSERT INTO {MIGRATIONS_TABLE} (component, version, name) VALUES (%s, %s, %s)",
                                (schema.component, m.version, m.name),
                            )
                    except psycopg.Error as exc:
                        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                        raise DatabaseUnavailableError(
                            f"Migration {schema.component} {m.version} ({m.name}) failed on "
                            f"{self.display_url}: {first}. Nothing of it was applied."
                        ) from exc
                    applied.append(m.version)
                return applied
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        finally:
            conn.close()

    def schema_version(self, component: str, conn: Any = None) -> int:
        """The component's version in the database (0: none of its migrations applied)."""
        if conn is None:
            with self.connection() as own:
                return self.schema_version(component, own)
        exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()[0]
        if exists is None:
            return 0
        row = conn.execute(
            f"SELECT coalesce(max(version), 0) FROM {MIGRATIONS_TABLE} WHERE component = %s", (component,)
        ).fetchone()
        return int(row[0])


def display_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


def database(url: str) -> Database:
    """The process's one Database for url, so the index store and the shared state use one pool."""
    with _databases_lock:
        db = _databases.get(url)
        if db is None:
            db = _databases[url] = Database(url)
        return db
