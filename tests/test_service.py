from __future__ import annotations

from dataclasses import replace

import pytest

from rag.config import Settings
from rag.errors import IndexMissingError
from rag.text import extract_facts, split_sentences
from rag.types import Answer, AnswerDelta, Turn
from tests.conftest import make_service

PHONE_Q = "Vilket telefonnummer har kontaktcenter?"


def test_empty_question_is_refused_without_retrieval_or_llm(fake_index: Settings) -> None:
    service, gen = make_service(fake_index)
    for q in ["", "   \n\t "]:
        answer = service.ask(q)
        assert answer.refused and answer.refusal_reason == "empty"
        assert "fråga" in answer.text
    assert gen.calls == []


def test_out_of_scope_question_is_refused_with_handoff_from_the_corpus_and_no_llm(
    fake_index: Settings,
) -> None:
    service, gen = make_service(fake_index)
    answer = service.ask("Hur ansöker jag om bygglov för ett garage?")
    assert answer.refused and answer.refusal_reason == "not_relevant"
    assert not answer.llm_called and gen.calls == []
    assert "042-10 50 00" in answer.text and "Stortorget 17" in answer.text
    assert "Torsdag" in answer.text


def test_a_count_the_documents_never_give_is_refused_before_the_llm(fake_index: Settings) -> None:
    # Every word of it is in the corpus ("invånare", "Helsingborg"), never with the number asked for.
    service, gen = make_service(fake_index)
    answer = service.ask("Hur många invånare har Helsingborg?")
    assert answer.refused and answer.refusal_reason == "not_relevant" and gen.calls == []
    assert "042-10 50 00" in answer.text
    # a count the documents do give passes the gate ("sju seminarier i Almedalens officiella program")
    assert not service.ask("hur många seminarier hade staden i almedalen?", generate=False).refused


def test_handoff_follows_the_documents(fake_settings: Settings) -> None:
    doc = fake_settings.corpus_dir / "transformationsarena-almedalen.txt"
    doc.write_text(
        doc.read_text().replace("042-10 50 00", "042-99 88 77").replace("Stortorget 17", "Drottninggatan 2")
    )
    from rag.embedders.fake import HashEmbedder
    from rag.ingest import Ingestor

    Ingestor(HashEmbedder(), index_root=fake_settings.index_dir).run(fake_settings.corpus_dir, progress=None)
    service, _ = make_service(fake_settings)
    text = service.ask("Hur söker jag bygglov?").text
    assert "042-99 88 77" in text and "Drottninggatan 2" in text and "042-10 50 00" not in text


def test_supported_sentence_is_kept_with_a_citation_to_a_given_passage(fake_index: Settings) -> None:
    service, gen = make_service(fake_index, "Du kan ringa kontaktcenter på telefon 042-10 50 00.")
    answer = service.ask(PHONE_Q)
    assert not answer.refused and answer.llm_called and len(gen.calls) == 1
    # what the model wrote comes first; a source sentence may follow as a quote (tests/test_evidence.py)
    assert answer.text.split("\n\n")[0] == "Du kan ringa kontaktcenter på telefon 042-10 50 00. [1]"
    assert [c.n for c in answer.citations] == [1]
    given = {h.chunk.chunk_id for h in answer.passages[: fake_index.context_k]}
    assert answer.citations[0].chunk.chunk_id in given
    assert answer.citations[0].chunk.source == "transformationsarena-almedalen.txt"
    # the prompt holds only those passages, numbered, and the question
    prompt = gen.calls[0][-1]["content"]
    assert "[1]" in prompt and PHONE_Q in prompt


def test_invented_facts_are_removed_and_visible_to_staff(fake_index: Settings) -> None:
    reply = (
        "Du kan ringa kontaktcenter på telefon 042-10 50 00. Kontaktcenter har öppet till 21.00 på lördagar."
    )
    service, _ = make_service(fake_index, reply)
    answer = service.ask(PHONE_Q)
    assert "21.00" not in answer.text and "042-10 50 00" in answer.text
    dropped = [s for s in answer.sentences if not s.supported]
    assert len(dropped) == 1 and "21.00" in dropped[0].missing_facts


