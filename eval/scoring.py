"""Per-question scores and their aggregation (overall, answerable, unanswerable, per language)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eval import metrics
from eval.dataset import Question, doc_key
from rag.attribution import SupportChecker

RETRIEVAL_KS = (1, 3, 5)


@dataclass
class QuestionScore:
    """Every score of one question; None where a metric does not apply (e.g. key facts of a refusal)."""

    retrieval: dict[str, float] = field(default_factory=dict)
    context_hit: float | None = None  # a gold source among the passages given to the LLM
    key_facts: float | None = None  # 1.0 when every must_contain group is met
    key_fact_share: float | None = None
    missed_facts: list[list[str]] = field(default_factory=list)
    citation_precision: float | None = None
    citation_support: float | None = None
    unsupported_sentences: list[str] = field(default_factory=list)
    refused: bool = False
    handoff: bool = False
    refusal_kind: str = ""  # tp / fp / fn / tn, see metrics.RefusalOutcome
    refusal_correct: bool = False
    expected_language: str = "sv"
    answer_language: str | None = None
    language_match: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    tokens_per_s: float | None = None
    tokens: int = 0
    generation_ms: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["passed"] = self.passed
        return data


def score_question(
    q: Question,
    result: Mapping[str, Any],
    *,
    checker: SupportChecker,
    handoff_phone: str | None,
    context_k: int = 3,
    retrieval_only: bool = False,
) -> QuestionScore:
    """Score one answer (the `rag ask --json` dict) against its question's gold data."""
    from rag.prompting import detect_language

    s = QuestionScore()
    answer = str(result.get("answer") or "")
    passages = result.get("passages") or []
    citations = result.get("citations") or []
    gold = q.source_ids

    # retrieval: passages ranked -> documents ranked
    ranked_docs = metrics.dedupe(doc_key(str(p.get("source") or p.get("doc_id") or "")) for p in passages)
    if gold:
        s.retrieval = metrics.retrieval_scores(ranked_docs, gold, RETRIEVAL_KS)
        context_docs = {doc_key(str(p.get("source") or "")) for p in passages[:context_k]}
        s.context_hit = 1.0 if context_docs & gold else 0.0
        if q.answerable and not s.context_hit:
            s.failures.append(f"no gold source among the first {context_k} passages (got {ranked_docs[:3]})")

    # refusal
    s.refused = bool(result.get("refused"))
    s.handoff = metrics.has_handoff(answer, handoff_phone)
    outcome = metrics.RefusalOutcome(answerable=q.answerable, refused=s.refused, handoff=s.handoff)
    s.refusal_kind, s.refusal_correct = outcome.kind, outcome.correct
    if outcome.kind == "fp":
        s.failures.append("refused a question the documents answer")
    elif outcome.kind == "fn":
        s.failures.append("refused without the hand-off" if s.refused else "answered instead of refusing")

    # latency
    timings = result.get("timings_ms") or {}
    s.total_ms = _num(timings.get("total"))
    if result.get("llm_called"):
        s.ttft_ms = _num(timings.get("time_to_first_token"))
        s.generation_ms = _num(timings.get("generation"))
        s.tokens = int(result.get("tokens_generated") or 0)
        if s.generation_ms and s.tokens:
            s.tokens_per_s = s.tokens / (s.generation_ms / 1000)

    s.expected_language = q.lang or detect_language(q.question)
    if retrieval_only:
        return s

    # language (of every answer, refusals included: the hand-off must be in the resident's language)
    if answer.strip():
        s.answer_language = metrics.answer_language(answer)
        s.language_match = 1.0 if s.answer_language == s.expected_language else 0.0
        if not s.language_match:
            s.failures.append(f"answered in {s.answer_language!r}, asked in {s.expected_language!r}")

    if s.refused or not q.answerable:
        return s

    # key facts, citations: answered questions only
    if q.must_contain:
        kf = metrics.key_facts(answer, q.must_contain)
        s.key_facts = 1.0 if kf.all_found else 0.0
        s.key_fact_share = kf.share
        s.missed_facts = kf.missed
        for g in kf.missed:
            s.failures.append("missing fact: " + " | ".join(g))
    if gold:
        s.citation_precision = metrics.citation_precision(citations, gold)
        if s.citation_precision is not None and s.citation_precision < 1.0:
            wrong = sorted(
                {str(c.get("source")) for c in citations if doc_key(str(c.get("source"))) not in gold}
            )
            s.failures.append("cites a source that is not gold: " + ", ".join(wrong))
    support = metrics.citation_support(answer, citations, checker, question=q.question)
    s.citation_support = support.share
    s.unsupported_sentences = support.unsupported
    if support.unsupported:
        s.failures.append(f"{len(support.unsupported)} sentence(s) not supported by the cited passage")
    return s


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) else None


