"""Residents' feedback and the conversation log — redacted text only, with a retention limit: the
:class:`FeedbackStore` seam.

Messages to the city can become allmän handling, so nothing is stored as typed: questions and comments go through
:func:`rag.privacy.redact`; answers keep personal-data-looking strings only where the cited passages (public city
documents) contain them verbatim, e.g. kontaktcenter's phone number. The redaction is done here, once, by
:func:`log_entry` and :func:`feedback_comment`, before any implementation sees the text.

Two implementations: :class:`WebStore` in the web SQLite file (the embedded default) and
:class:`rag.web.pgfeedback.PgWebStore` in PostgreSQL (RAG_DATABASE_URL, shared by every replica);
:func:`make_web_store` picks the one for the web database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.privacy import PATTERNS, redact
from rag.types import Answer
from rag.web.database import SqliteDatabase, WebDatabase, iso, utc_now

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 2000


def redact_keeping(text: str, public_texts: Iterable[str]) -> str:
    """Redact personal data except strings that occur verbatim in public texts (the cited city documents)."""
    public = "\n".join(public_texts)
    for label, pattern in PATTERNS:

        def keep_public(m: re.Match[str], label: str = label) -> str:
            return m.group(0) if m.group(0) in public else label

        text = pattern.sub(keep_public, text)
    return text


def _now() -> str:
    return iso(utc_now())


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    created: str
    answer_id: str | None
    rating: int  # +1 helpful, -1 not helpful
    comment: str
    question: str
    answer: str
    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class ConversationRow:
    id: str
    created: str
    channel: str
    session: str | None
    question: str
    answer: str
    refused: bool
    refusal_reason: str | None
    citations: list[dict[str, Any]]
    details: dict[str, Any]


@dataclass(frozen=True)
class Purged:
    conversations: int
    feedback: int
    cutoff: str


class FeedbackStore(Protocol):
    """Feedback and the redacted conversation log. Times are UTC ISO strings, as stored."""

    retention_days: int

    def log_answer(self, answer: Answer, *, channel: str, session: str | None = None) -> str:
        """Store one answered question (redacted by :func:`log_entry`) and return its id, which feedback refers to."""
        ...

    def conversation(self, answer_id: str) -> ConversationRow | None: ...

    def conversations(self, *, limit: int = 200, search: str = "") -> list[ConversationRow]:
        """Newest first; ``search`` matches question or answer, case-insensitively."""
        ...

    def add_feedback(self, *, answer_id: str | None, rating: int, comment: str = "") -> int:
        """Store 👍 (+1) or 👎 (-1) with an optional comment (redacted by :func:`feedback_comment`); question,
        answer and citations come from the log. Raises KeyError for an answer_id the log does not hold."""
        ...

    def feedback(
        self,
        *,
        rating: int | None = None,
        with_comment: bool = False,
        search: str = "",
        since: str = "",
        limit: int = 500,
    ) -> list[FeedbackRow]:
        """Newest first."""
        ...

    def purge_expired(self, *, days: int | None = None, now: dt.datetime | None = None) -> Purged:
        """Delete log entries and feedback (with its comments) older than the retention limit."""
        ...


def check_retention(days: int) -> int:
    if days <= 0:
        raise ValueError(f"the retention limit must be at least 1 day, got {days}")
    return days


def retention_cutoff(days: int, now: dt.datetime | None = None) -> str:
    return iso((now or utc_now()) - dt.timedelta(days=check_retention(days)))


def log_entry(answer: Answer, *, channel: str, session: str | None) -> ConversationRow:
    """One answered question as the log keeps it, with a new id: personal data redacted everywhere it could be
    (question, answer, prompt, raw generation, sentences), except what the cited public passages hold verbatim."""
    public = [c.chunk.text for c in answer.citations] + [h.chunk.text for h in answer.passages]
    question = redact(answer.question)
    details = answer.to_json_dict(debug=True)
    details["question"] = question
    details["answer"] = redact_keeping(answer.text, public)
    prompt = answer.prompt or ""
    if answer.question:
        prompt = prompt.replace(answer.question, question)
    details["prompt"] = redact_keeping(prompt, public) if prompt else None
    details["raw_generation"] = redact_keeping(answer.raw_generation or "", public) or None
    for s in details.get("sentences", []):
        s["text"] = redact_keeping(s.get("text", ""), public)
    return ConversationRow(
        id=uuid.uuid4().hex[:16],
        created=_now(),
        channel=channel,
        session=session,
        question=question,
        answer=details["answer"],
        refused=answer.refused,
        refusal_reason=answer.refusal_reason,
        citations=[c.to_dict() for c in answer.citations],
        details=details,
    )


def check_rating(rating: int) -> int:
    if rating not in (1, -1):
        raise ValueError(f"rating must be 1 or -1, got {rating!r}")
    return rating


def feedback_comment(comment: str) -> str:
    """A resident's comment as stored: personal data redacted, one line, at most MAX_COMMENT_CHARS."""
    return redact(" ".join((comment or "").split()))[:MAX_COMMENT_CHARS]


