"""The answer-sentence scorer: a calibrated probability that one unit of a retrieved passage answers the question.

One fitted component instead of hand-ordered choices. Every unit (rag/units.py: a sentence, a list item, a
"Label: value" line, a contact block) of the retrieved passages is described by measured features — how
close the embedder puts it and the text before it to the question, how much of the question's weighted
topic it covers, whether it holds the kind of fact the question word asks for (a feature, not a gate), its
numbers and names, where it stands, how its passage ranked — and a logistic model fitted on SweQUAD-MC
training (a unit holding the gold answer span is a positive) and the resident `tune` split turns them into
a probability. It decides what the LLM reads, whether a written sentence answers, and which sentence to
quote when none does. The fit, its data and its report: eval/fit.py, rag/params/answer_scorer.json.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.embedders.cache import VectorCache
from rag.errors import ConfigError
from rag.evidence import asks_yes_or_no, expected_kind, holds_kind
from rag.logistic import LogisticModel
from rag.text import content_terms, extract_facts
from rag.types import Chunk, Hit
from rag.units import UnitKind, source_units

log = logging.getLogger(__name__)

PARAMS = Path(__file__).resolve().parent / "params" / "answer_scorer.json"

# term -> (weight, the index terms that count as it present); see HybridRetriever.term_weights
TermWeights = dict[str, tuple[float, frozenset[str]]]
Present = Callable[[str], frozenset[str]]  # a text's lexical terms with its compounds' parts

FEATURES: tuple[str, ...] = (
    "cos_unit",
    "cos_unit_rel",
    "cos_prev",
    "cos_next",
    "cos_passage",
    "cov_unit",
    "cov_unit_rel",
    "cov_context",
    "cov_window",
    "cov_window_rel",
    "cov_focus",
    "cov_addressee",
    "prev_leadin",
    "kind_held_window",
    "rank_log",
    "lexical_hit",
    "kind_held",
    "kind_missing",
    "yes_no",
    "facts_log",
    "has_number",
    "has_name",
    "new_terms",
    "length_log",
    "short",
    "is_question",
    "position",
    "is_label",
    "is_item",
    "is_contact",
    "is_cell",
    "is_heading",
)


@dataclass(frozen=True)
class Query:
    """What the scorer knows of the question."""

    text: str  # standalone, in Swedish (a follow-up joined with what it follows up)
    focus: str  # the resident's own last words (the follow-up itself; else the same as text)
    vector: np.ndarray  # the embedder's query vector of text
    weights: TermWeights  # topic terms of text with their weights
    focus_weights: TermWeights
    present: Present  # HybridRetriever.present_terms
    addressee_weights: TermWeights | None = None  # "ni"/"you": the city and its kontaktcenter, when addressed


class Lexicon(Protocol):
    """What the scorer needs of the retriever: term weights (HybridRetriever.term_weights) and its index."""

    def term_weights(self, query: str) -> TermWeights: ...

    def present_terms(self, text: str) -> frozenset[str]: ...


def make_query(
    lexicon: Lexicon, standalone: str, focus: str, vector: np.ndarray, *, addressed: bool
) -> Query:
    """The scorer's view of a prepared question (rag/stages/guard.py Prepared): its standalone text and the
    resident's own words, weighted by the retriever; the addressee ("ni": the city and its kontaktcenter)
    as a feature of its own rather than words of the question."""
    from rag.stages.guard import ADDRESSEE_SV

    return Query(
        standalone,
        focus,
        vector,
        lexicon.term_weights(standalone),
        lexicon.term_weights(focus),
        lexicon.present_terms,
        lexicon.term_weights(ADDRESSEE_SV) if addressed else None,
    )


@dataclass(frozen=True)
class Candidate:
    text: str  # the unit, as it would be quoted
    kind: UnitKind
    passage: Chunk
    rank: int  # 0-based rank of its passage among the hits
    position: float  # 0 (first unit of its passage) .. 1 (last)
    previous: str  # the unit before it in its passage, or its heading ("" when none)
    following: str  # the unit after it in its passage ("" when none)
    passage_cosine: float
    lexical_rank: int | None


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    probability: float
    features: dict[str, float]


def coverage(weights: TermWeights, present: Present, text: str) -> float:
    """Weighted share of the question's topic terms present in text (compound parts count)."""
    total = sum(w for w, _ in weights.values())
    if total <= 0:
        return 0.0
    terms = present(text)
    return sum(w for w, exp in weights.values() if exp & terms) / total


