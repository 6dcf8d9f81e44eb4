from rag.text import (
    extract_facts,
    fact_in_passage,
    fold,
    lexical_tokens,
    missing_facts,
    normalize_text,
    split_sentences,
    stem,
)


def test_normalize_keeps_paragraphs_and_composes_unicode() -> None:
    decomposed = "Ma\u030albild  och\tmer\r\n\r\n\r\n\nNy  paragraf\u00a0här"
    out = normalize_text(decomposed)
    assert out == "Målbild och mer\n\nNy paragraf här"
    assert "\u030a" not in out


def test_fold_lets_ocr_damaged_text_meet_the_real_word() -> None:
    assert fold("Målbild") == fold("malbild") == "malbild"
    assert lexical_tokens("målbilden")[0] == lexical_tokens("malbilden")[0]


def test_lexical_tokens_stem_and_drop_stopwords() -> None:
    toks = lexical_tokens("Hur ansöker jag om förskoleplatser i kommunen?")
    assert "hur" not in toks and "jag" not in toks
    assert lexical_tokens("förskolan") == lexical_tokens("förskola") == lexical_tokens("förskolor")
    # loanwords on -é: every written form of the definite meets the base word, compounds stay apart
    assert {stem(w) for w in ["nattcafé", "nattcaféet", "nattcafét", "nattcaféer"]} == {"nattcafe"}
    assert stem("idén") == stem("idé") and stem("kafébesök") != stem("kafé")
    # neuter adjectives on -al and -ell meet their other forms; short words keep their -t
    assert stem("digitalt") == stem("digitala") == stem("digital")
    assert stem("aktuellt") == stem("aktuella") and stem("lokalt") == stem("lokala")
    assert stem("salt") != stem("sal")  # "salt" is no neuter of "sal"


def test_sentences_respect_abbreviations_and_times() -> None:
    text = "Vi har öppet 08.00–17.00, t.ex. på måndagar. Ring oss! Besök Stortorget 17."
    assert split_sentences(text) == [
        "Vi har öppet 08.00–17.00, t.ex. på måndagar.",
        "Ring oss!",
        "Besök Stortorget 17.",
    ]


def test_a_wrapped_line_goes_on_with_its_sentence_and_other_line_breaks_end_one() -> None:
    text = "Stadens nya malbild\nar en gemensam grund.\nÖppettider:\nFredag: 08.00 — 17.00\nAvvikande tider.\n\nrubrik"
    assert split_sentences(text) == [
        "Stadens nya malbild\nar en gemensam grund.",  # a PDF's wrapped line: a lower-case word goes on
        "Öppettider:",
        "Fredag: 08.00 — 17.00",
        "Avvikande tider.",
        "rubrik",  # a blank line always ends one
    ]


def test_facts_are_found_and_normalised() -> None:
    facts = extract_facts("Ring 042-10 50 00 mellan 8:00 och 17 på torsdag, fråga efter Carina Leffler.")
    assert "042-10 50 00" in facts and "8:00" in facts and "17" in facts and "Carina Leffler" in facts
    passage = "Prata med oss på telefon 042-105000. Torsdag: 08.00 — 18.00. Carina Leffler, stadsdirektör."
    assert fact_in_passage("042-10 50 00", passage)
    assert fact_in_passage("8:00", passage)
    assert not fact_in_passage("9:00", passage)
    assert fact_in_passage("Carina Leffler", passage)
    assert fact_in_passage("Carina Leffler", "stadsdirektör Carina\nLeffler sa")  # wrapped by the layout


def test_a_number_must_occur_whole() -> None:
    assert not fact_in_passage("60", "uppskattningsvis 600 personer deltog")
    assert fact_in_passage("600", "uppskattningsvis 600 personer deltog")
    assert missing_facts("Ungefär 700 personer kom.", "uppskattningsvis 600 personer deltog") == ["700"]


def test_definite_and_genitive_definite_forms_meet_the_indefinite_one() -> None:
    from rag.text import stem

    assert stem("almedalsveckans") == stem("almedalsveckan") == stem("almedalsvecka")
    assert stem("förskolans") == stem("förskolan") == stem("förskola")
    assert stem("dans") != stem("da")  # short words keep their ending
