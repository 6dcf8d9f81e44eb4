"""Feedback as CSV for review: question, answer and citations as the log keeps them (already redacted).

Written for Swedish spreadsheets: UTF-8 with a byte-order mark and semicolons between fields. A text cell that a
spreadsheet would run as a formula (it starts with = + - @ or a tab or carriage return) gets a leading apostrophe:
residents write these texts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from rag.web.feedback import FeedbackRow

HEADERS = ["id", "tid_utc", "betyg", "kommentar", "fraga", "svar", "kallor", "svar_id"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def citations_text(citations: Iterable[dict[str, Any]]) -> str:
    return " | ".join(
        f"[{c.get('n', '')}] {c.get('title', '')} ({c.get('source', '')}, {c.get('chunk_id', '')})"
        for c in citations
    )


def feedback_csv(rows: Iterable[FeedbackRow]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADERS)
    for r in rows:
        writer.writerow(
            [
                r.id,
                r.created,
                "till hjälp" if r.rating > 0 else "inte till hjälp",
                safe_cell(r.comment),
                safe_cell(r.question),
                safe_cell(r.answer),
                safe_cell(citations_text(r.citations)),
                r.answer_id or "",
            ]
        )
    return out.getvalue()