# --- aggregation ------------------------------------------------------------------------------------


def aggregate(rows: Sequence[tuple[Question, QuestionScore]]) -> dict[str, Any]:
    """Mean of every metric over the rows, refusal precision/recall, latency percentiles, tokens/s."""
    scores = [s for _, s in rows]
    out: dict[str, Any] = {"n": len(rows), "passed": sum(s.passed for s in scores)}
    out["pass_rate"] = out["passed"] / len(rows) if rows else None
    keys = sorted({k for s in scores for k in s.retrieval})
    for k in keys:
        out[k] = metrics.mean(s.retrieval.get(k) for s in scores)
    for name in (
        "context_hit",
        "key_facts",
        "key_fact_share",
        "citation_precision",
        "citation_support",
        "language_match",
    ):
        out[name] = metrics.mean(getattr(s, name) for s in scores)
    out["refused"] = sum(s.refused for s in scores)
    out["refusal_correct"] = (
        metrics.mean(1.0 if s.refusal_correct else 0.0 for s in scores) if scores else None
    )
    # The figure that hurts residents: an answerable question answered, and shown, without its key fact.
    answerable = [s for q, s in rows if q.answerable]
    unanswerable = [s for q, s in rows if not q.answerable]
    if answerable:
        out["answerable_refused"] = sum(s.refused for s in answerable) / len(answerable)
        if any(s.key_facts is not None for s in answerable):  # answers were written and scored
            shown_wrong = sum(not s.refused and s.key_facts == 0.0 for s in answerable)
            out["wrong_but_shown"] = shown_wrong / len(answerable)
            scored = [s for s in answerable if s.key_facts is not None or s.refused]
            out["key_facts_all"] = sum(s.key_facts == 1.0 for s in scored) / len(scored)
    if unanswerable:
        out["unanswerable_refused"] = sum(s.refusal_correct for s in unanswerable) / len(unanswerable)
    outcomes = [metrics.RefusalOutcome(q.answerable, s.refused, s.handoff) for q, s in rows]
    out.update(metrics.refusal_precision_recall(outcomes))
    ttft = [s.ttft_ms for s in scores if s.ttft_ms is not None]
    total = [s.total_ms for s in scores if s.total_ms is not None]
    out["ttft_ms_p50"], out["ttft_ms_p95"] = metrics.percentile(ttft, 50), metrics.percentile(ttft, 95)
    out["total_ms_p50"], out["total_ms_p95"] = metrics.percentile(total, 50), metrics.percentile(total, 95)
    gen_ms = sum(s.generation_ms or 0.0 for s in scores if s.tokens)
    tokens = sum(s.tokens for s in scores)
    out["tokens_per_s"] = tokens / (gen_ms / 1000) if gen_ms > 0 else None
    out["llm_calls"] = sum(1 for s in scores if s.ttft_ms is not None)
    return out


def aggregate_groups(rows: Sequence[tuple[Question, QuestionScore]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[tuple[Question, QuestionScore]]] = {"overall": list(rows)}
    groups["answerable"] = [r for r in rows if r[0].answerable]
    groups["unanswerable"] = [r for r in rows if not r[0].answerable]
    for q, s in rows:
        groups.setdefault(f"lang:{q.lang or s.expected_language}", []).append((q, s))
    for q, s in rows:
        if q.extra.get("kind"):
            groups.setdefault(f"kind:{q.extra['kind']}", []).append((q, s))
    return {name: aggregate(rs) for name, rs in groups.items() if rs}