def feedback_filter(
    rating: int | None, with_comment: bool, search: str, since: str, *, like: str, since_sql: str
) -> tuple[str, list[Any]]:
    """The WHERE clause (with %s placeholders, or "") and its parameters of a feedback listing; the dialects
    differ only in the case-insensitive LIKE and in how a "since" date is read."""
    where: list[str] = []
    params: list[Any] = []
    if rating in (1, -1):
        where.append("rating = %s")
        params.append(rating)
    if with_comment:
        where.append("comment <> ''")
    if search.strip():
        where.append(f"(question {like} %s OR answer {like} %s OR comment {like} %s)")
        params += [f"%{search.strip()}%"] * 3
    if since.strip():
        where.append(f"created >= {since_sql}")
        params.append(since.strip())
    return (" WHERE " + " AND ".join(where) if where else ""), params


def make_web_store(db: WebDatabase, *, retention_days: int = 90) -> FeedbackStore:
    """The feedback store for the web database: SQLite (embedded) or PostgreSQL (shared by every replica)."""
    if isinstance(db, SqliteDatabase):
        return WebStore(db, retention_days=retention_days)
    from rag.web.pgfeedback import PgWebStore

    return PgWebStore(db, retention_days=retention_days)


class WebStore:
    """FeedbackStore in the web SQLite file (see rag.web.database): the embedded default."""

    def __init__(self, db: SqliteDatabase | Path, *, retention_days: int = 90) -> None:
        if retention_days <= 0:
            raise ValueError(f"retention_days must be greater than 0, got {retention_days}")
        self.db: SqliteDatabase = db if isinstance(db, SqliteDatabase) else SqliteDatabase(Path(db))
        self.path = self.db.path
        self.retention_days = retention_days

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.db.run(sql, params)

    def purge_expired(self, *, days: int | None = None, now: dt.datetime | None = None) -> Purged:
        """Delete conversation log entries and feedback (with its comments) older than the retention limit."""
        cutoff = retention_cutoff(self.retention_days if days is None else days, now)
        with self.db.transaction() as db:
            conversations = db.execute("DELETE FROM conversations WHERE created < ?", (cutoff,)).rowcount
            feedback = db.execute("DELETE FROM feedback WHERE created < ?", (cutoff,)).rowcount
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
        """Store one answered question (redacted) and return its id, which feedback refers to."""
        row = log_entry(answer, channel=channel, session=session)
        self._run(
            "INSERT INTO conversations VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                row.id,
                row.created,
                row.channel,
                row.session,
                row.question,
                row.answer,
                int(row.refused),
                row.refusal_reason,
                json.dumps(row.citations, ensure_ascii=False),
                json.dumps(row.details, ensure_ascii=False),
            ),
        )
        return row.id

    def conversation(self, answer_id: str) -> ConversationRow | None:
        rows = self._run("SELECT * FROM conversations WHERE id = ?", (answer_id,))
        return _conversation(rows[0]) if rows else None

    def conversations(self, *, limit: int = 200, search: str = "") -> list[ConversationRow]:
        sql, params = "SELECT * FROM conversations", []
        if search.strip():
            sql += " WHERE question LIKE ? OR answer LIKE ?"
            params += [f"%{search.strip()}%"] * 2
        sql += " ORDER BY created DESC, rowid DESC LIMIT ?"
        return [_conversation(r) for r in self._run(sql, [*params, limit])]

    # --- feedback -----------------------------------------------------------------------------------------
    def add_feedback(self, *, answer_id: str | None, rating: int, comment: str = "") -> int:
        """Store 👍 (+1) or 👎 (-1) with an optional comment; question, answer and citations come from the log."""
        check_rating(rating)
        conv = self.conversation(answer_id) if answer_id else None
        if answer_id and conv is None:
            raise KeyError(f"no logged answer with id {answer_id!r}")
        comment = feedback_comment(comment)
        with self.db.transaction() as db:
            cur = db.execute(
                "INSERT INTO feedback (created, answer_id, rating, comment, question, answer, citations) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    _now(),
                    answer_id,
                    rating,
                    comment,
                    conv.question if conv else "",
                    conv.answer if conv else "",
                    json.dumps(conv.citations if conv else [], ensure_ascii=False),
                ),
            )
            return int(cur.lastrowid or 0)

    def feedback(
        self,
        *,
        rating: int | None = None,
        with_comment: bool = False,
        search: str = "",
        since: str = "",
        limit: int = 500,
    ) -> list[FeedbackRow]:
        where, params = feedback_filter(rating, with_comment, search, since, like="LIKE", since_sql="?")
        sql = "SELECT * FROM feedback" + where.replace("%s", "?") + " ORDER BY id DESC LIMIT ?"
        return [
            FeedbackRow(
                id=r["id"],
                created=r["created"],
                answer_id=r["answer_id"],
                rating=r["rating"],
                comment=r["comment"],
                question=r["question"],
                answer=r["answer"],
                citations=json.loads(r["citations"]),
            )
            for r in self._run(sql, [*params, limit])
        ]


def _conversation(r: sqlite3.Row) -> ConversationRow:
    return ConversationRow(
        id=r["id"],
        created=r["created"],
        channel=r["channel"],
        session=r["session"],
        question=r["question"],
        answer=r["answer"],
        refused=bool(r["refused"]),
        refusal_reason=r["refusal_reason"],
        citations=json.loads(r["citations"]),
        details=json.loads(r["details"]),
    )
