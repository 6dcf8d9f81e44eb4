"""Scoring functions: retrieval ranks, key facts, citations, refusals, language, latency.

Every function takes plain values (ranked document keys, answer text, citation dicts) so that each can
be tested on hand-made cases whose right result is known.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.attribution import SupportChecker
from rag.prompting import detect_language
from rag.types import Chunk

# --- retrieval ------------------------------------------------------------------------------------


def dedupe(items: Iterable[str]) -> list[str]:
    """Keep the first occurrence of every item: passages (chunks) ranked -> documents ranked."""
    seen: set[str] = set()
    out = []
    for it in items:
        if it not in seen:
            seen.add(it)
            out.append(it)
    return out


def hit_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    _check_k(k)
    return 1.0 if any(r in gold for r in ranked[:k]) else 0.0


def recall_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    _check_k(k)
    if not gold:
        raise ValueError("recall needs at least one gold item")
    return len(gold & set(ranked[:k])) / len(gold)


def reciprocal_rank(ranked: Sequence[str], gold: set[str]) -> float:
    for i, r in enumerate(ranked, 1):
        if r in gold:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k (as in MTEB/SEB): each distinct gold item counts once."""
    _check_k(k)
    if not gold:
        raise ValueError("nDCG needs at least one gold item")
    dcg = 0.0
    counted: set[str] = set()
    for i, r in enumerate(ranked[:k], 1):
        if r in gold and r not in counted:
            counted.add(r)
            dcg += 1.0 / math.log2(i + 1)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def retrieval_scores(
    ranked_docs: Sequence[str], gold: set[str], ks: Sequence[int] = (1, 3)
) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in ks:
        out[f"hit@{k}"] = hit_at_k(ranked_docs, gold, k)
        out[f"recall@{k}"] = recall_at_k(ranked_docs, gold, k)
    out["mrr"] = reciprocal_rank(ranked_docs, gold)
    out["ndcg@10"] = ndcg_at_k(ranked_docs, gold, 10)
    return out


def _check_k(k: int) -> None:
    if k <= 0:
        raise ValueError(f"k must be greater than 0, got {k}")


# --- key facts ------------------------------------------------------------------------------------

_DASHES = re.compile(r"[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D-]")
_SPACE = re.compile(r"\s+")


def normalize_for_match(text: str) -> str:
    """Case-folded, NFC, every dash variant '-', runs of whitespace one space, no space around dashes."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = _DASHES.sub("-", text)
    text = _SPACE.sub(" ", text)
    text = re.sub(r" ?- ?", "-", text)
    return text.strip()


def contains(text: str, alternative: str) -> bool:
    return normalize_for_match(alternative) in normalize_for_match(text)


@dataclass(frozen=True)
class KeyFactResult:
    groups: int
    found: int
    missed: list[list[str]]  # the groups of which no alternative occurs

    @property
    def all_found(self) -> bool:
        return self.found == self.groups

    @property
    def share(self) -> float:
        return self.found / self.groups if self.groups else 1.0


def key_facts(answer: str, must_contain: Sequence[Sequence[str]]) -> KeyFactResult:
    """Every group must be met by at least one of its alternatives."""
    missed = [list(g) for g in must_contain if not any(contains(answer, alt) for alt in g)]
    return KeyFactResult(groups=len(must_contain), found=len(must_contain) - len(missed), missed=missed)


# --- citations ------------------------------------------------------------------------------------

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_segments(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer at its [n] markers: each piece of text with the citation numbers that close it.

    Text after the last marker comes back with an empty list (uncited)."""
    out: list[tuple[str, list[int]]] = []
    pos = 0
    for m in _MARKER.finditer(answer):
        out.append((answer[pos : m.start()], [int(n) for n in re.split(r"\s*,\s*", m.group(1))]))
        pos = m.end()
    out.append((answer[pos:], []))
    return [(text.strip(), ns) for text, ns in out if text.strip(" \n\t.,;:")]


def chunk_from_dict(data: Mapping[str, Any]) -> Chunk:
    """A Chunk good enough for support checks, from a citation or passage dict of `rag ask --json`."""
    return Chunk(
        chunk_id=str(data.get("chunk_id", "")),
        doc_id=str(data.get("doc_id", "")),
        source=str(data.get("source", "")),
        title=str(data.get("title", "")),
        text=str(data.get("text", "")),
        start=0,
        end=len(str(data.get("text", ""))),
        sha256="",
    )


@dataclass(frozen=True)
class SupportResult:
    sentences: int
    supported: int
    unsupported: list[str]  # sentence texts (with the reason) that their cited passage does not support

    @property
    def share(self) -> float | None:
        return self.supported / self.sentences if self.sentences else None


def _own_note_patterns() -> list[re.Pattern[str]]:
    """The service's own fixed sentences (rag.prompting.TEXTS, e.g. 'Obs: källan [1] är från 2022 …'):
    notes to the resident, not claims from a passage, so citation support does not score them."""
    from rag.prompting import TEXTS

    out = []
    for texts in TEXTS.values():
        for template in texts.values():
            parts = re.split(r"\{\w+\}", template)
            out.append(re.compile(".+?".join(re.escape(p) for p in parts), re.S))
    return out


def strip_own_notes(answer: str) -> str:
    pats = _own_note_patterns()
    lines = [ln for ln in answer.split("\n") if not any(p.fullmatch(ln.strip()) for p in pats)]
    return "\n".join(lines)


