from __future__ import annotations

from dataclasses import replace

import pytest

from rag.config import Settings
from rag.errors import IndexMissingError
from rag.text import extract_facts, split_sentences
from rag.types import Answer, AnswerDelta, Hit, Retrieval, Turn
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


def test_only_invented_facts_means_the_documents_lack_the_answer(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Ring 040-12 34 56 så löser vi allt.")
    answer = service.ask(PHONE_Q)
    assert answer.refused and answer.llm_called and answer.refusal_reason == "unsupported_facts"
    assert "040-12 34 56" not in answer.text and "042-10 50 00" in answer.text
    assert answer.sentences[0].missing_facts == ["040-12 34 56"]


def test_model_saying_it_does_not_know_becomes_a_handoff(fake_index: Settings) -> None:
    service, _ = make_service(fake_index, "Det vet jag inte.")
    answer = service.ask(PHONE_Q)
    assert answer.refused and answer.llm_called and answer.refusal_reason == "model_said_unknown"
    assert "042-10 50 00" in answer.text


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


def test_fallback_quote_is_the_sentence_most_similar_to_the_question(fake_settings: Settings) -> None:
    # Word overlap would pick the first sentence (ärende, kontakta); the embedder knows what is asked.
    from rag.embedders.fake import KeywordEmbedder
    from rag.generation.fake import ScriptedGenerator
    from rag.guard import inspect_question
    from rag.service import AssistantService, _Prepared
    from rag.types import Chunk

    text = "Kontakta oss om ditt ärende. Det du skickar till staden blir offentligt och kan läsas av andra."
    passage = Chunk("k#0-x", "k", "k.txt", "Kontakt", text, 0, len(text), "x")
    service = AssistantService(
        fake_settings, embedder=KeywordEmbedder(["offentlig"]), generator=ScriptedGenerator()
    )
    q = "hur offentligt blir mitt ärende om jag kontaktar er?"  # not yes-or-no: that fallback ranks by words
    prep = _Prepared(q, q, None, "sv", [], inspect_question(q))
    quoted, citations = service._quote_best(prep, [passage], [])
    assert "blir offentligt och kan läsas av andra" in quoted and "Kontakta oss" not in quoted
    assert citations[0].chunk is passage


def test_a_sentence_backed_by_a_retrieved_passage_left_out_of_the_prompt_is_kept(
    fake_index: Settings,
) -> None:
    # With one passage in the prompt, a sentence of a lower hit whose facts that passage lacks is kept all
    # the same, and cited, because retrieval found the passage that backs it.
    settings = replace(fake_index, context_k=1)
    question = "hur gammal blev leif redestig?"
    probe, _ = make_service(settings)
    hits = probe.retriever.search(question).hits
    checker = probe.checker
    sentence, source = next(
        (s, h.chunk)
        for h in hits[1:]
        for s in split_sentences(h.chunk.text)
        if extract_facts(s)
        and checker.check(s, [h.chunk], question=question).passage_index == 0
        and checker.check(s, [hits[0].chunk], question=question).check.missing_facts
    )
    service, gen = make_service(settings, sentence)
    answer = service.ask(question)
    assert (
        hits[0].chunk.text in gen.calls[0][-1]["content"] and source.text not in gen.calls[0][-1]["content"]
    )
    assert not answer.refused and sentence in answer.text
    assert source.chunk_id in {c.chunk.chunk_id for c in answer.citations}


def test_a_passage_of_another_document_sounding_alike_leaves_the_prompt_when_the_top_one_holds_it_all(
    fake_index: Settings,
) -> None:
    service, _ = make_service(fake_index)
    chunks = service.index.chunks

    def first(doc: str, words: str) -> Hit:
        chunk = next(c for c in chunks if c.doc_id == doc and words in c.text)
        return Hit(chunk=chunk, score=1.0)

    footer = first("transformationsarena-almedalen", "Avvikande öppettider")
    cafe = first("socialforvaltningen-nyheter", "Öppettiderna var från 20.00")
    visit = first("transformationsarena-almedalen", "Stortorget 17")
    q = "har ni andra öppettider kring röda dagar?"
    assert service.retriever.coverage(q, footer.chunk.titled_text) == 1.0
    context = service._context(q, [footer, cafe, visit])
    # the night café's opening hours are another document's, and hold fewer of the question's words
    assert footer.chunk in context and cafe.chunk not in context
    # when the top passage does not hold every word, the other document's passage stays
    assert cafe.chunk in service._context("vilka öppettider hade nattcaféet?", [visit, cafe, footer])


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


def test_the_asked_fact_is_quoted_from_a_left_out_passage_when_it_holds_the_topic_better(
    fake_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = make_service(fake_index, "LP öppnade nattcafé för de hemlösa.")
    chunks = service.index.chunks

    def hit(words: str) -> Hit:
        return Hit(chunk=next(c for c in chunks if words in c.text), score=1.0)

    # the order the real embedder gives: the date's passage fourth, so the prompt (three) leaves it out
    hits = [hit("Ia: Har du något råd"), hit("Jag träffar Renée Dahl"), hit("Vi hade en besökare")]
    hits.append(hit("redan på torsdagen den 14 januari"))
    found = Retrieval(query="", hits=hits, relevant=True, confidence=1.0, reason="")
    monkeypatch.setattr(service.retriever, "search", lambda *a, **k: found)
    answer = service.ask("när öppnade nattcafét hos LP")
    assert answer.prompt and "14 januari" not in answer.prompt
    # the prompt's "– När jag såg väderleksrapporten på tisdagen …" borrows its topic from the sentence before
    quote = answer.text.split("\n\n")[1]
    assert "den 14 januari" in quote and "tisdagen" not in quote


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
