from rag.index.lexical import BM25Index
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
