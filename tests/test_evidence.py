"""The asked kind of fact and the closest source sentence: quoted from the source when the answer lacks them."""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.evidence import (
    asks_yes_or_no,
    expected_kind,
    holds_kind,
    is_bare_fact,
    source_wording,
    states_count,
)
from rag.types import Chunk
from tests.conftest import make_service


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("när öppnade nattcafét?", "when"),
        ("öppetider fredag?", "clock"),
        ("när har ni öppet på torsdagar?", "clock"),
        ("vilka tider hade det öppet?", "clock"),
        ("har ni andra öppettider kring röda dagar?", None),  # yes or no: no time needed
        ("för vilken tid gäller tillståndet?", "when"),  # a period, not a time of day
        ("When does the city aim to be climate neutral?", "when"),
        ("hur många seminarier hölls?", "count"),
        ("hur länge höll grupperna på?", "count"),
        ("vilket nummer ringer jag?", "phone"),
        ("är h22 summit gratis?", "cost"),
        ("vad kostar förskolan?", "cost"),
        ("hur mycket kostar det?", "cost"),
        ("How much does it cost?", "cost"),
        ("vilka priser har staden vunnit?", None),
        ("vem ringer man om mötet inte funkar?", "phone"),
        ("What's the phone number for the contact center?", "phone"),
        ("vem är innovationsdirektör?", "who"),
        ("vilka satt i panelen?", "who"),
        ("vad heter det digitala verktyget?", "who"),
        ("var ligger stödboendet?", "where"),
        ("var kan jag besöka kontaktcenter?", "where"),
        ("where can I visit the contact centre?", "where"),
        ("vilka är de tre delarna?", None),
        ("i vilken stad var veckan", "where"),
        ("vad är en sip", None),
        ("kan man chatta med någon?", None),
    ],
)
def test_question_words_say_what_kind_of_fact_is_asked_for(question: str, kind: str | None) -> None:
    assert expected_kind(question) == kind


def _chunk(text: str, title: str = "Nyheter") -> Chunk:
    return Chunk("d#0-x", "d", "d.txt", title, text, 0, len(text), "x")


def test_a_fact_the_question_already_names_does_not_answer_it() -> None:
    q = "hur många seminarier hade staden 2023?"
    assert not holds_kind("Staden hade seminarier 2023.", "count", q)
    assert holds_kind("Staden hade sju seminarier 2023.", "count", q)
    assert holds_kind("Staden hade 7 seminarier.", "count", q)


def test_how_long_is_answered_by_a_duration_not_by_any_number() -> None:
    q = "hur länge höll reformgrupperna på?"
    assert not holds_kind("7 av förslagen beslutades av kommunfullmäktige.", "count", q)
    assert holds_kind("Reformgrupperna höll på i 1 år.", "count", q)
    assert holds_kind("De höll på i tre veckor.", "count", q)


def test_a_time_is_a_date_clock_time_or_day_not_any_count() -> None:
    q = "när hade caféet öppet?"
    assert not holds_kind("Det hade öppet tre nätter i rad.", "when", q)
    assert holds_kind("Det hade öppet från 20.00 till 8.30.", "when", q)
    assert holds_kind("Det hade öppet på tisdagen.", "when", q)


def test_a_clock_time_answers_what_time_and_a_date_does_not() -> None:
    q = "vilka tider hade nattcaféet öppet?"
    assert holds_kind("Öppettiderna var från 20.00 på kvällen till 8.30 på morgonen.", "clock", q)
    assert holds_kind("Kriminalvården arbetar dygnet runt.", "clock", q)
    assert not holds_kind("Det öppnade torsdagen den 14 januari.", "clock", q)
    assert not holds_kind("Det öppnar kl. 18.", "clock", "öppnar det kl. 18?")  # the question's own time


def test_names_answer_who_but_the_sentence_start_and_the_city_itself_do_not() -> None:
    q = "vem höll seminariet om klimatet?"
    assert not holds_kind("Seminariet handlade om klimatet i Helsingborg.", "who", q)
    assert holds_kind("Lisa Olsson höll seminariet.", "who", q)
    assert holds_kind("Seminariet leddes av Björklund.", "who", q)
    assert holds_kind("Stödboendet ligger på Gåsebäcksväven 4.", "where", "var ligger stödboendet?")


def test_a_question_opening_with_a_verb_asks_yes_or_no_unless_it_offers_choices() -> None:
    assert asks_yes_or_no("är h22 summit gratis?") and asks_yes_or_no("Is the library open on Sundays?")
    assert not asks_yes_or_no("är målbilden till för anställda eller för invånarna?")
    assert not asks_yes_or_no("vad kostar det?")


def test_a_count_question_needs_a_passage_giving_a_number_of_what_it_counts() -> None:
    city = [
        _chunk(
            "En stad utvecklad av invånare för invånare (5-6 november). Sommaren 2022 bjuder vi in invånare."
        ),
        _chunk("Helsingborg har 150 000 besökare varje år."),
    ]
    q = "Hur många invånare har Helsingborg?"
    # dates and years beside "invånare" are no count of them, nor a number of something else
    assert states_count(q, city) is False
    assert states_count(q, [*city, _chunk("I dag har staden nästan 150 000 invånare.")]) is True
    assert states_count(q, [_chunk("Staden har tusentals nöjda invånare.")]) is False
    # a number word, a number a few words from the counted word, and another form of it all count
    assert states_count("hur många seminarier hölls?", [_chunk("Vi höll sju seminarier.")]) is True
    assert (
        states_count(
            "hur många myndigheter arbetar med målen?",
            [_chunk("Nästan 30 olika svenska myndigheter arbetar med dem.")],
        )
        is True
    )
    assert (
        states_count("hur många reformgrupper fanns?", [_chunk("- 4 tvärsektoriella reformgrupper:")]) is True
    )


