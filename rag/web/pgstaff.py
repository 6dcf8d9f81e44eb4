"""Staff accounts, sessions, sign-in failures and the audit trail in PostgreSQL (RAG_DATABASE_URL).

The same :class:`rag.web.staff_repository.StaffRepository` contract as the SQLite implementation, over the "web"
schema's tables (rag.web.database.WEB_SCHEMA): a session opened on one replica is valid on every other, sign-in
throttling counts failures from all of them, and one audit trail holds every replica's console actions. Times are
timestamptz columns; the contract's UTC ISO strings go in and come out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.db.postgres import Database
from rag.web.database import pg_iso
from rag.web.pgfeedback import web_transaction
from rag.web.staff_repository import AuditEntry, Role, StaffAccount, StaffPurged, StoredAccount


class PgStaffRepository:
    """StaffRepository in PostgreSQL, shared by every replica."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with web_transaction(self.db) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        with web_transaction(self.db) as conn:
            return int(conn.execute(sql, params).rowcount)

    def create_account(self, account: StaffAccount, password_hash: str) -> bool:
        return (
            self._count(
                "INSERT INTO rag_staff_accounts (name, role, password_hash, created, password_changed) "
                "VALUES (%s, %s, %s, %s::timestamptz, %s::timestamptz) ON CONFLICT (name) DO NOTHING",
                (account.name, account.role.value, password_hash, account.created, account.password_changed),
            )
            == 1
        )

    def account(self, name: str) -> StoredAccount | None:
        rows = self._rows("SELECT * FROM rag_staff_accounts WHERE name = %s", (name,))
        return StoredAccount(_account(rows[0]), rows[0]["password_hash"]) if rows else None

    def accounts(self) -> list[StaffAccount]:
        return [_account(r) for r in self._rows("SELECT * FROM rag_staff_accounts ORDER BY name")]

    def set_password_hash(self, name: str, password_hash: str, changed: str) -> bool:
        return (
            self._count(
                "UPDATE rag_staff_accounts SET password_hash = %s, password_changed = %s::timestamptz "
                "WHERE name = %s",
                (password_hash, changed, name),
            )
            == 1
        )

    def set_role(self, name: str, role: Role) -> bool:
        return self._count("UPDATE rag_staff_accounts SET role = %s WHERE name = %s", (role.value, name)) == 1

    def delete_account(self, name: str) -> bool:
        # its sessions go with it (ON DELETE CASCADE)
        return self._count("DELETE FROM rag_staff_accounts WHERE name = %s", (name,)) == 1

    def create_session(self, token_hash: str, name: str, created: str, expires: str) -> None:
        self._count(
            "INSERT INTO rag_staff_sessions (token_hash, name, created, expires) "
            "VALUES (%s, %s, %s::timestamptz, %s::timestamptz)",
            (token_hash, name, created, expires),
        )

    def session_account(self, token_hash: str, now: str) -> StaffAccount | None:
        rows = self._rows(
            "SELECT a.* FROM rag_staff_sessions s JOIN rag_staff_accounts a ON a.name = s.name "
            "WHERE s.token_hash = %s AND s.expires > %s::timestamptz",
            (token_hash, now),
        )
        return _account(rows[0]) if rows else None

    def delete_session(self, token_hash: str) -> None:
        self._count("DELETE FROM rag_staff_sessions WHERE token_hash = %s", (token_hash,))

    def delete_sessions_of(self, name: str) -> int:
        return self._count("DELETE FROM rag_staff_sessions WHERE name = %s", (name,))

    def add_sign_in_failure(self, client: str, at: str) -> None:
        self._count(
            "INSERT INTO rag_sign_in_failures (client, at) VALUES (%s, %s::timestamptz)", (client, at)
        )

    def sign_in_failures(self, client: str, since: str) -> int:
        rows = self._rows(
            "SELECT count(*) AS n FROM rag_sign_in_failures WHERE client = %s AND at > %s::timestamptz",
            (client, since),
        )
        return int(rows[0]["n"])

    def clear_sign_in_failures(self, client: str) -> None:
        self._count("DELETE FROM rag_sign_in_failures WHERE client = %s", (client,))

    def append_audit(self, entry: AuditEntry) -> None:
        self._count(
            "INSERT INTO rag_audit_log (created, actor, role, action, target, detail, outcome) "
            "VALUES (%s::timestamptz, %s, %s, %s, %s, %s, %s)",
            (entry.created, entry.actor, entry.role, entry.action, entry.target, entry.detail, entry.outcome),
        )

    def audit_entries(self, *, actor: str = "", action: str = "", limit: int = 500) -> list[AuditEntry]:
        where, params = [], []
        if actor:
            where.append("actor = %s")
            params.append(actor)
        if action:
            where.append("action = %s")
            params.append(action)
        sql = "SELECT * FROM rag_audit_log" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._rows(sql + " ORDER BY id DESC LIMIT %s", [*params, limit])
        return [AuditEntry(**{**r, "created": pg_iso(r["created"]), "id": int(r["id"])}) for r in rows]

    def purge(self, *, now: str, failures_before: str, audit_before: str) -> StaffPurged:
        with web_transaction(self.db) as conn:
            sessions = conn.execute(
                "DELETE FROM rag_staff_sessions WHERE expires <= %s::timestamptz", (now,)
            ).rowcount
            failures = conn.execute(
                "DELETE FROM rag_sign_in_failures WHERE at <= %s::timestamptz", (failures_before,)
            ).rowcount
            audit = conn.execute(
                "DELETE FROM rag_audit_log WHERE created < %s::timestamptz", (audit_before,)
            ).rowcount
        return StaffPurged(sessions=sessions, sign_in_failures=failures, audit_entries=audit)


def _account(r: dict[str, Any]) -> StaffAccount:
    return StaffAccount(
        name=r["name"],
        role=Role(r["role"]),
        created=pg_iso(r["created"]),
        password_changed=pg_iso(r["password_changed"]),
    )
