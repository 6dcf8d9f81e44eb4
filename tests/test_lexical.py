from rag.index.lexical import BM25Index, edit_distance
from rag.text import lexical_tokens

TEXTS = [
    "Öppettider för kontaktcenter: måndag till fredag.",
    "Bygglovsansökan skickas till stadsbyggnadsförvaltningen.",
    "FAQ om stadens nya malbild och vision.",
    "Förskola och skola i Helsingborg.",
]


def test_bm25_ranks_the_matching_chunk_first() -> None:
    index = BM25Index.from_texts(TEXTS)
    assert index.search("När har kontaktcenter öppet?", 4)[0][0] == 0
    assert index.search("Var finns information om förskolan?", 4)[0][0] == 3
    assert index.search("fotboll", 4) == []


def test_diacritics_fold_so_ocr_text_is_found() -> None:
    assert BM25Index.from_texts(TEXTS).search("Vad är målbilden?", 4)[0][0] == 2


def test_compounds_meet_their_parts() -> None:
    index = BM25Index.from_texts([*TEXTS, "Ansökan om bygglov.", "Tider för bussar."])
    (compound,) = lexical_tokens("bygglovsansökan")
    assert index.split_compound(compound) == lexical_tokens("bygglov ansökan")
    # 'öppet' only occurs inside the compound 'öppettider' in chunk 0
    assert index.search("öppet", 3)[0][0] == 0
    assert index.query_terms("bygglovsansökan") == [compound, *lexical_tokens("bygglov ansökan")]


def test_a_long_misspelt_term_has_the_index_terms_a_few_edits_away() -> None:
    index = BM25Index.from_texts([*TEXTS, "Industrielektrikern arbetar aldrig ensam vid ställverk."])
    (typo,) = lexical_tokens("indusrtielektrikern")  # two letters swapped
    (right,) = lexical_tokens("industrielektrikern")
    assert typo not in index.vocab and index.near_spellings(typo) == [right]
    (dropped,) = lexical_tokens("industrielektrkern")  # one letter missing
    assert index.near_spellings(dropped) == [right]
    # a short word is left alone: one edit from it is often another word
    (short,) = lexical_tokens("skolan")
    assert index.near_spellings(short) == []
    # a word three edits from anything, or with another first letter, has no near spelling
    (far,) = lexical_tokens("industrimekanikern")
    assert index.near_spellings(far) == []
    (first,) = lexical_tokens("undustrielektrikern")
    assert index.near_spellings(first) == []


def test_edit_distance_counts_a_swap_of_neighbours_as_one_and_stops_at_the_cap() -> None:
    assert edit_distance("abcd", "abdc", 5) == 1
    assert edit_distance("kitten", "sitting", 5) == 3
    assert edit_distance("kitten", "sitting", 2) == 2
    assert edit_distance("same", "same", 1) == 0
