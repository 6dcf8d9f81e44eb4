"""Hybrid retrieval: dense (FAISS) + lexical (BM25) fused by reciprocal rank, and the relevance verdict.

The relevance verdict decides, before any LLM call, whether the corpus can answer at all. It rests on
evidence that does not depend on where an embedder's cosines happen to sit:

* ``coverage``: the weighted share of the question's topic terms that occur in a retrieved passage.
  Every term weighs by how specific it is in Swedish at large (wordfreq): a term the corpus contains
  weighs its corpus idf times that specificity, so an everyday word that happens to be rare in a small
  corpus ("öppet", "gamla") cannot carry a question alone; a term the corpus never contains weighs the
  rarest corpus term's idf times it, so a question about something the documents do not mention
  ("bygglov", "bibliotek") scores low however well its other words match, while an absent everyday word
  ("höll") costs little. A long word that Swedish at large does not know either is taken as misspelt
  and stands for the index's terms one or two edits from it ("indusrtielektikern"), since the dense
  channel reads past a typo and the gate would refuse on it alone.
* ``states_count``: a question asking "hur många X" needs a passage sentence giving a number of X; when
  none does, the documents cannot answer it however well its words match ("hur många invånare har
  Helsingborg?" meets "invånare" and "Helsingborg" everywhere, never with their number), and confidence
  is 0.
* ``dense_margin``: how far the best cosine stands above the median of the top hits, in units of the
  spread of the whole top list; a question that matches one passage clearly stands out, one that
  matches nothing gives a flat list.

confidence = coverage, lifted by a clear dense margin; the threshold (Settings.relevance_threshold)
is calibrated on the dev set (`python -m eval calibrate RUN`; the trade-off curve is in docs/retrieval.md).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from rag.embedders.base import Embedder
from rag.evidence import states_count
from rag.index.lexical import BM25Index
from rag.store import IndexData
from rag.text import lexical_tokens, stem, topic_words
from rag.types import Hit, Retrieval

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int = 8
    candidates: int = 30  # per channel, before fusion
    rrf_k: int = 30
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    relevance_threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.top_k <= 0 or self.candidates < self.top_k:
            raise ValueError(
                f"need 0 < top_k <= candidates, got top_k={self.top_k}, candidates={self.candidates}"
            )


class HybridRetriever:
    def __init__(
        self, data: IndexData, embedder: Embedder, settings: RetrievalSettings | None = None
    ) -> None:
        if data.manifest.embedder_id != embedder.model_id:
            from rag.errors import IndexCorruptError

            raise IndexCorruptError(
                str(data.path),
                f"it was built with {data.manifest.embedder_id} but the configured embedder is "
                f"{embedder.model_id}; re-run ingest to rebuild it",
            )
        self.data = data
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.timings_ms: dict[str, float] = {}
        self._present: dict[str, frozenset[str]] = {}

    @property
    def lexical(self) -> BM25Index:
        return self.data.lexical

    def search(self, query: str, k: int | None = None, *, gate_query: str | None = None) -> Retrieval:
        """Fused hits for query; the relevance verdict is taken on gate_query when given (the trusted part
        of a translated question), else on query."""
        s = self.settings
        k = k or s.top_k
        t0 = time.perf_counter()
        qvec = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        dense = self.data.dense.search(qvec, s.candidates)
        t2 = time.perf_counter()
        lexical = self.lexical.search(query, s.candidates)
        t3 = time.perf_counter()

        fused: dict[int, float] = {}
        dense_rank = {pos: r for r, (pos, _) in enumerate(dense, 1)}
        lex_rank = {pos: r for r, (pos, _) in enumerate(lexical, 1)}
        for pos, r in dense_rank.items():
            fused[pos] = fused.get(pos, 0.0) + s.dense_weight / (s.rrf_k + r)
        for pos, r in lex_rank.items():
            fused[pos] = fused.get(pos, 0.0) + s.lexical_weight / (s.rrf_k + r)
        order = sorted(fused, key=lambda p: (-fused[p], p))[:k]
        dense_score = dict(dense)
        lex_score = dict(lexical)
        # cosines for fused hits the dense channel did not list (cheap: vectors are in memory)
        hits = []
        for pos in order:
            cos = dense_score.get(pos)
            if cos is None:
                cos = float(self.data.vectors[pos] @ qvec)
            hits.append(
                Hit(
                    chunk=self.data.chunks[pos],
                    score=fused[pos],
                    ranks={"dense": dense_rank.get(pos), "lexical": lex_rank.get(pos)},
                    scores={"dense": cos, "lexical": lex_score.get(pos)},
                )
            )
        confidence, reason = self.relevance(gate_query or query, hits, [sc for _, sc in dense])
        signals = self.signals(gate_query or query, hits, [sc for _, sc in dense])
        # The whole query's coverage too, where the gate trusts only part of it: "Vart ligger ni?" is about
        # the city's kontaktcenter, which only the query (with the addressee) names.
        whole = self.signals(query, hits, []) if gate_query and gate_query != query else signals
        signals["coverage_whole"] = max(signals["coverage_best"], whole["coverage_best"])
        t4 = time.perf_counter()
        self.timings_ms = {
            "embed_query": (t1 - t0) * 1000,
            "dense_search": (t2 - t1) * 1000,
            "lexical_search": (t3 - t2) * 1000,
            "fusion": (t4 - t3) * 1000,
        }
        return Retrieval(
            query=query,
            hits=hits,
            relevant=confidence >= s.relevance_threshold,
            confidence=confidence,
            reason=reason,
            signals=signals,
            query_vector=qvec,
        )

    # --- the relevance verdict ---------------------------------------------------------------------

    def term_weights(self, query: str) -> dict[str, tuple[float, frozenset[str]]]:
        """Topic terms of the query -> (weight, the index terms that count as that term present).

        Both kinds of term are scaled by the word's specificity in Swedish at large (wordfreq): a term the
        index knows weighs its corpus idf times it; a term the index cannot match at all weighs the rarest
        corpus term's idf times it. A rare word the documents never use ('bygglov', 'parkeringsbot') so
        makes the question look unanswerable, an everyday one ('höll', 'gammal') hardly matters either way.
        The trade-off on the dev set: docs/retrieval.md, "Refusal before the LLM"."""
        lex = self.lexical
        n = max(len(lex), 1)
        max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        weights: dict[str, tuple[float, frozenset[str]]] = {}
        for word in topic_words(query):
            term = word if word[0].isdigit() else stem(word)
            if len(term) < 2 or term in weights:
                continue
            expansions = lex.expand(term)
            specificity = word_specificity(word)
            if not expansions and not known_in_swedish(word):
                # A word Swedish at large does not know either is most often misspelt ("indusrtielektikern"):
                # the index's nearest spelling stands for it. The embedder reads past a typo; this gate would not.
                expansions = lex.near_spellings(term)
            if expansions:
                idf = max(float(lex.idf[lex.vocab[e]]) for e in expansions)
                weights[term] = (idf * specificity, frozenset(expansions))
            else:
                weights[term] = (max_idf * specificity, frozenset())
        return weights

    def coverage(self, query: str, text: str) -> float:
        """idf-weighted share of the query's topic terms that occur in text."""
        weights = self.term_weights(query)
        total = sum(w for w, _ in weights.values())
        if total <= 0:
            return 0.0
        present = self.present_terms(text)
        return sum(w for w, exp in weights.values() if exp & present) / total

    def present_terms(self, text: str) -> frozenset[str]:
        """The lexical terms of a text with the parts of its compounds: what a query term can meet there.
        Cached per text (the same passages and units come back question after question)."""
        cache = self._present
        found = cache.get(text)
        if found is None:
            tokens = lexical_tokens(text)
            found = frozenset(tokens) | {p for t in tokens for p in self.lexical.split_compound(t)}
            if len(cache) > 200_000:
                cache.clear()
            cache[text] = found
        return found

    def signals(self, query: str, hits: list[Hit], dense_scores: list[float]) -> dict[str, float]:
        """What retrieval measured about the question as a whole, for the fitted relevance gate
        (rag/stages/gate.py): weighted topic coverage of the best and the first passage, the weight of the
        heaviest topic term no passage holds, the dense channel's top cosine and margin, and whether a
        "hur många X" question finds no number of X."""
        weights = self.term_weights(query)
        total = sum(w for w, _ in weights.values()) or 1.0
        present: set[str] = set()
        covers = []
        for h in hits:
            terms = self.present_terms(h.chunk.titled_text)
            present |= terms
            covers.append(sum(w for w, exp in weights.values() if exp & terms) / total)
        uncovered = max((w for w, exp in weights.values() if not exp & present), default=0.0) / total
        absent = sum(w for w, exp in weights.values() if not exp) / total  # terms the whole index lacks
        margin = 0.0
        if len(dense_scores) >= 4:
            arr = np.asarray(dense_scores, dtype=np.float32)
            spread = float(arr.max() - arr.min()) or 1e-6
            margin = float((arr[0] - np.median(arr[: min(len(arr), 8)])) / spread)
        return {
            "coverage_best": max(covers, default=0.0),
            "coverage_top": covers[0] if covers else 0.0,
            "uncovered": uncovered,
            "dense_top": float(dense_scores[0]) if dense_scores else 0.0,
            "dense_margin": margin,
            "count_missing": float(states_count(query, [h.chunk for h in hits]) is False),
            "terms_log": math.log1p(len(weights)),
            "absent": absent,
        }

    def relevance(self, query: str, hits: list[Hit], dense_scores: list[float]) -> tuple[float, str]:
        if not hits:
            return 0.0, "no passages"
        weights = self.term_weights(query)
        total = sum(w for w, _ in weights.values()) or 1.0
        coverage = max(
            sum(w for w, exp in weights.values() if exp & self.present_terms(h.chunk.titled_text)) / total
            for h in hits
        )
        margin = 0.0
        if len(dense_scores) >= 4:
            arr = np.asarray(dense_scores, dtype=np.float32)
            spread = float(arr.max() - arr.min()) or 1e-6
            margin = float((arr[0] - np.median(arr[: min(len(arr), 8)])) / spread)
        confidence = min(1.0, coverage + 0.25 * max(0.0, margin - 0.35))
        reason = f"coverage={coverage:.2f} dense_margin={margin:.2f}"
        if states_count(query, [h.chunk for h in hits]) is False:
            return 0.0, f"{reason}; it asks how many, and no passage gives that number"
        return confidence, reason


def _swedish_zipf(word: str) -> float | None:
    """The word's Zipf frequency in Swedish at large (0 when wordfreq has never seen it), or None
    without wordfreq."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover - wordfreq is a dependency; keep working without it
        return None
    return float(zipf_frequency(word, "sv"))


def word_specificity(word: str) -> float:
    """0.15..1: how much a word says about a question's topic, from its Swedish Zipf frequency (7 = the
    commonest words, 3 = rare). Without wordfreq every word weighs fully."""
    zipf = _swedish_zipf(word)
    return 1.0 if zipf is None else min(1.0, max(0.15, (6.0 - zipf) / 3.0))


def known_in_swedish(word: str) -> bool:
    """Whether wordfreq has seen the word in Swedish at all (True without wordfreq: nothing is doubted)."""
    zipf = _swedish_zipf(word)
    return zipf is None or zipf > 0
