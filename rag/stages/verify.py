"""Stage 6, verify: each sentence the LLM writes is kept only when a passage supports it — its topic words,
and every fact bound to its subject in one unit of the passage (rag/attribution.py, rag/binding.py) — and
gets that passage's [n] marker. Unsupported sentences are dropped (staff see which and why).

A sentence whose facts the prompt's passages lack may still be backed by a retrieved passage the prompt
left out ("Han blev 69 år." in the chunk after the one about Leif Redestig): that passage moves from the
spare ones into the cited ones. A kept sentence that is a near-copy of one sentence of its passage is shown
in the passage's own words (rag/evidence.py source_wording): the model's copy may have swapped a pronoun or
dropped a negation, which the support check cannot see.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rag.attribution import SupportChecker
from rag.evidence import source_wording
from rag.types import Chunk, SentenceCheck

log = logging.getLogger(__name__)


@dataclass
class Verified:
    """The verdicts so far on one answer's sentences: passages and spare grow as spare ones are adopted."""

    passages: list[Chunk]
    spare: list[Chunk]
    kept: list[tuple[SentenceCheck, int]] = field(default_factory=list)  # (verdict, index into passages)
    checks: list[SentenceCheck] = field(default_factory=list)  # every sentence, kept or dropped

    @property
    def invented(self) -> bool:
        """Whether a dropped sentence stated facts no passage holds (the model made them up)."""
        return any(c.missing_facts for c in self.checks)

    def citation_order(self) -> dict[int, int]:
        """Passage index -> citation number, numbered by first use in the answer."""
        order: dict[int, int] = {}
        for _, idx in self.kept:
            order.setdefault(idx, len(order) + 1)
        return order

    def adopt(self, index: int) -> int:
        """The index in passages of entry `index` of passages + spare, moving a spare passage into passages
        (it is cited like the prompt's own)."""
        if index < len(self.passages):
            return index
        self.passages.append(self.spare.pop(index - len(self.passages)))
        return len(self.passages) - 1


class VerifyStage:
    def __init__(self, checker: SupportChecker) -> None:
        self.checker = checker

    def check(self, sentence: str, state: Verified, question: str) -> str:
        """Check one generated sentence; keep it (and return it with its [n] marker) when a passage
        supports it, else return ""."""
        if any(sentence == c.text for c in state.checks):  # small models repeat themselves
            return ""
        att = self.checker.check(sentence, state.passages, question=question)
        index = att.passage_index
        if index is None and state.spare and att.check.missing_facts:
            other = self.checker.check(sentence, state.spare, question=question)
            if other.passage_index is None:
                # The fact may open the chunk after a prompt passage that names its subject ("Leif
                # Redestig har avlidit. …" / "Han blev 69 år."): read the two as the one passage they are.
                joined = [joined_with_previous(c, state.passages) for c in state.spare]
                if any(j is not c for j, c in zip(joined, state.spare, strict=True)):
                    other = self.checker.check(sentence, joined, question=question)
                    if other.passage_index is not None:
                        state.spare[other.passage_index] = joined[other.passage_index]
            if other.passage_index is not None:
                att = other
                index = state.adopt(len(state.passages) + other.passage_index)
                log.info("supported by a retrieved passage the prompt left out")
        check = att.check
        if index is None:
            state.checks.append(check)
            log.info("dropped unsupported sentence: %s", check.reason)
            return ""
        own = source_wording(sentence, state.passages[index])
        if own is not None:
            check = replace(
                check, text=own, reason=f"supported; shown in the source's own words: {sentence!r}"
            )
        state.checks.append(check)
        if any(check.text == c.text for c, _ in state.kept):  # two written sentences copied the same one
            return ""
        state.kept.append((check, index))
        return f"{check.text} [{state.citation_order()[index]}]"


def joined_with_previous(chunk: Chunk, passages: Sequence[Chunk]) -> Chunk:
    """chunk joined to the chunk before it in its document when that one is among passages (their
    overlap counted once), else chunk itself."""
    prev = next((p for p in passages if p.doc_id == chunk.doc_id and p.ordinal == chunk.ordinal - 1), None)
    if prev is None or not prev.start <= chunk.start <= prev.end + 2:
        return chunk  # not adjacent in the document
    if chunk.start <= prev.end:  # they overlap: the document's text from prev's start to chunk's end
        text = prev.text + chunk.text[prev.end - chunk.start :]
    else:  # one or two whitespace characters between them, which the chunks left out
        text = prev.text + "\n" * (chunk.start - prev.end) + chunk.text
    return replace(chunk, chunk_id=f"{prev.chunk_id}+{chunk.chunk_id}", text=text, start=prev.start)
