"""The answer path's stages, one at a time, on deterministic fakes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.embedders.cache import VectorCache
from rag.embedders.fake import HashEmbedder
from rag.generation.fake import ScriptedGenerator
from rag.logistic import LogisticModel, auc, fit, reliability
from rag.scorer import FEATURES, AnswerScorer, Query, candidates, lexical_model
from rag.stages.context import ContextSettings, ContextStage
from rag.stages.evidence import DecisionSettings, Option, decide
from rag.stages.gate import GATE_FEATURES, GateStage, gate_features, lexical_gate_model
from rag.stages.guard import ADDRESSEE_SV, GuardStage
from rag.translation import Translator
from rag.types import Chunk, Hit, Retrieval, Turn
from tests.conftest import make_service


def chunk(text: str, title: str = "Dokument", n: int = 0) -> Chunk:
    return Chunk(f"d#{n}-x", "d", "d.txt", title, text, 0, len(text), "x", ordinal=n)


def no_translator() -> Translator:
    raise AssertionError("a Swedish question is never translated")


# --- guard ---------------------------------------------------------------------------------------------


def test_a_short_follow_up_keeps_the_subject_of_the_question_before_it() -> None:
    guard = GuardStage(1000, no_translator)
    history = [
        Turn("user", "Hur länge har kontaktcenter öppet på torsdag?"),
        Turn("assistant", "Till 18.00."),
    ]
    prep = guard.run("Och på fredag då?", history)
    assert prep.follow_up and prep.focus == "Och på fredag då?"
    assert prep.retrieval_query.startswith("Hur länge har kontaktcenter öppet på torsdag? Och på fredag då?")
    alone = guard.run("Vilka seminarier hölls i Almedalen under den första dagen?", history)
    assert not alone.follow_up and alone.retrieval_query == alone.focus


def test_ni_and_you_mean_the_city_and_its_kontaktcenter() -> None:
    guard = GuardStage(1000, no_translator)
    assert guard.run("Hur länge har ni öppet på torsdag?").retrieval_query.endswith(f"({ADDRESSEE_SV})")
    assert ADDRESSEE_SV not in guard.run("Hur länge höll reformgrupperna på?").retrieval_query


def test_personal_data_never_reaches_retrieval_and_a_long_question_is_cut() -> None:
    guard = GuardStage(60, no_translator)
    prep = guard.run("Mitt personnummer är 19800101-1234. Vilket telefonnummer har kontaktcenter?")
    assert "19800101" not in prep.question + prep.retrieval_query and prep.guard.personal_data
    long = guard.run("Vilket telefonnummer har kontaktcenter " + "och " * 100)
    assert len(long.question) <= 60 and long.notices


# --- scorer, context, gate ----------------------------------------------------------------------------------

HOURS = "Öppettider\n\nMåndag–onsdag: 08.00 — 17.00\n\nTorsdag: 08.00 — 18.00\n\nFredag: 08.00 — 17.00"
NEWS = "Nattcaféet höll öppet tre nätter i rad. Kyrkan bjöd på frukost varje söndag."


@pytest.fixture
def scorer(tmp_path: Path) -> AnswerScorer:
    return AnswerScorer(lexical_model(), VectorCache(HashEmbedder(), tmp_path / "v.npz"))


def query_for(text: str, hits: list[Hit], focus: str | None = None) -> Query:
    from rag.index.lexical import BM25Index
    from rag.retrieval import HybridRetriever
    from rag.store import IndexData

    lexical = BM25Index.from_texts([h.chunk.titled_text for h in hits])
    data = IndexData(None, [h.chunk for h in hits], np.zeros((len(hits), 1)), None, lexical, Path())  # type: ignore[arg-type]
    retriever = HybridRetriever.__new__(HybridRetriever)
    retriever.data = data
    retriever._present = {}
    return Query(
        text,
        focus or text,
        HashEmbedder().embed_query(text),
        retriever.term_weights(text),
        retriever.term_weights(focus or text),
        retriever.present_terms,
    )


def test_the_scorer_prefers_the_unit_with_the_asked_kind_of_fact_and_topic(scorer: AnswerScorer) -> None:
    hits = [Hit(chunk(NEWS, "Nyheter", 1), 1.0), Hit(chunk(HOURS, "Kontakt", 0), 0.9)]
    q = "Vilka tider har kontaktcenter öppet på torsdagar?"
    scored = scorer.score(query_for(q, hits), candidates(hits))
    assert scored[0].candidate.text == "Torsdag: 08.00 — 18.00"
    assert scored[0].probability > scored[-1].probability
    assert set(scored[0].features) == set(FEATURES)


def test_a_follow_ups_own_words_decide_between_units_the_joined_question_ties(scorer: AnswerScorer) -> None:
    hits = [Hit(chunk(HOURS, "Kontakt"), 1.0)]
    q = query_for(
        "När har kontaktcenter öppet på torsdag? Och på fredag då?", hits, focus="Och på fredag då?"
    )
    assert scorer.score(q, candidates(hits))[0].candidate.text == "Fredag: 08.00 — 17.00"


def test_a_written_sentence_is_scored_beside_the_candidates(scorer: AnswerScorer) -> None:
    hits = [Hit(chunk(HOURS, "Kontakt"), 1.0)]
    q = query_for("Vilka tider har kontaktcenter öppet på torsdagar?", hits)
    found = candidates(hits)
    answering = scorer.score_written(q, "På torsdagar är det öppet 08.00–18.00.", hits[0].chunk, found)
    beside = scorer.score_written(q, "Kontaktcenter har öppettider.", hits[0].chunk, found)
    assert answering > beside


def test_the_context_holds_the_best_units_with_the_unit_before_each(scorer: AnswerScorer) -> None:
    hits = [Hit(chunk(NEWS, "Nyheter", 1), 1.0), Hit(chunk(HOURS, "Kontakt", 0), 0.9)]
    q = "Vilka tider har kontaktcenter öppet på torsdagar?"
    stage = ContextStage(scorer, ContextSettings(max_units=1))
    scored = stage.score(query_for(q, hits), hits)
    context = stage.run(scored, hits, q)
    prompt = context.messages[-1]["content"]
    assert "Torsdag: 08.00 — 18.00" in prompt and "Måndag–onsdag" in prompt  # the unit before it
    assert (
        "Nattcaféet" not in prompt
        and context.passages == [hits[1].chunk]
        and context.spare == [hits[0].chunk]
    )
    chooser = stage.run(scored, hits, q, mode="choose")
    assert (
        chooser.options
        and "1. " in chooser.messages[-1]["content"]
        and "eller 0" in chooser.messages[-1]["content"]
    )


def test_the_gate_refuses_when_the_documents_hold_no_number_of_what_is_asked() -> None:
    gate = GateStage(lexical_gate_model())
    base = {"coverage_best": 1.0, "coverage_whole": 1.0, "coverage_top": 1.0, "terms_log": 1.0}
    ok = Retrieval("q", [Hit(chunk("x"), 1.0)], True, 1.0, "", signals=base)
    assert gate.run(ok, []).relevant
    counted = Retrieval("q", [Hit(chunk("x"), 1.0)], True, 1.0, "", signals={**base, "count_missing": 1.0})
    verdict = gate.run(counted, [])
    assert not verdict.relevant and "how many" in verdict.reason
    assert set(gate_features(ok, [])) == set(GATE_FEATURES)
    with pytest.raises(ValueError, match="refit it"):
        GateStage(lexical_model())


# --- the evidence decision ---------------------------------------------------------------------------------

SETTINGS = DecisionSettings(answer=0.5, quote=0.4, margin=0.3)


def test_a_written_sentence_that_answers_is_shown_alone() -> None:
    written = [Option("Kontaktcenter har öppet till 18.00 på torsdagar.", 0.8, True)]
    d = decide(written, Option("Torsdag: 08.00 — 18.00", 0.9, False), SETTINGS)
    assert d.show == written and d.quote is None and not d.refuse


def test_the_best_unit_is_quoted_when_no_written_sentence_answers() -> None:
    written = [Option("Kontaktcenter svarar på frågor.", 0.1, True)]
    best = Option("Torsdag: 08.00 — 18.00", 0.7, False)
    d = decide(written, best, SETTINGS)
    assert d.show == written and d.quote == best


def test_the_best_unit_is_quoted_beside_an_answer_only_when_clearly_better_and_new() -> None:
    written = [Option("Sip är ett sätt att samverka.", 0.5, True)]
    assert decide(
        written, Option("Sip är en samordnad individuell plan för dig.", 0.9, False), SETTINGS
    ).quote
    assert (
        decide(written, Option("Sip är en plan.", 0.7, False), SETTINGS).quote is None
    )  # not clearly better
    same = [Option("Ring 042-10 50 00.", 0.6, True)]
    assert decide(same, Option("Ring 042-10 50 00.", 0.95, False), SETTINGS).quote is None  # already said


def test_nothing_that_answers_is_a_refusal() -> None:
    assert decide([Option("Staden är bra.", 0.1, True)], Option("Något annat.", 0.2, False), SETTINGS).refuse
    assert decide([], None, SETTINGS).refuse


def test_decision_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="quote must be in"):
        DecisionSettings(quote=1.5)


# --- fitted parts -------------------------------------------------------------------------------------------


def test_logistic_fit_is_deterministic_and_separates_what_it_can() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 * rng.normal(size=400) > 0).astype(float)
    a = fit(x, y, ("a", "b", "c"))
    b = fit(x, y, ("a", "b", "c"))
    assert np.array_equal(a.weights, b.weights) and a.bias == b.bias
    assert a.weights[0] > 0 > a.weights[1] and abs(a.weights[2]) < abs(a.weights[0])
    assert auc(a.predict(x), y) > 0.9
    bins = reliability(a.predict(x), y)
    assert sum(n for _, _, n in bins) == 400
    with pytest.raises(ValueError, match="both classes"):
        fit(x, np.zeros(400), ("a", "b", "c"))


def test_a_fitted_model_round_trips_through_its_file(tmp_path: Path) -> None:
    model = lexical_model()
    model.save(tmp_path / "m.json")
    back = LogisticModel.load(tmp_path / "m.json")
    x = np.random.default_rng(1).normal(size=(5, len(FEATURES)))
    assert np.allclose(model.predict(x), back.predict(x))


def test_the_unit_vector_cache_is_kept_per_embedder(tmp_path: Path) -> None:
    path = tmp_path / "units.npz"
    cache = VectorCache(HashEmbedder(), path)
    first = cache.vectors(["en mening", "en annan mening"])
    cache.save()
    again = VectorCache(HashEmbedder(), path)
    assert np.array_equal(again.vectors(["en annan mening"])[0], first[1]) and len(again) == 2
    assert len(VectorCache(HashEmbedder(dim=64), path)) == 0  # another model's vectors are not served


# --- translation and the service ------------------------------------------------------------------------------


def test_a_translation_that_means_something_else_is_not_shown() -> None:
    sentence = "Kontaktcenter har öppet till 18.00 på torsdagar."
    gen = ScriptedGenerator("The contact centre is open until 18.00 on Thursdays.")
    assert Translator(gen, meaning=lambda a, b: 0.95, meaning_min=0.9).checked(sentence, "en") == (
        "The contact centre is open until 18.00 on Thursdays.",
        True,
    )
    wrong = ScriptedGenerator("The night café is open until 18.00 on Fridays.")
    assert Translator(wrong, meaning=lambda a, b: 0.8, meaning_min=0.9).checked(sentence, "en") == (
        sentence,
        False,
    )


def test_an_untranslated_sentence_comes_with_a_note(fake_index: Settings) -> None:
    def script(messages: list) -> str:  # type: ignore[type-arg]
        system = messages[-1]["content"]
        if "into Swedish" in system:
            return "Vilket telefonnummer har kontaktcenter?"
        if "Translate the Swedish text" in system:
            return "Call the contact centre on 042-10 50 00."
        return "Ring kontaktcenter på telefon 042-10 50 00."

    service, _ = make_service(fake_index, script)
    service.meaning_min = 0.99  # the fake embedder's cosines never reach it: every translation is doubted
    answer = service.ask("What is the phone number of the contact centre?")
    assert "Ring kontaktcenter på telefon 042-10 50 00." in answer.text
    assert "shown in Swedish" in answer.text


def test_the_llm_as_a_chooser_can_select_but_never_invent(fake_index: Settings) -> None:
    from dataclasses import replace

    settings = replace(fake_index, answer_mode="choose")
    service, _ = make_service(settings, "1")
    answer = service.ask("Vilket telefonnummer har kontaktcenter?")
    assert not answer.refused and answer.text.startswith("Så här står det i")
    assert answer.candidates[0]["text"] in answer.text
    service, _ = make_service(settings, "0")
    assert service.ask("Vilket telefonnummer har kontaktcenter?").refused