def test_nothing_supported_falls_back_to_quoting_the_best_passage(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Det är en bra fråga som många undrar över i vardagen.")
    answer = service.ask(PHONE_Q)
    assert answer.fallback and not answer.refused
    assert answer.text.endswith("[1]") and len(answer.citations) == 1
    quoted = answer.text.split("”")[1]
    assert quoted.split()[0] in answer.citations[0].chunk.text


def test_invented_facts_give_way_to_the_source_unit_that_answers(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Ring 040-12 34 56 så löser vi allt.")
    answer = service.ask(PHONE_Q)
    assert not answer.refused and "040-12 34 56" not in answer.text
    assert answer.sentences[0].missing_facts == ["040-12 34 56"]
    quote = answer.text.split("”")[1]
    assert "042-10 50 00" in quote and answer.decision.startswith("no written sentence answers")


def test_invented_facts_and_no_unit_that_answers_mean_a_handoff(fake_index: Settings) -> None:
    from rag.stages.evidence import DecisionSettings

    service, _ = make_service(fake_index, "Ring 040-12 34 56 så löser vi allt.")
    service.decision = DecisionSettings(quote_unknown=1.0)  # no unit is ever sure enough after an invention
    answer = service.ask(PHONE_Q)
    assert answer.refused and answer.llm_called and answer.refusal_reason == "no_answer"
    assert "040-12 34 56" not in answer.text and "042-10 50 00" in answer.text  # the hand-off's number


def test_model_saying_it_does_not_know_becomes_a_handoff_unless_a_unit_surely_answers(
    fake_index: Settings,
) -> None:
    from rag.stages.evidence import DecisionSettings

    service, _ = make_service(fake_index, "Det vet jag inte.")
    service.decision = DecisionSettings(quote_unknown=1.0)
    answer = service.ask(PHONE_Q)
    assert answer.refused and answer.llm_called and answer.refusal_reason == "model_said_unknown"
    assert "042-10 50 00" in answer.text
    service.decision = DecisionSettings(quote_unknown=0.0)
    assert not service.ask(PHONE_Q).refused


def test_markers_written_by_the_model_are_replaced_by_attributed_ones(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Ring kontaktcenter på telefon 042-10 50 00 [3].")
    answer = service.ask(PHONE_Q)
    assert "[3]" not in answer.text and answer.text.endswith("[1]")


def test_stream_yields_verified_sentences_then_the_answer(fake_index: Settings) -> None:
    reply = "Du kan ringa kontaktcenter på telefon 042-10 50 00. Kontaktcenter ligger på Månen 9."
    service, _ = make_service(fake_index, reply)
    events = list(service.ask_stream(PHONE_Q))
    deltas = [e.text for e in events if isinstance(e, AnswerDelta)]
    assert isinstance(events[-1], Answer)
    assert deltas[0] == "Du kan ringa kontaktcenter på telefon 042-10 50 00. [1]"
    assert all(d.startswith("Så här står det i") for d in deltas[1:])  # a quoted source sentence, if any
    assert "Månen" not in events[-1].text


def test_huge_question_is_cut_with_a_notice(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Ring kontaktcenter på telefon 042-10 50 00.")
    answer = service.ask(PHONE_Q + " " + "x" * 20_000)
    assert len(answer.question) <= fake_index.max_question_chars
    assert any("första" in n for n in answer.notices)


def test_follow_up_borrows_the_topic_of_the_previous_question(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Torsdag har kontaktcenter öppet 08.00 — 18.00.")
    history = [
        Turn("user", "Vilka öppettider har kontaktcenter?"),
        Turn("assistant", "Måndag–onsdag 08.00 — 17.00."),
    ]
    answer = service.ask("Och på torsdag?", history)
    assert not answer.refused
    assert answer.passages[0].chunk.source == "transformationsarena-almedalen.txt"


def test_missing_index_names_the_command_that_builds_it(fake_settings: Settings) -> None:
    service, _ = make_service(fake_settings)
    with pytest.raises(IndexMissingError, match="rag ingest"):
        service.ask(PHONE_Q)


def test_json_schema_of_an_answer(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Du kan ringa kontaktcenter på telefon 042-10 50 00.")
    data = service.ask(PHONE_Q).to_json_dict()
    assert {"question", "answer", "refused", "language", "citations", "passages", "timings_ms"} <= set(data)
    assert set(data["citations"][0]) == {
        "n",
        "doc_id",
        "title",
        "source",
        "page",
        "page_end",
        "chunk_id",
        "text",
        "score",
    }
    assert {"chunk_id", "doc_id", "source", "text", "score", "ranks"} <= set(data["passages"][0])
    assert {"dense", "lexical"} == set(data["passages"][0]["ranks"])
    assert data["timings_ms"]["total"] > 0 and "time_to_first_token" in data["timings_ms"]


def test_generate_false_stops_before_the_llm_but_keeps_guards_and_gate(fake_index: Settings) -> None:
    service, gen = make_service(fake_index)
    passed = service.ask(PHONE_Q, generate=False)
    assert not passed.refused and passed.passages and passed.text == "" and not passed.llm_called
    assert service.ask("Hur ansöker jag om bygglov?", generate=False).refusal_reason == "not_relevant"
    assert (
        service.ask("Hur mycket försörjningsstöd får jag?", generate=False).refusal_reason == "personal_case"
    )
    assert gen.calls == []


def test_a_sentence_backed_by_a_retrieved_passage_left_out_of_the_prompt_is_kept(
    fake_index: Settings,
) -> None:
    # A sentence of a retrieved passage the LLM did not read, whose facts the read ones lack, is kept all
    # the same, and cited, because retrieval found the passage that backs it.
    settings = replace(fake_index, context_k=1)
    question = "hur gammal blev leif redestig?"
    probe, _ = make_service(settings)
    prompt = probe.ask(question).prompt or ""
    hits = probe.retriever.search(question).hits
    read = [h.chunk for h in hits if any(s in prompt for s in split_sentences(h.chunk.text))]
    checker = probe.checker
    sentence, source = next(
        (s, h.chunk)
        for h in hits
        for s in split_sentences(h.chunk.text)
        if h.chunk not in read
        and extract_facts(s)
        and s not in prompt
        and checker.check(s, [h.chunk], question=question).passage_index == 0
        and all(checker.check(s, [c], question=question).check.missing_facts for c in read)
    )
    service, gen = make_service(settings, sentence)
    answer = service.ask(question)
    assert sentence not in gen.calls[0][-1]["content"]  # the LLM did not read it
    assert not answer.refused and sentence in answer.text
    assert source.chunk_id in {c.chunk.chunk_id for c in answer.citations}


def test_a_fact_opening_the_chunk_after_a_prompt_passage_is_backed_by_the_two_read_together(
    fake_index: Settings,
) -> None:
    # "Han blev 69 år." opens the chunk after "Leif Redestig har avlidit. …": alone it names nobody.
    said = "Leif Redestig var 69 år gammal när han avlidit."
    service, _ = make_service(fake_index, said)
    answer = service.ask("hur gammal blev leif redestig")
    assert answer.prompt and "Han blev 69 år" not in answer.prompt, (
        "the fact's own chunk is not in the prompt"
    )
    assert not answer.refused and answer.text.startswith(said + " [1]")
    cited = answer.citations[0].chunk
    assert "Leif Redestig har avlidit" in cited.text and "Han blev 69 år." in cited.text


def test_the_gate_reads_a_misspelt_word_as_its_nearest_spelling_in_the_index(
    fake_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = make_service(fake_index)
    chunk = next(c for c in service.index.chunks if "välfärdsinnovation" in c.text)
    right, typo = "hur skalar man upp välfärdsinnovation?", "hur skalar man upp välfädrsinnovation?"
    retriever = service.retriever
    assert retriever.coverage(typo, chunk.titled_text) == retriever.coverage(right, chunk.titled_text) > 0.5
    assert retriever.search(typo).relevant
    # a word that Swedish knows is taken as written: absent from the documents, it stays absent
    monkeypatch.setattr("rag.retrieval.known_in_swedish", lambda word: True)
    assert not any(present for _, present in retriever.term_weights("välfädrsinnovation").values())
