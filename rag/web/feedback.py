"""SQLite store for residents' feedback and the conversation log — redacted text only, with a retention limit.

Messages to the city can become allmän handling, so nothing is stored as typed: questions and comments go through
:func:`rag.privacy.redact`; answers keep personal-data-looking strings only where the cited passages (public city
documents) contain them verbatim, e.g. kontaktcenter's phone number.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.privacy import PATTERNS, redact
from rag.types import Answer

log = logging.getLogger(__name__)

SCHEMA = """
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
"""

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
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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


class WebStore:
    """Thread-safe; one short connection per call, so the file can be re-opened by a restarted app."""

    def __init__(self, path: Path, *, retention_days: int = 90) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
        self.purge_expired()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            db = self._connect()
            try:
                with db:
                    return db.execute(sql, params).fetchall()
            finally:
                db.close()

    def purge_expired(self) -> None:
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=self.retention_days)).isoformat(
            timespec="seconds"
        )
        self._run("DELETE FROM conversations WHERE created < ?", (cutoff,))
        self._run("DELETE FROM feedback WHERE created < ?", (cutoff,))

    # --- conversation log ---------------------------------------------------------------------------------
    def log_answer(self, answer: Answer, *, channel: str, session: str | None = None) -> str:
        """Store one answered question (redacted) and return its id, which feedback refers to."""
        answer_id = uuid.uuid4().hex[:16]
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
        citations = [c.to_dict() for c in answer.citations]
        self._run(
            "INSERT INTO conversations VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                answer_id,
                _now(),
                channel,
                session,
                question,
                details["answer"],
                int(answer.refused),
                answer.refusal_reason,
                json.dumps(citations, ensure_ascii=False),
                json.dumps(details, ensure_ascii=False),
            ),
        )
        return answer_id

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
        if rating not in (1, -1):
            raise ValueError(f"rating must be 1 or -1, got {rating!r}")
        conv = self.conversation(answer_id) if answer_id else None
        if answer_id and conv is None:
            raise KeyError(f"no logged answer with id {answer_id!r}")
        comment = redact(" ".join((comment or "").split()))[:MAX_COMMENT_CHARS]
        self._run(
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
        rows = self._run("SELECT max(id) AS id FROM feedback")
        return int(rows[0]["id"])

    def feedback(
        self,
        *,
        rating: int | None = None,
        with_comment: bool = False,
        search: str = "",
        since: str = "",
        limit: int = 500,
    ) -> list[FeedbackRow]:
        where: list[str] = []
        params: list[Any] = []
        if rating in (1, -1):
            where.append("rating = ?")
            params.append(rating)
        if with_comment:
            where.append("comment != ''")
        if search.strip():
            where.append("(question LIKE ? OR answer LIKE ? OR comment LIKE ?)")
            params += [f"%{search.strip()}%"] * 3
        if since.strip():
            where.append("created >= ?")
            params.append(since.strip())
        sql = "SELECT * FROM feedback" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
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
