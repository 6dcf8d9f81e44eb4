"""Storage for staff accounts, sessions, sign-in failures and the audit trail: the :class:`StaffRepository` seam.

The SQLite implementation keeps them in the web database file beside feedback (tables from migration 2 in
rag.web.database); :class:`rag.web.pgstaff.PgStaffRepository` keeps them in PostgreSQL (RAG_DATABASE_URL), shared by
every replica. :func:`make_staff_repository` is the one place that picks an implementation, for the web database
rag.web.database.open_web_database chose. Times are UTC ISO strings, as stored.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rag.web.database import SqliteDatabase, WebDatabase


class Role(StrEnum):
    GRANSKARE = "granskare"
    ADMIN = "admin"


@dataclass(frozen=True)
class StaffAccount:
    name: str
    role: Role
    created: str
    password_changed: str


@dataclass(frozen=True)
class StoredAccount:
    account: StaffAccount
    password_hash: str


@dataclass(frozen=True)
class AuditEntry:
    created: str
    actor: str
    role: str
    action: str
    target: str = ""
    detail: str = ""
    outcome: str = "ok"
    id: int = 0


@dataclass(frozen=True)
class StaffPurged:
    sessions: int
    sign_in_failures: int
    audit_entries: int


class StaffRepository(Protocol):
    """Storage for staff accounts, sessions, sign-in failures and the audit trail. Times are UTC ISO strings."""

    def create_account(self, account: StaffAccount, password_hash: str) -> bool:
        """False when an account of that name exists."""
        ...

    def account(self, name: str) -> StoredAccount | None: ...

    def accounts(self) -> list[StaffAccount]: ...

    def set_password_hash(self, name: str, password_hash: str, changed: str) -> bool: ...

    def set_role(self, name: str, role: Role) -> bool: ...

    def delete_account(self, name: str) -> bool:
        """Removes the account and its sessions."""
        ...

    def create_session(self, token_hash: str, name: str, created: str, expires: str) -> None: ...

    def session_account(self, token_hash: str, now: str) -> StaffAccount | None:
        """The account of an unexpired session (as it is now: its current role)."""
        ...

    def delete_session(self, token_hash: str) -> None: ...

    def delete_sessions_of(self, name: str) -> int: ...

    def add_sign_in_failure(self, client: str, at: str) -> None: ...

    def sign_in_failures(self, client: str, since: str) -> int: ...

    def clear_sign_in_failures(self, client: str) -> None: ...

    def append_audit(self, entry: AuditEntry) -> None: ...

    def audit_entries(self, *, actor: str = "", action: str = "", limit: int = 500) -> list[AuditEntry]: ...

    def purge(self, *, now: str, failures_before: str, audit_before: str) -> StaffPurged: ...


class SqliteStaffRepository:
    """StaffRepository in the web SQLite file (tables from migration 2 in rag.web.database)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def create_account(self, account: StaffAccount, password_hash: str) -> bool:
        try:
            self.db.run(
                "INSERT INTO staff_accounts (name, role, password_hash, created, password_changed) "
                "VALUES (?,?,?,?,?)",
                (account.name, account.role.value, password_hash, account.created, account.password_changed),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def account(self, name: str) -> StoredAccount | None:
        rows = self.db.run("SELECT * FROM staff_accounts WHERE name = ?", (name,))
        return StoredAccount(_account(rows[0]), rows[0]["password_hash"]) if rows else None

    def accounts(self) -> list[StaffAccount]:
        return [_account(r) for r in self.db.run("SELECT * FROM staff_accounts ORDER BY name")]

    def set_password_hash(self, name: str, password_hash: str, changed: str) -> bool:
        with self.db.transaction() as db:
            cur = db.execute(
                "UPDATE staff_accounts SET password_hash = ?, password_changed = ? WHERE name = ?",
                (password_hash, changed, name),
            )
            return cur.rowcount == 1

    def set_role(self, name: str, role: Role) -> bool:
        with self.db.transaction() as db:
            cur = db.execute("UPDATE staff_accounts SET role = ? WHERE name = ?", (role.value, name))
            return cur.rowcount == 1

    def delete_account(self, name: str) -> bool:
        with self.db.transaction() as db:
            db.execute("DELETE FROM staff_sessions WHERE name = ?", (name,))
            return db.execute("DELETE FROM staff_accounts WHERE name = ?", (name,)).rowcount == 1

    def create_session(self, token_hash: str, name: str, created: str, expires: str) -> None:
        self.db.run(
            "INSERT INTO staff_sessions (token_hash, name, created, expires) VALUES (?,?,?,?)",
            (token_hash, name, created, expires),
        )

    def session_account(self, token_hash: str, now: str) -> StaffAccount | None:
        rows = self.db.run(
            "SELECT a.* FROM staff_sessions s JOIN staff_accounts a ON a.name = s.name "
            "WHERE s.token_hash = ? AND s.expires > ?",
            (token_hash, now),
        )
        return _account(rows[0]) if rows else None

    def delete_session(self, token_hash: str) -> None:
        self.db.run("DELETE FROM staff_sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions_of(self, name: str) -> int:
        with self.db.transaction() as db:
            return db.execute("DELETE FROM staff_sessions WHERE name = ?", (name,)).rowcount

    def add_sign_in_failure(self, client: str, at: str) -> None:
        self.db.run("INSERT INTO sign_in_failures (client, at) VALUES (?, ?)", (client, at))

    def sign_in_failures(self, client: str, since: str) -> int:
        rows = self.db.run(
            "SELECT count(*) AS n FROM sign_in_failures WHERE client = ? AND at > ?", (client, since)
        )
        return int(rows[0]["n"])

    def clear_sign_in_failures(self, client: str) -> None:
        self.db.run("DELETE FROM sign_in_failures WHERE client = ?", (client,))

    def append_audit(self, entry: AuditEntry) -> None:
        self.db.run(
            "INSERT INTO audit_log (created, actor, role, action, target, detail, outcome) VALUES (?,?,?,?,?,?,?)",
            (
                entry.created,
                entry.actor,
                entry.role,
                entry.action,
                entry.target,
                entry.detail,
                entry.outcome,
            ),
        )

    def audit_entries(self, *, actor: str = "", action: str = "", limit: int = 500) -> list[AuditEntry]:
        where, params = [], []
        if actor:
            where.append("actor = ?")
            params.append(actor)
        if action:
            where.append("action = ?")
            params.append(action)
        sql = "SELECT * FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.db.run(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [AuditEntry(**dict(r)) for r in rows]  # the columns are the fields

    def purge(self, *, now: str, failures_before: str, audit_before: str) -> StaffPurged:
        with self.db.transaction() as db:
            sessions = db.execute("DELETE FROM staff_sessions WHERE expires <= ?", (now,)).rowcount
            failures = db.execute("DELETE FROM sign_in_failures WHERE at <= ?", (failures_before,)).rowcount
            audit = db.execute("DELETE FROM audit_log WHERE created < ?", (audit_before,)).rowcount
        return StaffPurged(sessions=sessions, sign_in_failures=failures, audit_entries=audit)


def _account(r: sqlite3.Row) -> StaffAccount:
    return StaffAccount(
        name=r["name"], role=Role(r["role"]), created=r["created"], password_changed=r["password_changed"]
    )


def make_staff_repository(db: WebDatabase) -> StaffRepository:
    """The staff repository for the web database: SQLite (embedded) or PostgreSQL (shared by every replica)."""
    if isinstance(db, SqliteDatabase):
        return SqliteStaffRepository(db)
    from rag.web.pgstaff import PgStaffRepository

    return PgStaffRepository(db)
