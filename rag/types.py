"""Typed values passed between the seams: documents, chunks, hits, answers."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Document:
    """One corpus document after loading and normalisation."""

    doc_id: str  # file name without extension, e.g. "transformationsarena-almedalen"
    source: str  # file name inside the corpus, e.g. "transformationsarena-almedalen.txt"
    title: str
    text: str
    sha256: str  # of the raw file bytes
    date: str | None = None  # ISO date (YYYY or YYYY-MM-DD) when the document says when it is from
    url: str | None = None
    pages: tuple[int, ...] | None = None  # offset in text where each page starts; None: not paginated
    original_text: str | None = None  # the text as extracted, before å/ä/ö were restored (same length)
    notes: tuple[str, ...] = ()  # for the ingest report: low OCR confidence, unread pages

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that holds the character at offset (None for an unpaginated document)."""
        if not self.pages:
            return None
        return max(1, bisect_right(self.pages, max(offset, 0)))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pages"] = list(self.pages) if self.pages is not None else None
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if values.get("pages") is not None:
            values["pages"] = tuple(values["pages"])
        values["notes"] = tuple(values.get("notes") or ())
        return cls(**values)


def page_label(page: int | None, page_end: int | None = None) -> str:
    """'s. 4', 's. 4–5', or '' for an unpaginated document."""
    if page is None:
        return ""
    if page_end is not None and page_end != page:
        return f"s. {page}–{page_end}"
    return f"s. {page}"


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, the unit that is embedded, searched and cited."""

    chunk_id: str  # "<doc_id>#<ordinal>-<hash8>": stable while the text is unchanged
    doc_id: str
    source: str
    title: str
    text: str
    start: int  # character offsets into Document.text
    end: int
    sha256: str  # of the chunk text
    ordinal: int = 0
    date: str | None = None
    url: str | None = None
    page: int | None = None  # the page the passage starts on (None: the document has no pages)
    page_end: int | None = None  # the page it ends on

    @property
    def page_label(self) -> str:
        """'s. 4' (or 's. 4–5'), '' for an unpaginated document: what a citation says of the page."""
        return page_label(self.page, self.page_end)

    @property
    def titled_text(self) -> str:
        """Title and text: what the lexical index, the relevance gate and the support check read."""
        return f"{self.title}\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the per-channel evidence."""

    chunk: Chunk
    score: float  # fused score (higher is better)
    ranks: dict[str, int | None] = field(default_factory=dict)  # channel -> 1-based rank, None if absent
    scores: dict[str, float | None] = field(default_factory=dict)  # channel -> raw score

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk.chunk_id,
            "doc_id": self.chunk.doc_id,
            "title": self.chunk.title,
            "source": self.chunk.source,
            "page": self.chunk.page,
            "text": self.chunk.text,
            "score": round(self.score, 6),
            "ranks": dict(self.ranks),
            "scores": {k: (None if v is None else round(v, 6)) for k, v in self.scores.items()},
        }


@dataclass(frozen=True)
class Retrieval:
    """What retrieval hands to the answer step: ranked hits and the relevance verdict."""

    query: str
    hits: list[Hit]
    relevant: bool
    confidence: float  # the calibrated relevance score the verdict was taken on
    reason: str  # short English explanation for staff and logs
    signals: dict[str, float] = field(
        default_factory=dict
    )  # measured about the question (HybridRetriever.signals)
    query_vector: Any = None  # the embedder's vector of the query (numpy array), reused by the scorer


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker used in the answer text
    chunk: Chunk
    score: float  # support of the sentences that cite it (0..1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.chunk.doc_id,
            "title": self.chunk.title,
            "source": self.chunk.source,
            "page": self.chunk.page,
            "page_end": self.chunk.page_end,
            "chunk_id": self.chunk.chunk_id,
            "text": self.chunk.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence of a generated or drafted answer."""

    text: str
    supported: bool
    support: float  # 0..1, best passage
    chunk_id: str | None  # best supporting passage
    missing_facts: list[str] = field(default_factory=list)  # numbers, dates, names absent from that passage
    reason: str = ""
    unit: str | None = (
        None  # the unit of that passage (sentence, list item, "Label: value" line …) binding it
    )
    bound: list[str] = field(default_factory=list)  # the sentence's facts and words found in that unit
    probability: float | None = None  # that it answers (its binding unit's, else its own score), if kept
    unit_probability: float | None = None  # the scorer's probability for the source unit binding it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str


@dataclass
class Answer:
    """The one result type every door (CLI, chat, API, evaluation) receives."""

    question: str
    text: str
    refused: bool
    language: str = "sv"
    citations: list[Citation] = field(default_factory=list)
    passages: list[Hit] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)  # every generated sentence, kept or removed
    refusal_reason: str | None = None  # "empty", "not_relevant", ... (machine-readable)
    notices: list[str] = field(default_factory=list)  # Swedish notes to the resident (question cut, ...)
    llm_called: bool = False
    fallback: bool = False  # True when the answer quotes the best passage instead of generated text
    prompt: str | None = None
    raw_generation: str | None = None
    confidence: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    tokens_generated: int = 0
    candidates: list[dict[str, Any]] = field(
        default_factory=list
    )  # best-scored source units (text, probability)
    decision: str = ""  # why these sentences were shown (or the answer refused), for staff

    def to_json_dict(self, *, debug: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [h.to_dict() for h in self.passages],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "refusal_reason": self.refusal_reason,
            "llm_called": self.llm_called,
            "fallback": self.fallback,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "notices": list(self.notices),
            "tokens_generated": self.tokens_generated,
            "sentences": [s.to_dict() for s in self.sentences],
            "candidates": list(self.candidates),
            "decision": self.decision,
        }
        if debug:
            data["prompt"] = self.prompt
            data["raw_generation"] = self.raw_generation
        return data


@dataclass(frozen=True)
class AnswerDelta:
    """A streamed piece of verified answer text (one or more whole sentences)."""

    text: str


@dataclass(frozen=True)
class IngestReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> reason
    notes: dict[str, list[str]] = field(default_factory=dict)  # file -> what staff should know (OCR, repair)
    chunks_embedded: int = 0
    chunks_total: int = 0
    units_embedded: int = 0  # sentences, list items … embedded for the answer-sentence scorer
    full_rebuild_reason: str | None = None
    index_dir: str = ""
    seconds: float = 0.0

    @property
    def wrote_index(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.full_rebuild_reason)
