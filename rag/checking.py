"""Check a drafted answer against the city's documents, sentence by sentence.

Used by the staff console and by `python -m eval check`. It retrieves passages for the question with the
service's own retriever and runs the service's own SupportChecker, so the verdicts agree with what the
answer pipeline keeps and with the evaluation's citation-support metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.attribution import strip_markers
from rag.text import claimed_facts, fact_in_passage
from rag.types import Chunk, SentenceCheck

if TYPE_CHECKING:
    from rag.service import AssistantService


@dataclass(frozen=True)
class SentenceVerdict:
    check: SentenceCheck  # supported?, support 0..1, best chunk id, facts missing from that chunk, reason
    passage: Chunk | None  # the passage that best supports the sentence (even when not enough)

    def to_dict(self) -> dict[str, Any]:
        data = self.check.to_dict()
        data["passage"] = (
            None
            if self.passage is None
            else {
                "chunk_id": self.passage.chunk_id,
                "title": self.passage.title,
                "source": self.passage.source,
                "text": self.passage.text,
            }
        )
        return data


@dataclass(frozen=True)
class AnswerCheck:
    question: str
    answer: str
    verdicts: list[SentenceVerdict]
    passages: list[Chunk]  # what retrieval found for the question, best first
    facts_not_found: list[str] = field(default_factory=list)  # facts of the answer that NO passage contains

    @property
    def sentences(self) -> list[SentenceCheck]:
        return [v.check for v in self.verdicts]

    @property
    def supported(self) -> int:
        return sum(v.check.supported for v in self.verdicts)

    @property
    def ok(self) -> bool:
        return self.supported == len(self.verdicts) and not self.facts_not_found

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "ok": self.ok,
            "supported": self.supported,
            "sentences": [v.to_dict() for v in self.verdicts],
            "facts_not_found": list(self.facts_not_found),
            "passages": [
                {"chunk_id": p.chunk_id, "title": p.title, "source": p.source} for p in self.passages
            ],
        }


def facts_not_in_passages(answer: str, passages: list[Chunk], question: str = "") -> list[str]:
    """Numbers, dates, times, phone numbers, addresses, names and quoted phrases of the answer that no
    passage holds (a fact the question itself gives is allowed)."""
    texts = [p.titled_text for p in passages]
    missing: list[str] = []
    for fact in claimed_facts(strip_markers(answer)):
        known = any(fact_in_passage(fact, t) for t in texts) or (
            bool(question) and fact_in_passage(fact, question)
        )
        if not known and fact not in missing:
            missing.append(fact)
    return missing


def check_answer(service: AssistantService, question: str, answer: str) -> AnswerCheck:
    """Each sentence of `answer` with the retrieved passage that best supports it and how strongly."""
    question = " ".join((question or "").split())
    answer = (answer or "").strip()
    if not answer:
        raise ValueError("the answer to check is empty: pass the drafted answer text")
    query = question or answer  # without a question, look for passages about the answer itself
    passages = [h.chunk for h in service.retriever.search(query).hits]
    by_id = {p.chunk_id: p for p in passages}
    attributions = service.checker.check_answer(answer, passages, question=question)
    verdicts = [SentenceVerdict(a.check, by_id.get(a.check.chunk_id or "")) for a in attributions]
    return AnswerCheck(
        question, answer, verdicts, passages, facts_not_in_passages(answer, passages, question)
    )