# From the first opening to the last closing mark: a quoted source sentence may itself hold a quotation.
# The quotation after a lead's colon ('Så här står det i X: ”…”'; an English lead quotes X's title too).
_OUTER_QUOTE = re.compile(r":\s*[”“\"«](.*)[”\"»]", re.DOTALL)


def citation_support(
    answer: str,
    citations: Sequence[Mapping[str, Any]],
    checker: SupportChecker,
    *,
    question: str = "",
) -> SupportResult:
    """Share of answer sentences supported by a passage they cite (same checker as the service).

    A sentence with no marker, or whose marker points to no citation, is unsupported. Where a cited
    segment quotes a source, the quotation is what is checked."""
    from rag.text import split_sentences

    by_n = {int(c["n"]): chunk_from_dict(c) for c in citations if "n" in c}
    total = supported = 0
    unsupported: list[str] = []
    for text, ns in cited_segments(strip_own_notes(answer)):
        passages = [by_n[n] for n in ns if n in by_n]
        # 'This is what X says: ”…”': the lead is the assistant's own words; the quotation is one claim.
        quoted = _OUTER_QUOTE.search(text)
        for sentence in [quoted.group(1)] if quoted else split_sentences(text):
            if not re.search(r"\w", sentence):
                continue
            total += 1
            if not passages:
                unsupported.append(f"{sentence} (cites {ns or 'nothing'}: no such source)")
                continue
            att = checker.check(sentence, passages, question=question)
            if att.check.supported:
                supported += 1
            else:
                unsupported.append(f"{sentence} ({att.check.reason})")
    return SupportResult(sentences=total, supported=supported, unsupported=unsupported)


def citation_precision(citations: Sequence[Mapping[str, Any]], gold: set[str]) -> float | None:
    """Share of cited passages whose document is a gold source; None when nothing is cited."""
    from eval.dataset import doc_key

    if not citations:
        return None
    good = sum(1 for c in citations if doc_key(str(c.get("source") or c.get("doc_id") or "")) in gold)
    return good / len(citations)


# --- refusals -------------------------------------------------------------------------------------


def has_handoff(answer: str, phone: str | None) -> bool:
    """True when the answer gives kontaktcenter's phone number (digits compared, spacing ignored)."""
    if not phone:
        return False
    digits = re.sub(r"\D", "", phone)
    return bool(digits) and digits in re.sub(r"\D", "", answer)


@dataclass(frozen=True)
class RefusalOutcome:
    answerable: bool
    refused: bool
    handoff: bool

    @property
    def correct(self) -> bool:
        if self.answerable:
            return not self.refused
        return self.refused and self.handoff

    @property
    def kind(self) -> str:
        """tp: refused with hand-off when it should; fp: refused an answerable one; fn: should have refused
        (with hand-off) but did not; tn: answered an answerable one."""
        if self.answerable:
            return "fp" if self.refused else "tn"
        return "tp" if (self.refused and self.handoff) else "fn"


def refusal_precision_recall(outcomes: Sequence[RefusalOutcome]) -> dict[str, float | None]:
    kinds = [o.kind for o in outcomes]
    tp, fp, fn = kinds.count("tp"), kinds.count("fp"), kinds.count("fn")
    return {
        "refusal_precision": tp / (tp + fp) if tp + fp else None,
        "refusal_recall": tp / (tp + fn) if tp + fn else None,
    }


# --- language -------------------------------------------------------------------------------------

_QUOTED = re.compile(r"[”“\"«][^”“\"«»]*[”\"»]")
# Frequent function words; a word that is a function word in both languages is left out.
_FUNCTION_WORDS = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "you",
            "your",
            "to",
            "of",
            "in",
            "on",
            "for",
            "can",
            "with",
            "what",
            "this",
            "that",
            "not",
            "it",
            "at",
            "by",
            "from",
            "be",
            "will",
            "a",
            "an",
            "about",
            "could",
            "would",
            "please",
            "if",
            "or",
            "we",
            "our",
            "they",
            "there",
            "here",
            "which",
            "who",
            "how",
            "when",
            "where",
            "do",
            "does",
            "did",
            "have",
            "has",
        ]
    ),
    "sv": frozenset(
        [
            "och",
            "är",
            "att",
            "det",
            "du",
            "på",
            "för",
            "med",
            "som",
            "ett",
            "av",
            "inte",
            "kan",
            "har",
            "vi",
            "jag",
            "till",
            "om",
            "den",
            "de",
            "hur",
            "vad",
            "när",
            "var",
            "finns",
            "eller",
            "från",
            "här",
            "där",
            "vill",
            "ska",
            "kommer",
            "också",
            "men",
            "så",
            "dig",
            "din",
            "ditt",
            "vår",
            "våra",
            "hos",
            "efter",
            "vid",
        ]
    ),
}


def answer_language(answer: str) -> str:
    """The language the answer itself is written in, by counting function words.

    Quotations from the (Swedish) sources and [n] markers are left out, and Swedish names in an English
    answer (opening hours 'Måndag–onsdag', 'Stortorget') do not decide it: letters such as å/ä/ö count only
    when the function words tie."""
    own = _MARKER.sub(" ", _QUOTED.sub(" ", answer))
    words = re.findall(r"[^\W\d_]+", own.lower())
    en = sum(w in _FUNCTION_WORDS["en"] for w in words)
    sv = sum(w in _FUNCTION_WORDS["sv"] for w in words)
    if en != sv:
        return "en" if en > sv else "sv"
    return detect_language(own if own.strip() else answer)


# --- latency --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None