@pytest.mark.parametrize(
    "question",
    [
        "hur många var på arenan?",
        "hur länge höll de på?",
        "hur många av förslagen antogs?",
        "vad kostar det?",
    ],
)
def test_a_question_that_counts_nothing_by_name_claims_nothing(question: str) -> None:
    assert states_count(question, [_chunk("Det var en fin dag i staden.")]) is None


def test_a_near_copy_that_changed_a_word_is_shown_in_the_source_sentence() -> None:
    source = "Vanida får inte flytta till Sverige förrän hon har fått sitt uppehållstillstånd."
    passage = _chunk(f"Ansökan görs på ambassaden. {source} Kortet skickas sedan.")
    # a swapped pronoun and a lost negation keep every topic word, so the support check cannot see them
    assert source_wording(
        "Vanida får flytta till Sverige när han har fått sitt uppehållstillstånd.", passage
    ) == (source)
    # a misspelt word: most topic words are still the source sentence's
    rytmik = _chunk("Rytmikläraren är en musiklärare som använder rörelser till musik i sin undervisning.")
    assert source_wording("Rytmiklärare leverer rörelser till musik i sin undervisning.", rytmik) == (
        rytmik.text
    )
    # the source sentence itself needs nothing
    assert source_wording(source, passage) is None


def test_a_sentence_built_from_several_source_sentences_keeps_the_models_words() -> None:
    passage = _chunk("Besök oss på Stortorget 17. Prata med en kommunvägledare på telefon 042-10 50 00.")
    # the phone number is not in the sentence about the visit: no one sentence says it all
    assert (
        source_wording("Kontaktcenter finns på Stortorget 17 och har telefon 042-10 50 00.", passage) is None
    )
    # a sentence sharing too few of the written words, or saying far more, is not the written one
    assert source_wording("Kommunvägledare svarar på frågor om bygglov och parkering.", passage) is None
    long = _chunk(
        "Vid tillsyn kontrollerar verket egenkontrollen, registren, behörigheterna, rutinerna, "
        "dokumentationen, utbildningarna och avvikelserna hos varje elinstallatör."
    )
    assert source_wording("Verket kontrollerar egenkontrollen.", long) is None


def test_only_a_whole_source_sentence_stands_in_for_a_written_one() -> None:
    # a heading, a list item, a question and a fragment cut at a chunk's edge are no answer on their own
    for text in (
        "Öppettider för kontaktcenter",
        "- kontaktcenter har öppet vardagar klockan 8-17.",
        "Har kontaktcenter öppet på vardagar?",
        "kontaktcenter har öppet vardagar klockan 8-17.",
    ):
        assert source_wording("Kontaktcenter har öppet på vardagar klockan 8-17.", _chunk(text)) is None, text
    # a quotation or an aside that goes on into the next sentence would be shown half open
    for text in (
        "”Jag tror på samverkan mellan staden och näringslivet. Det har vi visat.”",
        "(Vi tror på samverkan mellan staden och näringslivet. Det har vi visat.)",
    ):
        assert source_wording("Jag tror på samverkan mellan staden och näringslivet.", _chunk(text)) is None
    # a source whose text extraction lost å, ä and ö is worse to read than the model's copy of it
    folded = _chunk("Stadens forra malbild strackte sig till 2022.")
    assert source_wording("Stadens förra målbild sträckte sig fram till 2022.", folded) is None
    assert source_wording("Stadens forra malbild stracker sig till 2022.", folded) == folded.text
    # a bare fact is left to the bare-fact quote, which first checks that it answers the question
    assert is_bare_fact("042-10 50 00.") and not is_bare_fact("Ring kontaktcenter på 042-10 50 00.")
    assert source_wording("042-10 50 00.", _chunk("Ring kontaktcenter på 042-10 50 00.")) is None


def test_the_service_shows_a_near_copy_in_the_source_sentence_and_tells_staff_what_the_model_wrote(
    fake_index: Settings,
) -> None:
    written = "Du kan besöka oss på Helsingborg Kontaktcenter vid Stortorget 17."
    service, _ = make_service(fake_index, written)
    answer = service.ask("var kan jag besöka kontaktcenter?")
    source = "Besök oss på Helsingborg Kontaktcenter på Stortorget 17."
    assert answer.text.startswith(f"{source} [1]") and written not in answer.text
    shown = next(c for c in answer.sentences if c.text == source)
    assert shown.supported and repr(written) in shown.reason
    assert shown.chunk_id == answer.citations[0].chunk.chunk_id


def test_a_phone_number_answers_a_phone_question_and_another_number_does_not() -> None:
    q = "vilket nummer ringer jag till kontaktcenter?"
    assert holds_kind("Prata med en kommunvägledare på telefon 042-10 50 00.", "phone", q)
    assert not holds_kind("Besök oss på Stortorget 17.", "phone", q)


def test_a_price_or_free_answers_a_cost_question_and_a_web_address_does_not() -> None:
    q = "är h22 summit gratis?"
    assert holds_kind("Det är gratis, men du behöver registrera dig.", "cost", q)  # its own "gratis" counts
    assert holds_kind("Biljetten kostar 200 kronor.", "cost", q)
    assert not holds_kind("Gå till h22summit.se.", "cost", q)
    assert not holds_kind("Panelsamtal kring vår gemensamma resa.", "cost", q)
    assert not holds_kind("Du behöver registrera dig med din e-post.", "cost", q)
