"""The web process's SQLite file: one connection helper and versioned schema migrations, run at start.

Feedback, the conversation log, staff accounts, staff sessions, sign-in throttling and the audit trail share one file
(``data/web.sqlite3``). Each migration runs once, in order, inside a transaction, and is recorded in
``schema_migrations``; a file written by a newer version of the app is refused instead of being half understood.
When RAG_DATABASE_URL is set, the same state lives in PostgreSQL instead, shared by every app replica:
:data:`WEB_SCHEMA` is its migration list (component "web", run at start by rag.db.postgres), and
:func:`open_web_database` is the one place that picks the database. The repositories over it (feedback and the log,
staff, the busy limit) each have one implementation per database and one factory that hides the dialect.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.db.postgres import Database, Schema, database
from rag.db.postgres import Migration as PgMigration
from rag.errors import ConfigError

log = logging.getLogger(__name__)

DB_NAME = "web.sqlite3"


def web_db_path(settings: Settings) -> Path:
    """Where feedback, the log, staff accounts and the audit trail live (RAG_DATA_DIR/web.sqlite3)."""
    return settings.data_dir / DB_NAME


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """UTC timestamps as stored: ISO 8601 to the second, so text order is time order."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    # 1 is the schema the app created before migrations existed ("IF NOT EXISTS": such a file is adopted as is).
    Migration(
        1,
        "feedback and conversation log",
        """
        CREATE TABLE IF NOT EXISTS conversations (
            id TEXT PRIMARY KEY,
            created TEXT NOT NULL,
            channel TEXT NOT NULL,
            session TEXT,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            refused INTEGER NOT NULL,
            refusal_reason TEXT,
            citations TEXT NOT NULL,
            details TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS conversations_created ON conversations(created);
        CREATE TABLE IF NOT EXISTS feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            answer_id TEXT,
            rating INTEGER NOT NULL,
            comment TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            citations TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS feedback_created ON feedback(created);
        """,
    ),
    Migration(
        2,
        "staff accounts, sessions, sign-in throttling, audit trail",
        """
        CREATE TABLE staff_accounts (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('granskare', 'admin')),
            password_hash TEXT NOT NULL,
            created TEXT NOT NULL,
            password_changed TEXT NOT NULL
        );
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY,
            name TEXT NOT NULL REFERENCES staff_accounts(name) ON DELETE CASCADE,
            created TEXT NOT NULL,
            expires TEXT NOT NULL
        );
        CREATE INDEX staff_sessions_name ON staff_sessions(name);
        CREATE INDEX staff_sessions_expires ON staff_sessions(expires);
        CREATE TABLE sign_in_failures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            client TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX sign_in_failures_client ON sign_in_failures(client, at);
        CREATE INDEX sign_in_failures_at ON sign_in_failures(at);
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL,
            outcome TEXT NOT NULL
        );
        CREATE INDEX audit_log_created ON audit_log(created);
        CREATE INDEX audit_log_actor ON audit_log(actor, created);
        """,
    ),
)


