"""Scorer metrics on hand-made cases whose right result is known."""

from __future__ import annotations

import math

import pytest

from eval import metrics
from rag.attribution import SupportChecker
from rag.prompting import say
from rag.types import Chunk


def test_retrieval_metrics_known_values() -> None:
    ranked = ["a", "b", "c", "d"]
    assert metrics.hit_at_k(ranked, {"c"}, 1) == 0.0
    assert metrics.hit_at_k(ranked, {"c"}, 3) == 1.0
    assert metrics.recall_at_k(ranked, {"a", "d"}, 3) == 0.5
    assert metrics.reciprocal_rank(ranked, {"c"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(ranked, {"x"}) == 0.0
    assert metrics.ndcg_at_k(ranked, {"a"}) == 1.0
    assert metrics.ndcg_at_k(ranked, {"c"}) == pytest.approx(1 / math.log2(4))
    both = (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(ranked, {"a", "d"}) == pytest.approx(both)
    assert metrics.ndcg_at_k(ranked, {"x"}) == 0.0


def test_retrieval_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="k must be greater than 0"):
        metrics.hit_at_k(["a"], {"a"}, 0)
    with pytest.raises(ValueError, match="at least one gold"):
        metrics.ndcg_at_k(["a"], set())


def test_ndcg_counts_a_document_once_even_when_several_chunks_repeat_it() -> None:
    assert metrics.ndcg_at_k(["a", "a", "b"], {"a", "b"}) == pytest.approx(
        (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    )
    assert metrics.dedupe(["a", "a", "b", "a"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("answer", "alt", "expected"),
    [
        ("Ring 042–10 50 00 [1]", "042-10 50 00", True),  # en dash folded
        ("Ring 042 - 10  50\u00a000", "042-10 50 00", True),  # spaces and nbsp folded
        ("Besök oss på STORTORGET 17.", "Stortorget 17", True),  # case
        ("Besök oss på Stortorget 7.", "Stortorget 17", False),
        ("Ring 042-10 50 01", "042-10 50 00", False),
    ],
)
def test_contains_folds_case_whitespace_and_dashes(answer: str, alt: str, expected: bool) -> None:
    assert metrics.contains(answer, alt) is expected


def test_key_facts_every_group_needs_one_alternative() -> None:
    groups = [["042-10 50 00"], ["Stortorget 17", "Stortorget 17, Helsingborg"]]
    ok = metrics.key_facts("Ring 042-10 50 00 eller besök Stortorget 17.", groups)
    assert ok.all_found and ok.share == 1.0
    missing = metrics.key_facts("Ring 042-10 50 00.", groups)
    assert not missing.all_found
    assert missing.missed == [["Stortorget 17", "Stortorget 17, Helsingborg"]]
    assert missing.share == 0.5


def test_cited_segments_split_at_markers() -> None:
    segs = metrics.cited_segments("Först detta. Sedan det [1]. Och sist [2, 3] men okänt här")
    assert segs == [("Först detta. Sedan det", [1]), (". Och sist", [2, 3]), ("men okänt här", [])]


def _cit(n: int, text: str, source: str = "kontakt.txt", title: str = "Kontakt") -> dict:
    return {
        "n": n,
        "chunk_id": f"{source}#{n}",
        "doc_id": source[:-4],
        "source": source,
        "title": title,
        "text": text,
    }


def test_citation_support_and_precision_right_citation() -> None:
    checker = SupportChecker(0.5)
    cits = [_cit(1, "Prata med en kommunvägledare på telefon 042-10 50 00.")]
    res = metrics.citation_support("Ring en kommunvägledare på telefon 042-10 50 00. [1]", cits, checker)
    assert (res.sentences, res.supported, res.share) == (1, 1, 1.0)
    assert metrics.citation_precision(cits, {"kontakt"}) == 1.0


def test_citation_support_fails_for_wrong_citation() -> None:
    """The sentence is true, but the passage it cites says something else: must not count as supported."""
    checker = SupportChecker(0.5)
    cits = [
        _cit(1, "Prata med en kommunvägledare på telefon 042-10 50 00."),
        _cit(2, "Cykelverkstaden ligger i källaren vid brandstationen.", "cykel.txt", "Cykel"),
    ]
    res = metrics.citation_support("Ring en kommunvägledare på telefon 042-10 50 00. [2]", cits, checker)
    assert (res.sentences, res.supported) == (1, 0)
    assert res.unsupported and "042-10 50 00" in res.unsupported[0]
    assert metrics.citation_precision([cits[1]], {"kontakt"}) == 0.0
    assert metrics.citation_precision([], {"kontakt"}) is None


def test_citation_support_uncited_or_dangling_marker_is_unsupported() -> None:
    checker = SupportChecker(0.5)
    cits = [_cit(1, "Prata med en kommunvägledare på telefon 042-10 50 00.")]
    res = metrics.citation_support(
        "Ring en kommunvägledare på telefon 042-10 50 00. [4] Stortorget 17 är adressen.", cits, checker
    )
    assert (res.sentences, res.supported) == (2, 0)


def test_handoff_detection_compares_digits() -> None:
    assert metrics.has_handoff("Ring 042–10 50 00", "042-10 50 00")
    assert not metrics.has_handoff("Kontakta kontaktcenter.", "042-10 50 00")
    assert not metrics.has_handoff("Ring 042-10 50 00", None)


def test_refusal_outcomes_and_precision_recall() -> None:
    R = metrics.RefusalOutcome
    cases = [
        R(answerable=False, refused=True, handoff=True),  # tp
        R(answerable=False, refused=True, handoff=False),  # fn: refusal without hand-off
        R(answerable=False, refused=False, handoff=False),  # fn: answered
        R(answerable=True, refused=True, handoff=True),  # fp
        R(answerable=True, refused=False, handoff=False),  # tn
    ]
    assert [c.kind for c in cases] == ["tp", "fn", "fn", "fp", "tn"]
    assert [c.correct for c in cases] == [True, False, False, False, True]
    pr = metrics.refusal_precision_recall(cases)
    assert pr["refusal_precision"] == 0.5
    assert pr["refusal_recall"] == pytest.approx(1 / 3)
    assert metrics.refusal_precision_recall([R(True, False, False)]) == {
        "refusal_precision": None,
        "refusal_recall": None,
    }


def test_answer_language_ignores_swedish_quotes() -> None:
    assert (
        metrics.answer_language("This is what the city says (in Swedish): ”Vi siktar på 2030.” [1]") == "en"
    )
    assert metrics.answer_language("Helsingborg siktar på klimatneutralitet till 2030. [1]") == "sv"
    # the service's English lead quotes the Swedish document title: its words decide nothing
    title = "Tre transformationer: den gröna, den sociala och den teknologiska"
    lead = say("fallback", "en", title=title)
    assert (
        metrics.answer_language(f"2030 [1]\n\n{lead} ”Vi siktar på 2030, 20 år före resten av Europa.” [1]")
        == "en"
    )
    english_handoff = (
        "I could not find anything about that in the city's documents, so I won't guess. A municipal guide at "
        "the contact centre can help you:\n- Call 042-10 50 00\n- Visit Helsingborg Kontaktcenter på "
        "Stortorget 17\nOpening hours: Måndag–onsdag 08.00 — 17.00; Torsdag 08.00 — 18.00."
    )
    assert metrics.answer_language(english_handoff) == "en"
    assert metrics.answer_language("Torsdagar: 08.00 — 18.00 [1]") == "sv"


def test_percentile_and_mean() -> None:
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([10.0], 95) == 10.0
    assert metrics.percentile([], 50) is None
    assert metrics.percentile(list(range(101)), 95) == 95
    assert metrics.mean([1.0, None, 3.0]) == 2.0
    assert metrics.mean([None]) is None


def test_citation_support_skips_the_services_own_notes() -> None:
    checker = SupportChecker(0.5)
    cits = [_cit(1, "Prata med en kommunvägledare på telefon 042-10 50 00.")]
    answer = (
        "Ring en kommunvägledare på telefon 042-10 50 00. [1]\n\n"
        "Obs: källan [1] är från 2022, så uppgiften kan ha ändrats sedan dess."
    )
    res = metrics.citation_support(answer, cits, checker)
    assert (res.sentences, res.supported) == (1, 1)


def test_a_quoted_source_is_checked_without_the_lead_in_another_language() -> None:
    checker = SupportChecker(0.5)
    cits = [_cit(1, "Besök oss på Helsingborg Kontaktcenter på Stortorget 17.")]
    answer = "This is what Kontakt says (in Swedish): ”Besök oss på Helsingborg Kontaktcenter på Stortorget 17.” [1]"
    res = metrics.citation_support(answer, cits, checker)
    assert (res.sentences, res.supported) == (1, 1)
    nested = "Så här står det i Kontakt: ”Hon sa ”välkommen”. Besök oss på Stortorget 17.” [1]"
    assert metrics.citation_support(nested, cits, checker).supported == 1
    invented = "This is what Kontakt says (in Swedish): ”Besök oss på Drottninggatan 9.” [1]"
    assert metrics.citation_support(invented, cits, checker).supported == 0
    titled = f"{say('fallback', 'en', title='Kontakt: en väg in')} ”Besök oss på Stortorget 17.” [1]"
    res = metrics.citation_support(titled, cits, checker)
    assert (res.sentences, res.supported) == (1, 1)


def test_a_word_swapped_for_its_opposite_makes_a_sentence_unsupported() -> None:
    # A PDF's line breaks split the passage sentence; the swap of "nya" for "gamla" is still seen.
    text = "Stadens nya malbild\nar en gemensam grund for stadens utveckling. Kontaktcenter har stängt på söndagar."
    passage = Chunk("d#0-x", "d", "d.txt", "Målbild", text, 0, len(text), "x")
    checker = SupportChecker(0.5)
    swapped = checker.check("Stadens gamla målbild var en grund för stadens utveckling.", [passage])
    assert not swapped.check.supported and "gamla" in swapped.check.reason
    assert checker.check("Stadens nya målbild är en grund för stadens utveckling.", [passage]).check.supported
    assert not checker.check("Kontaktcenter har öppet på söndagar.", [passage]).check.supported
    # a passage that says both backs either
    both = "Den nya malbilden tar vid dar den gamla slutar."
    chunk = Chunk("d#1-x", "d", "d.txt", "Målbild", both, 0, len(both), "x")
    assert checker.check("Den gamla målbilden slutar där den nya tar vid.", [chunk]).check.supported


def test_a_negation_the_passage_lacks_makes_a_sentence_unsupported() -> None:
    # Negations are stop words, so word overlap alone would accept a flipped claim.
    checker = SupportChecker(0.5)
    text = "Det finns frukost för hemlösa varje söndag. Du behöver inte anmäla dig till frukosten."
    passage = Chunk("d#0-x", "d", "d.txt", "Frukost", text, 0, len(text), "x")
    flipped = checker.check("Det finns ingen frukost för hemlösa på söndag.", [passage])
    assert not flipped.check.supported and "ingen" in flipped.check.reason
    # the negation the passage makes about the same topic backs the sentence
    assert checker.check("Du behöver inte anmäla dig till frukosten.", [passage]).check.supported
    assert checker.check("Det finns frukost för hemlösa varje söndag.", [passage]).check.supported
    # a quotation written word for word in the passage backs its own negation
    quoted = "Citatet lyder: ”Ingen kan göra allt men alla kan göra något”. Lisa Olsson, Helsingborgs stad"
    said = Chunk("d#1-x", "d", "d.txt", "Citat", quoted, 0, len(quoted), "x")
    claim = "Ingen kan göra allt men alla kan göra något”. Lisa Olsson, Helsingborgs stad"
    assert checker.check(claim, [said]).check.supported