def candidates(hits: Sequence[Hit]) -> list[Candidate]:
    """Every unit of the hits' passages, passage by passage in rank order; a unit that two overlapping
    passages share comes once, with the better-ranked one."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits):
        units = source_units(hit.chunk.text, hit.chunk.title)
        n = max(len(units) - 1, 1)
        for i, unit in enumerate(units):
            key = f"{hit.chunk.doc_id}\n{unit.text}"
            if len(unit.text) < 3 or key in seen:
                continue
            seen.add(key)
            previous = units[i - 1].text if i > 0 else unit.context.split("\n")[-1] if unit.context else ""
            following = units[i + 1].text if i + 1 < len(units) else ""
            out.append(
                Candidate(
                    unit.text,
                    unit.kind,
                    hit.chunk,
                    rank,
                    i / n,
                    previous,
                    following,
                    float(hit.scores.get("dense") or 0.0),
                    hit.ranks.get("lexical"),
                )
            )
    return out


class AnswerScorer:
    """Scores candidate units against a query with a fitted LogisticModel; unit vectors come from a
    VectorCache (embedded at ingest)."""

    def __init__(self, model: LogisticModel, vectors: VectorCache) -> None:
        if model.features != FEATURES:
            raise ValueError(
                f"the scorer's parameter file has features {model.features}, this code computes {FEATURES}; "
                "refit it: python -m eval fit scorer"
            )
        self.model = model
        self.vectors = vectors

    @classmethod
    def load(cls, vectors: VectorCache, path: Path = PARAMS) -> AnswerScorer:
        return cls(LogisticModel.load(path), vectors)

    def features(self, query: Query, found: Sequence[Candidate]) -> np.ndarray:
        """The feature matrix of the candidates, columns in FEATURES order."""
        if not found:
            return np.zeros((0, len(FEATURES)))
        texts = [c.text for c in found]
        prev = [c.previous or c.text for c in found]
        nxt = [c.following or c.text for c in found]
        distinct = list(dict.fromkeys(texts + prev + nxt))
        vecs = self.vectors.vectors(distinct)
        row_of = {t: i for i, t in enumerate(distinct)}
        cos_unit = np.array([float(vecs[row_of[t]] @ query.vector) for t in texts])
        cos_prev = np.array([float(vecs[row_of[t]] @ query.vector) for t in prev])
        cos_next = np.array([float(vecs[row_of[t]] @ query.vector) for t in nxt])
        cov_unit = np.array([coverage(query.weights, query.present, t) for t in texts])
        cov_window = np.array(
            [coverage(query.weights, query.present, f"{c.previous}\n{c.text}\n{c.following}") for c in found]
        )
        kind = expected_kind(query.focus) or expected_kind(query.text)
        yes_no = float(asks_yes_or_no(query.focus))
        q_terms = content_terms(query.text)
        rows = []
        for i, c in enumerate(found):
            context = f"{c.passage.title}\n{c.previous}\n{c.text}"
            facts = extract_facts(c.text)
            terms = content_terms(c.text)
            held = holds_kind(c.text, kind, query.focus) if kind else False
            values = {
                "cos_unit": cos_unit[i],
                "cos_unit_rel": cos_unit[i] - cos_unit.max(),
                "cos_prev": cos_prev[i],
                "cos_next": cos_next[i],
                "cos_passage": c.passage_cosine,
                "cov_unit": cov_unit[i],
                "cov_unit_rel": cov_unit[i] - cov_unit.max(),
                "cov_context": coverage(query.weights, query.present, context),
                "cov_window": cov_window[i],
                "cov_window_rel": cov_window[i] - cov_window.max(),
                "cov_focus": coverage(query.focus_weights, query.present, context),
                "cov_addressee": (
                    coverage(query.addressee_weights, query.present, c.passage.titled_text)
                    if query.addressee_weights
                    else 0.0
                ),
                "prev_leadin": float(bool(c.previous) and c.previous.rstrip(' *”"').endswith((":", "?"))),
                "kind_held_window": float(held) * cov_window[i],
                "rank_log": math.log1p(c.rank),
                "lexical_hit": float(c.lexical_rank is not None),
                "kind_held": float(held),
                "kind_missing": float(kind is not None and not held),
                "yes_no": yes_no,
                "facts_log": math.log1p(len(facts)),
                "has_number": float(any(f[:1].isdigit() for f in facts)),
                "has_name": float(any(not f[:1].isdigit() for f in facts)),
                "new_terms": len(terms - q_terms) / len(terms) if terms else 0.0,
                "length_log": math.log(len(c.text)),
                "short": float(len(c.text) < 40),
                "is_question": float(c.text.rstrip(" \"”'*)").endswith("?")),
                "position": c.position,
                "is_label": float(c.kind == "label"),
                "is_item": float(c.kind == "item"),
                "is_contact": float(c.kind == "contact"),
                "is_cell": float(c.kind == "cell"),
                "is_heading": float(c.kind == "heading"),
            }
            rows.append([values[f] for f in FEATURES])
        return np.array(rows, dtype=np.float64)

    def score(self, query: Query, found: Sequence[Candidate]) -> list[Scored]:
        """The candidates with their probability of answering, best first (ties: better-ranked passage)."""
        x = self.features(query, found)
        if not len(x):
            return []
        p = self.model.predict(x)
        scored = [
            Scored(c, float(p[i]), dict(zip(FEATURES, map(float, x[i]), strict=True)))
            for i, c in enumerate(found)
        ]
        return sorted(scored, key=lambda s: (-s.probability, s.candidate.rank, s.candidate.position))

    def score_written(
        self, query: Query, sentence: str, passage: Chunk, found: Sequence[Candidate], unit: str | None = None
    ) -> float:
        """The probability that a sentence the LLM wrote, supported by passage, answers the question: scored
        as if it stood in the place of the unit that binds its facts (its neighbours, its passage's rank),
        beside the other candidates (the relative features)."""
        place = next((c for c in found if unit and c.text in unit), None) or next(
            (c for c in found if c.passage.chunk_id == passage.chunk_id), None
        )
        if place is None:
            c = Candidate(sentence, "sentence", passage, len(found), 0.5, "", "", 0.0, None)
        else:
            c = Candidate(
                sentence,
                "sentence",
                passage,
                place.rank,
                place.position,
                place.previous,
                place.following,
                place.passage_cosine,
                place.lexical_rank,
            )
        return float(self.model.predict(self.features(query, [c, *found])[:1])[0])


def fitted_for(path: Path, embedder_id: str, fallback: Callable[[], LogisticModel]) -> LogisticModel:
    """The model fitted at path when it was fitted with this embedder; else (another embedder, whose
    cosines sit elsewhere, or the tests' fake one) the hand-set word-level fallback, with a warning
    unless the embedder is the fake one."""
    try:
        model = LogisticModel.load(path)
    except ConfigError as exc:
        log.warning("%s; using word-level features only", exc)
        return fallback()
    fitted = (model.info or {}).get("embedder")
    if fitted == embedder_id:
        return model
    if not embedder_id.startswith("fake"):
        log.warning(
            "%s was fitted with the embedder %s, not %s: using word-level features only until it is refit "
            "(python -m eval fit scorer|gate --rebuild)",
            path.name,
            fitted,
            embedder_id,
        )
    return fallback()


def lexical_model() -> LogisticModel:
    """A hand-set model over the word-level features only: the deterministic scorer of the tests that run on
    the fake embedder, whose cosines mean nothing. It follows weighted topic coverage and the asked kind of
    fact; the fitted model (rag/params/answer_scorer.json) serves everywhere else."""
    weights = {
        "cov_context": 4.0,
        "cov_window": 1.0,
        "cov_unit": 3.0,
        "cov_focus": 1.0,
        "kind_held": 2.0,
        "kind_missing": -1.5,
        "is_question": -2.0,
        "is_heading": -1.5,
        "short": -0.5,
        "rank_log": -0.3,
    }
    n = len(FEATURES)
    return LogisticModel(
        FEATURES, np.zeros(n), np.ones(n), np.array([weights.get(f, 0.0) for f in FEATURES]), -5.0
    )
