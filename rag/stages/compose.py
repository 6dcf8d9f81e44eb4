"""Stage 8, compose: the text the resident reads — the shown sentences with their [n] markers, a quote with
its lead ("Så här står det i …"), the notes on dated sources and personal data — its citations, and the
refusal with the hand-off (phone, chat, visit, today's hours, read from the corpus by rag/handoff.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.handoff import Handoff
from rag.prompting import say
from rag.types import Chunk, Citation


@dataclass(frozen=True)
class Shown:
    """One sentence of the answer and the passage it cites."""

    text: str
    passage: Chunk
    support: float
    quoted: bool = False  # a source unit quoted word for word (shown with its lead)


def citation_order(shown: Sequence[Shown]) -> dict[str, int]:
    """Passage chunk id -> citation number, by first use."""
    order: dict[str, int] = {}
    for s in shown:
        order.setdefault(s.passage.chunk_id, len(order) + 1)
    return order


def marked(s: Shown, order: dict[str, int], language: str) -> str:
    """A shown sentence as it reads in the answer: with its marker, a quote with its lead."""
    n = order[s.passage.chunk_id]
    if s.quoted:
        return f"{say('fallback', language, title=s.passage.title)} ”{s.text}” [{n}]"
    return f"{s.text} [{n}]"


def compose(shown: Sequence[Shown], language: str) -> tuple[str, list[Citation]]:
    """The answer text (written sentences first, a quote on its own paragraph) and its citations."""
    order = citation_order(shown)
    written = " ".join(marked(s, order, language) for s in shown if not s.quoted)
    quotes = [marked(s, order, language) for s in shown if s.quoted]
    text = "\n\n".join(p for p in [written, *quotes] if p)
    support: dict[str, list[float]] = {}
    passages: dict[str, Chunk] = {}
    for s in shown:
        support.setdefault(s.passage.chunk_id, []).append(s.support)
        passages[s.passage.chunk_id] = s.passage
    citations = [
        Citation(n=n, chunk=passages[cid], score=sum(support[cid]) / len(support[cid]))
        for cid, n in order.items()
    ]
    return text, citations


def notes(citations: Sequence[Citation], language: str, personal_data: bool) -> list[str]:
    """Lines after the answer: a dated source may be out of date; personal data can become allmän handling."""
    out = [say("dated", language, n=c.n, date=c.chunk.date) for c in citations if c.chunk.date]
    if personal_data:
        out.append(say("personal_data", language))
    return out


def refusal_text(reason: str, language: str, handoff: Handoff, personal_data: bool) -> str:
    text = say(
        reason if reason in ("injection", "personal_case", "llm_unavailable") else "not_relevant", language
    )
    text += "\n" + handoff.render(language)
    if personal_data:
        text += "\n\n" + say("personal_data", language)
    return text
