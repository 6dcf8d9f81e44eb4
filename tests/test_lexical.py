import numpy as np

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


def _search_as_it_was(index: BM25Index, query: str, k: int) -> list[tuple[int, float]]:
    """BM25Index.search before it summed the columns itself: scipy's column sum and a full stable sort."""
    terms = [index.vocab[t] for t in index.query_terms(query)]
    if not terms or k <= 0 or not len(index):
        return []
    scores = np.asarray(index._weights[:, terms].sum(axis=1)).ravel()
    nz = np.flatnonzero(scores > 0)
    if nz.size == 0:
        return []
    top = nz[np.argsort(-scores[nz], kind="stable")[:k]]
    return [(int(i), float(scores[i])) for i in top]


def test_search_returns_exactly_what_the_scipy_column_sum_returned() -> None:
    """Same positions, same order (ties to the earlier chunk), the same float32 scores to the bit."""
    rng = np.random.default_rng(0)
    words = [
        "skola",
        "förskola",
        "bygglov",
        "ansökan",
        "bygglovsansökan",
        "öppettider",
        "kontaktcenter",
        "stad",
        "arenan",
    ]
    words += [f"ord{i}" for i in range(40)]
    p = 1 / np.arange(1, len(words) + 1)
    texts = [" ".join(rng.choice(words, size=rng.integers(3, 30), p=p / p.sum())) for _ in range(400)]
    texts += texts[:50]  # identical chunks: exact ties
    index = BM25Index.from_texts(texts)
    queries = [" ".join(rng.choice(words, size=rng.integers(1, 8))) for _ in range(200)]
    queries += ["skola skola skola", "bygglovsansökan", "öppet", "fotboll", ""]
    for q in queries:
        for k in (1, 3, 30, 1000):
            assert index.search(q, k) == _search_as_it_was(index, q, k), (q, k)
