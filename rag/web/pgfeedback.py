"""Feedback and the redacted conversation log in PostgreSQL (RAG_DATABASE_URL), shared by every app replica.

The same :class:`rag.web.feedback.FeedbackStore` contract as the SQLite :class:`rag.web.feedback.WebStore`, over
the "web" schema's tables ``rag_conversations`` and ``rag_feedback`` (rag.web.database.WEB_SCHEMA). The text
arrives redacted (:func:`rag.web.feedback.log_entry`, :func:`rag.web.feedback.feedback_comment`); nothing here
sees it as typed. Feedback copies question, answer and citations from its log entry in the same statement, so a
purge running at the same time cannot leave feedback pointing at nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rag.db.postgres import Database, DatabaseUnavailableError
from rag.types import Answer
from rag.web.database import WEB_SCHEMA, iso, pg_iso, utc_now
from rag.web.feedback import (
    ConversationRow,
    FeedbackRow,
    Purged,
    check_rating,
    feedback_comment,
    feedback_filter,
    log_entry,
    retention_cutoff,
)

log = logging.getLogger(__name__)


@contextmanager
def web_transaction(db: Database) -> Iterator[Any]:
    """A pooled connection in one transaction on the migrated web tables; a database error of any kind (not only
    an unreachable server) is a DatabaseUnavailableError naming the database, so callers catch one RagError."""
    import psycopg

    try:
        with db.connection(WEB_SCHEMA) as conn:
            yield conn
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise DatabaseUnavailableError(
            f"PostgreSQL at {db.display_url} refused a web-state query: {first}"
        ) from exc


def jsonb(value: Any) -> Any:
    """A value for a jsonb column; NaN and infinities (which JSON cannot hold) become null."""
    from psycopg.types.json import Jsonb

    def finite(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [finite(x) for x in v]
        return v

    return Jsonb(finite(value), dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


class PgWebStore:
    """FeedbackStore in PostgreSQL: every replica reads and writes the same log and feedback."""

    def __init__(self, db: Database, *, retention_days: int = 90) -> None:
        if retention_days <= 0:
            raise ValueError(f"retention_days must be greater than 0, got {retention_days}")
        self.db = db
        self.retention_days = retention_days

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with web_transaction(self.db) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    # --- retention ----------------------------------------------------------------------------------------
    def purge_expired(self, *, days: int | None = None, now: dt.datetime | None = None) -> Purged:
        cutoff = retention_cutoff(self.retention_days if days is None else days, now)
        with web_transaction(self.db) as conn:
            conversations = conn.execute(
                "DELETE FROM rag_conversations WHERE created < %s::timestamptz", (cutoff,)
            ).rowcount
            feedback = conn.execute(
                "DELETE FROM rag_feedback WHERE created < %s::timestamptz", (cutoff,)
            ).rowcount
        if conversations or feedback:
            log.info(
                "retention: deleted %d log entries and %d feedback rows older than %s",
                conversations,
                feedback,
                cutoff,
            )
        return Purged(conversations=conversations, feedback=feedback, cutoff=cutoff)

    # --- conversation log ---------------------------------------------------------------------------------
    def log_answer(self, answer: Answer, *, channel: str, session: str | None = None) -> str:
        row = log_entry(answer, channel=channel, session=session)
        with web_transaction(self.db) as conn:
            conn.execute(
                "INSERT INTO rag_conversations (id, created, channel, session, question, answer, refused, "
                "refusal_reason, citations, details) VALUES (%s, %s::timestamptz, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    row.id,
                    row.created,
                    row.channel,
                    row.session,
                    row.question,
                    row.answer,
                    row.refused,
                    row.refusal_reason,
                    jsonb(row.citations),
                    jsonb(row.details),
                ),
            )
        return row.id

    def conversation(self, answer_id: str) -> ConversationRow | None:
        rows = self._rows("SELECT * FROM rag_conversations WHERE id = %s", (answer_id,))
        return _conversation(rows[0]) if rows else None

    def conversations(self, *, limit: int = 200, search: str = "") -> list[ConversationRow]:
        sql, params = "SELECT * FROM rag_conversations", []
        if search.strip():
            sql += " WHERE question ILIKE %s OR answer ILIKE %s"
            params += [f"%{search.strip()}%"] * 2
        sql += " ORDER BY created DESC, seq DESC LIMIT %s"
        return [_conversation(r) for r in self._rows(sql, [*params, limit])]

    # --- feedback -----------------------------------------------------------------------------------------
    def add_feedback(self, *, answer_id: str | None, rating: int, comment: str = "") -> int:
        check_rating(rating)
        comment = feedback_comment(comment)
        now = iso(utc_now())
        with web_transaction(self.db) as conn:
            if answer_id:
                got = conn.execute(
                    "INSERT INTO rag_feedback (created, answer_id, rating, comment, question, answer, citations) "
                    "SELECT %s::timestamptz, c.id, %s, %s, c.question, c.answer, c.citations "
                    "FROM rag_conversations c WHERE c.id = %s RETURNING id",
                    (now, rating, comment, answer_id),
                ).fetchone()
                if got is None:
                    raise KeyError(f"no logged answer with id {answer_id!r}")
            else:
                got = conn.execute(
                    "INSERT INTO rag_feedback (created, answer_id, rating, comment, question, answer, citations) "
                    "VALUES (%s::timestamptz, NULL, %s, %s, '', '', '[]'::jsonb) RETURNING id",
                    (now, rating, comment),
                ).fetchone()
        return int(got[0])

    def feedback(
        self,
        *,
        rating: int | None = None,
        with_comment: bool = False,
        search: str = "",
        since: str = "",
        limit: int = 500,
    ) -> list[FeedbackRow]:
        # a "since" date is a UTC day, as in SQLite
        where, params = feedback_filter(
            rating, with_comment, search, since, like="ILIKE", since_sql="(%s::timestamp AT TIME ZONE 'UTC')"
        )
        sql = "SELECT * FROM rag_feedback" + where + " ORDER BY id DESC LIMIT %s"
        return [
            FeedbackRow(
                id=int(r["id"]),
                created=pg_iso(r["created"]),
                answer_id=r["answer_id"],
                rating=int(r["rating"]),
                comment=r["comment"],
                question=r["question"],
                answer=r["answer"],
                citations=r["citations"],
            )
            for r in self._rows(sql, [*params, limit])
        ]


def _conversation(r: dict[str, Any]) -> ConversationRow:
    return ConversationRow(
        id=r["id"],
        created=pg_iso(r["created"]),
        channel=r["channel"],
        session=r["session"],
        question=r["question"],
        answer=r["answer"],
        refused=bool(r["refused"]),
        refusal_reason=r["refusal_reason"],
        citations=r["citations"],
        details=r["details"],
    )
