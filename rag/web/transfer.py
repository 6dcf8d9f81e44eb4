"""Moving an embedded install's web state — feedback, the redacted log, staff accounts and sessions, the audit
trail — from data/web.sqlite3 into PostgreSQL (``rag migrate``), once, in one transaction.

The rows are copied as they are (already redacted when they were written). Sign-in failures are not copied: they
only matter for a few minutes. The copy is refused when PostgreSQL already holds web state, so running it twice
cannot duplicate anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from rag.db.postgres import Database
from rag.errors import RagError
from rag.web.database import SqliteDatabase
from rag.web.pgfeedback import jsonb, web_transaction

log = logging.getLogger(__name__)

CHECKED = ("rag_conversations", "rag_feedback", "rag_staff_accounts", "rag_audit_log")


@dataclass(frozen=True)
class Copied:
    conversations: int
    feedback: int
    accounts: int
    sessions: int
    audit_entries: int


def copy_web_state(source: SqliteDatabase, target: Database) -> Copied:
    """Copy every row of source's web tables into target's; raises RagError when target already holds some."""
    read = source.run
    conversations = read("SELECT * FROM conversations ORDER BY created, rowid")
    feedback = read("SELECT * FROM feedback ORDER BY id")
    accounts = read("SELECT * FROM staff_accounts ORDER BY name")
    sessions = read("SELECT * FROM staff_sessions")
    audit = read("SELECT * FROM audit_log ORDER BY id")
    with web_transaction(target) as conn:
        held = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CHECKED}
        if any(held.values()):
            shown = ", ".join(f"{t} {n}" for t, n in held.items() if n)
            raise RagError(
                f"{target.display_url} already holds web state ({shown} rows); nothing was copied from "
                f"{source.path}. Copy into an empty database, or leave the SQLite file where it is."
            )
        for r in conversations:
            conn.execute(
                "INSERT INTO rag_conversations (id, created, channel, session, question, answer, refused, "
                "refusal_reason, citations, details) VALUES (%s, %s::timestamptz, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    r["id"],
                    r["created"],
                    r["channel"],
                    r["session"],
                    r["question"],
                    r["answer"],
                    bool(r["refused"]),
                    r["refusal_reason"],
                    jsonb(json.loads(r["citations"])),
                    jsonb(json.loads(r["details"])),
                ),
            )
        for r in feedback:
            conn.execute(
                "INSERT INTO rag_feedback (created, answer_id, rating, comment, question, answer, citations) "
                "VALUES (%s::timestamptz, %s, %s, %s, %s, %s, %s)",
                (
                    r["created"],
                    r["answer_id"],
                    r["rating"],
                    r["comment"],
                    r["question"],
                    r["answer"],
                    jsonb(json.loads(r["citations"])),
                ),
            )
        for r in accounts:
            conn.execute(
                "INSERT INTO rag_staff_accounts (name, role, password_hash, created, password_changed) "
                "VALUES (%s, %s, %s, %s::timestamptz, %s::timestamptz)",
                (r["name"], r["role"], r["password_hash"], r["created"], r["password_changed"]),
            )
        for r in sessions:
            conn.execute(
                "INSERT INTO rag_staff_sessions (token_hash, name, created, expires) "
                "VALUES (%s, %s, %s::timestamptz, %s::timestamptz)",
                (r["token_hash"], r["name"], r["created"], r["expires"]),
            )
        for r in audit:
            conn.execute(
                "INSERT INTO rag_audit_log (created, actor, role, action, target, detail, outcome) "
                "VALUES (%s::timestamptz, %s, %s, %s, %s, %s, %s)",
                (r["created"], r["actor"], r["role"], r["action"], r["target"], r["detail"], r["outcome"]),
            )
    copied = Copied(len(conversations), len(feedback), len(accounts), len(sessions), len(audit))
    log.info("web state copied from %s to %s: %s", source.path, target.display_url, copied)
    return copied
