"""Stage 4, select context: what the LLM reads — the units the answer-sentence scorer finds most likely to
answer, each with the unit before it (a heading, a FAQ's question, the sentence a pronoun leans on), under
their document's title; not three whole passages. Every prompt token costs ~10 ms on two cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.generation.base import Message
from rag.prompting import PromptSource, build_choice_messages, build_source_messages
from rag.scorer import AnswerScorer, Query, Scored, candidates
from rag.types import Chunk, Hit
from rag.units import source_units


@dataclass(frozen=True)
class ContextSettings:
    # Measured on tune (the key facts in the prompt): the best 3 units with their neighbours held them for
    # 83 % of answerable questions, the best 5 for 89 %, the first 3 whole passages for 91 % at 1.4 times
    # the characters; the best 7 for 93 % at 1.35 times those of 5.
    max_units: int = 5  # units the LLM reads, each with the unit before and after it
    max_passages: int = 3
    max_chars: int = 1000  # of unit text in the prompt, titles not counted
    min_share: float = 0.0  # a unit scoring below this share of the best one's probability is left out
    choices: int = 5  # options the LLM chooses among in the "choose" answer mode

    def __post_init__(self) -> None:
        if self.max_units <= 0 or self.max_passages <= 0 or self.choices <= 0:
            raise ValueError(
                f"max_units, max_passages and choices must be greater than 0, got {self.max_units}, "
                f"{self.max_passages}, {self.choices}"
            )


@dataclass(frozen=True)
class Context:
    scored: list[Scored]  # every candidate unit of the retrieved passages, best first
    passages: list[Chunk]  # the passages the prompt's sources come from, in prompt order ([1], [2] …)
    spare: list[Chunk]  # retrieved passages the prompt left out (a sentence may still be backed by one)
    sources: list[PromptSource]
    messages: list[Message]
    options: list[Scored]  # in the "choose" mode: the numbered options, in prompt order


class ContextStage:
    def __init__(self, scorer: AnswerScorer, settings: ContextSettings | None = None) -> None:
        self.scorer = scorer
        self.settings = settings or ContextSettings()

    def score(self, query: Query, hits: Sequence[Hit]) -> list[Scored]:
        return self.scorer.score(query, candidates(hits))

    def run(
        self,
        scored: list[Scored],
        hits: Sequence[Hit],
        question: str,
        previous: str = "",
        *,
        mode: str = "write",
    ) -> Context:
        """The prompt for the scored units of the hits (scored by score(), best first)."""
        s = self.settings
        best = scored[0].probability if scored else 0.0
        chosen: list[Scored] = []
        chars = 0
        for sc in scored:
            if len(chosen) >= s.max_units or (chosen and sc.probability < s.min_share * best):
                break
            ids = {c.candidate.passage.chunk_id for c in chosen}
            if sc.candidate.passage.chunk_id not in ids and len(ids) >= s.max_passages:
                continue
            if chosen and chars + len(sc.candidate.text) > s.max_chars:
                continue
            chosen.append(sc)
            chars += len(sc.candidate.text) + len(sc.candidate.previous) + len(sc.candidate.following)
        passages: list[Chunk] = []
        for sc in chosen:
            if sc.candidate.passage not in passages:
                passages.append(sc.candidate.passage)
        sources = [
            PromptSource(
                p.title,
                _excerpt(p, [sc.candidate.text for sc in chosen if sc.candidate.passage == p]),
                p.date,
            )
            for p in passages
        ]
        spare = [h.chunk for h in hits if h.chunk not in passages]
        if mode == "choose":
            options = scored[: s.choices]
            messages = build_choice_messages(question, [_option(o) for o in options], previous)
        else:
            options = []
            messages = build_source_messages(question, sources, previous)
        return Context(scored, passages, spare, sources, messages, options)


def _excerpt(passage: Chunk, chosen: Sequence[str]) -> str:
    """The chosen units of a passage in their order, each with the units before and after it; gaps "…"."""
    units = source_units(passage.text, passage.title)
    keep: set[int] = set()
    for i, u in enumerate(units):
        if u.text in chosen:
            keep.update(j for j in (i - 1, i, i + 1) if 0 <= j < len(units))
    parts: list[str] = []
    last = -2
    for i in sorted(keep):
        if parts and i != last + 1:
            parts.append("…")
        parts.append(units[i].text)
        last = i
    return "\n".join(parts)


def _option(sc: Scored) -> str:
    c = sc.candidate
    lead = f"{c.previous} " if c.previous and len(c.previous) < 120 and c.previous != c.text else ""
    return " ".join(f"{lead}{c.text}".split())