class SqliteDatabase:
    """One SQLite file shared by the web stores: one connection per thread, kept open, migrated once.

    The file is in WAL mode, so the app's threads, a restarted app and the `rag` command line can read and write it at
    the same time (a writer waits up to 10 s for another). A connection is kept per thread because opening one and
    closing the last one costs ~16 ms (the WAL is checkpointed on close), and the staff console looks up its session
    on every request.
    """

    def __init__(self, path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = Path(path)
        self.migrations = tuple(migrations)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._migrated = False

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (the next call opens a new one)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            self._local.db = None
            db.close()

    def migrate(self) -> list[int]:
        """Apply the migrations this file lacks, in order; returns the versions applied (idempotent)."""
        with self._lock:
            applied = self._migrate_locked()
            self._migrated = True
            return applied

    def _migrate_locked(self) -> list[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode=WAL")  # a property of the file: set once, kept
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
            )
            db.commit()
            have = {int(r[0]) for r in db.execute("SELECT version FROM schema_migrations")}
            known = {m.version for m in self.migrations}
            newer = sorted(have - known)
            if newer:
                raise ConfigError(
                    f"{self.path} has schema version {newer[-1]}, newer than this app knows "
                    f"({max(known)}): run the app version that wrote it, or restore a backup"
                )
            done = []
            for m in sorted(self.migrations, key=lambda m: m.version):
                if m.version in have:
                    continue
                # executescript commits first; BEGIN ... COMMIT in the script keeps each migration atomic
                db.executescript(
                    f"BEGIN; {m.sql}; INSERT INTO schema_migrations VALUES "
                    f"({m.version}, '{m.name.replace(chr(39), '')}', '{iso(utc_now())}'); COMMIT;"
                )
                log.info("database %s: migrated to version %d (%s)", self.path.name, m.version, m.name)
                done.append(m.version)
            return done
        except sqlite3.Error:
            if db.in_transaction:
                db.rollback()
            raise
        finally:
            db.close()

    def version(self) -> int:
        rows = self.run("SELECT max(version) AS v FROM schema_migrations")
        return int(rows[0]["v"] or 0)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one transaction (committed on success, rolled back on error)."""
        if not self._migrated:
            self.migrate()
        db = self._connection()
        with db:
            yield db

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.transaction() as db:
            return db.execute(sql, params).fetchall()


# --- PostgreSQL (RAG_DATABASE_URL): the same state, shared by every replica ------------------------------------------

WEB_SCHEMA = Schema(
    "web",
    (
        PgMigration(
            1,
            "feedback, conversation log, staff accounts, sessions, sign-in throttling, audit trail, generation slots",
            """
            CREATE TABLE rag_conversations (
                id text PRIMARY KEY,
                seq bigint GENERATED ALWAYS AS IDENTITY,
                created timestamptz NOT NULL,
                channel text NOT NULL,
                session text,
                question text NOT NULL,
                answer text NOT NULL,
                refused boolean NOT NULL,
                refusal_reason text,
                citations jsonb NOT NULL,
                details jsonb NOT NULL
            );
            CREATE INDEX rag_conversations_created ON rag_conversations (created, seq);
            CREATE TABLE rag_feedback (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                created timestamptz NOT NULL,
                answer_id text,
                rating smallint NOT NULL CHECK (rating IN (-1, 1)),
                comment text NOT NULL,
                question text NOT NULL,
                answer text NOT NULL,
                citations jsonb NOT NULL
            );
            CREATE INDEX rag_feedback_created ON rag_feedback (created);
            CREATE TABLE rag_staff_accounts (
                name text PRIMARY KEY,
                role text NOT NULL CHECK (role IN ('granskare', 'admin')),
                password_hash text NOT NULL,
                created timestamptz NOT NULL,
                password_changed timestamptz NOT NULL
            );
            CREATE TABLE rag_staff_sessions (
                token_hash text PRIMARY KEY,
                name text NOT NULL REFERENCES rag_staff_accounts (name) ON DELETE CASCADE,
                created timestamptz NOT NULL,
                expires timestamptz NOT NULL
            );
            CREATE INDEX rag_staff_sessions_name ON rag_staff_sessions (name);
            CREATE INDEX rag_staff_sessions_expires ON rag_staff_sessions (expires);
            CREATE TABLE rag_sign_in_failures (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                client text NOT NULL,
                at timestamptz NOT NULL
            );
            CREATE INDEX rag_sign_in_failures_client ON rag_sign_in_failures (client, at);
            CREATE INDEX rag_sign_in_failures_at ON rag_sign_in_failures (at);
            CREATE TABLE rag_audit_log (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                created timestamptz NOT NULL,
                actor text NOT NULL,
                role text NOT NULL,
                action text NOT NULL,
                target text NOT NULL,
                detail text NOT NULL,
                outcome text NOT NULL
            );
            CREATE INDEX rag_audit_log_created ON rag_audit_log (created);
            CREATE INDEX rag_audit_log_actor ON rag_audit_log (actor, created);
            CREATE TABLE rag_generation_slots (
                pool text NOT NULL,
                slot integer NOT NULL,
                holder text,
                acquired timestamptz,
                lease_until timestamptz,
                PRIMARY KEY (pool, slot)
            );
            """,
        ),
    ),
)

WebDatabase = SqliteDatabase | Database


def open_web_database(settings: Settings) -> WebDatabase:
    """Where the web state lives, migrated: PostgreSQL when RAG_DATABASE_URL is set (shared by every replica),
    else the SQLite file in RAG_DATA_DIR. The one place that chooses; the repositories' factories follow it."""
    db: WebDatabase = (
        database(settings.database_url) if settings.database_url else SqliteDatabase(web_db_path(settings))
    )
    migrate_web_database(db)
    return db


def migrate_web_database(db: WebDatabase) -> None:
    """Apply the web state's pending migrations (idempotent; once per process for PostgreSQL)."""
    if isinstance(db, SqliteDatabase):
        db.migrate()
    else:
        db.ensure(WEB_SCHEMA)


def describe_web_database(db: WebDatabase) -> str:
    """Where the state lives, for the log (never with a password)."""
    return str(db.path) if isinstance(db, SqliteDatabase) else db.display_url


def pg_iso(value: dt.datetime | None) -> str:
    """A timestamptz read from PostgreSQL as the repositories return times: UTC ISO to the second."""
    return iso(value) if value is not None else ""
