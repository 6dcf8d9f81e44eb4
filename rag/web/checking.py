"""The staff's "check an answer" tool: a drafted answer, sentence by sentence, against the city's documents.

Minimal adapter until `rag/checking.py` (written in parallel) lands: it retrieves passages for the question and runs
the same SupportChecker the answer pipeline uses, so the tool and the live answers agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.service import AssistantService
from rag.text import extract_facts, fact_in_passage
from rag.types import Chunk, SentenceCheck


@dataclass(frozen=True)
class DraftCheck:
    question: str
    sentences: list[SentenceCheck]
    passages: list[Chunk]
    facts_not_found: list[str] = field(default_factory=list)  # facts of the draft that no passage contains

    @property
    def supported(self) -> int:
        return sum(s.supported for s in self.sentences)


def check_draft(service: AssistantService, question: str, draft: str) -> DraftCheck:
    question = " ".join((question or "").split())
    draft = (draft or "").strip()
    if not draft:
        raise ValueError("the drafted answer is empty")
    query = question or draft  # without a question, look for passages about the draft itself
    passages = [h.chunk for h in service.retriever.search(query).hits]
    attributions = service.checker.check_answer(draft, passages, question=question)
    texts = [f"{p.title}\n{p.text}" for p in passages]
    missing: list[str] = []
    for fact in extract_facts(draft):
        known = any(fact_in_passage(fact, t) for t in texts) or (question and fact_in_passage(fact, question))
        if not known and fact not in missing:
            missing.append(fact)
    return DraftCheck(question, [a.check for a in attributions], passages, missing)
