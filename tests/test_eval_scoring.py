"""score_question on hand-made answers: cases that must pass and cases that must fail."""

from __future__ import annotations

import pytest

from eval.dataset import Question
from eval.scoring import aggregate, aggregate_groups, score_question
from rag.attribution import SupportChecker

PHONE = "042-10 50 00"
KONTAKT = "transformationsarena-almedalen.txt"
CHECKER = SupportChecker(0.5)

KC_PASSAGE = {
    "chunk_id": "transformationsarena-almedalen#9-abc",
    "doc_id": "transformationsarena-almedalen",
    "source": KONTAKT,
    "title": "Almedalen",
    "text": "Besök oss på Helsingborg Kontaktcenter på Stortorget 17. Prata med en kommunvägledare på telefon 042-10 50 00.",
}
OTHER_PASSAGE = {
    "chunk_id": "tre-transformationer#1-def",
    "doc_id": "tre-transformationer",
    "source": "tre-transformationer.txt",
    "title": "Tre transformationer",
    "text": "Helsingborg siktar på klimatneutralitet redan till 2030.",
}


def _q(**kw) -> Question:
    base = {
        "id": "q",
        "question": "Vilket telefonnummer har kontaktcenter?",
        "must_contain": [[PHONE]],
        "sources": [KONTAKT],
        "lang": "sv",
    }
    base.update(kw)
    return Question(**base)


def _result(
    answer: str, citations: list[dict], refused: bool = False, passages: list[dict] | None = None
) -> dict:
    return {
        "answer": answer,
        "refused": refused,
        "citations": citations,
        "passages": passages if passages is not None else [KC_PASSAGE, OTHER_PASSAGE],
        "timings_ms": {"total": 1200.0, "time_to_first_token": 400.0, "generation": 1000.0},
        "llm_called": not refused,
        "tokens_generated": 20,
    }


def _score(q: Question, r: dict):
    return score_question(q, r, checker=CHECKER, handoff_phone=PHONE, context_k=3)


def test_good_answer_passes_every_check() -> None:
    s = _score(
        _q(), _result("Ring en kommunvägledare på telefon 042-10 50 00. [1]", [{"n": 1, **KC_PASSAGE}])
    )
    assert s.passed, s.failures
    assert s.retrieval["hit@1"] == 1.0 and s.retrieval["mrr"] == 1.0 and s.retrieval["ndcg@10"] == 1.0
    assert s.key_facts == 1.0 and s.citation_precision == 1.0 and s.citation_support == 1.0
    assert s.refusal_kind == "tn" and s.language_match == 1.0
    assert s.ttft_ms == 400.0 and s.tokens_per_s == pytest.approx(20.0)


def test_missing_fact_fails() -> None:
    s = _score(_q(), _result("Prata med en kommunvägledare på Stortorget 17. [1]", [{"n": 1, **KC_PASSAGE}]))
    assert not s.passed
    assert s.key_facts == 0.0 and s.missed_facts == [[PHONE]]
    assert any(f.startswith("missing fact") for f in s.failures)


def test_wrong_citation_fails() -> None:
    s = _score(_q(), _result("Ring telefon 042-10 50 00. [1]", [{"n": 1, **OTHER_PASSAGE}]))
    assert not s.passed
    assert s.citation_precision == 0.0 and s.citation_support == 0.0
    assert any("not gold" in f for f in s.failures)
    assert any("not supported" in f for f in s.failures)


def test_refusal_without_handoff_fails_on_unanswerable() -> None:
    q = _q(question="Hur ansöker jag om bygglov?", must_contain=[], sources=[], answerable=False)
    s = _score(q, _result("Det vet jag tyvärr inte.", [], refused=True))
    assert not s.passed and s.refusal_kind == "fn"
    assert "refused without the hand-off" in s.failures


def test_refusal_with_handoff_passes_on_unanswerable() -> None:
    q = _q(question="Hur ansöker jag om bygglov?", must_contain=[], sources=[], answerable=False)
    s = _score(q, _result("Det hittar jag inget om. Ring 042-10 50 00.", [], refused=True))
    assert s.passed, s.failures
    assert s.refusal_kind == "tp" and s.key_facts is None and s.retrieval == {}


def test_answering_an_unanswerable_question_fails() -> None:
    q = _q(question="Hur ansöker jag om bygglov?", must_contain=[], sources=[], answerable=False)
    s = _score(q, _result("Du ansöker om bygglov hos byggnadsnämnden. [1]", [{"n": 1, **OTHER_PASSAGE}]))
    assert s.refusal_kind == "fn" and "answered instead of refusing" in s.failures


def test_refusing_an_answerable_question_fails() -> None:
    s = _score(_q(), _result("Det hittar jag inget om. Ring 042-10 50 00.", [], refused=True))
    assert s.refusal_kind == "fp" and not s.passed
    assert s.key_facts is None  # facts are not scored on a refusal: it is already a failure


def test_gold_source_not_retrieved_fails() -> None:
    s = _score(
        _q(), _result("Ring telefon 042-10 50 00. [1]", [{"n": 1, **KC_PASSAGE}], passages=[OTHER_PASSAGE])
    )
    assert s.retrieval["hit@3"] == 0.0 and s.context_hit == 0.0
    assert any("no gold source" in f for f in s.failures)


def test_language_mismatch_fails() -> None:
    q = _q(question="What is the phone number of the contact centre?", lang="en")
    s = _score(q, _result("Ring en kommunvägledare på telefon 042-10 50 00. [1]", [{"n": 1, **KC_PASSAGE}]))
    assert s.language_match == 0.0 and any("answered in 'sv'" in f for f in s.failures)


def test_aggregate_groups() -> None:
    good = (_q(id="a"), _score(_q(), _result("Ring telefon 042-10 50 00. [1]", [{"n": 1, **KC_PASSAGE}])))
    bad_q = _q(id="b", question="Hur ansöker jag om bygglov?", must_contain=[], sources=[], answerable=False)
    bad = (bad_q, _score(bad_q, _result("Vet inte.", [], refused=True)))
    agg = aggregate([good, bad])
    assert agg["n"] == 2 and agg["passed"] == 1 and agg["pass_rate"] == 0.5
    assert agg["hit@1"] == 1.0  # only the question with sources counts
    assert agg["refusal_recall"] == 0.0 and agg["refusal_precision"] is None
    assert agg["total_ms_p50"] == 1200.0
    groups = aggregate_groups([good, bad])
    assert set(groups) == {"overall", "answerable", "unanswerable", "lang:sv"}
    assert groups["answerable"]["key_facts"] == 1.0
