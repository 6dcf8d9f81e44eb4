"""The å/ä/ö repair on the corpus itself: detection, word-level precision and recall where the truth is known,
the damaged FAQ, and what it must never touch. Uses the real wordfreq and simplemma lists (about 3 s)."""

from __future__ import annotations

import pytest

from rag.repair import AccentRepairer, corpus_vocabulary, measure, restored_words, strip_accents
from tests.conftest import CORPUS

FAQ = "faq-malbild-2027.txt"


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}


def test_only_the_faq_is_found_damaged(texts: dict[str, str]) -> None:
    probe = AccentRepairer()
    damaged = {name for name, text in texts.items() if probe.damage(text).is_damaged}
    assert damaged == {FAQ}
    assert probe.damage(strip_accents(texts["tre-transformationer.txt"])).is_damaged


def test_precision_and_recall_on_stripped_copies_of_the_other_documents(texts: dict[str, str]) -> None:
    healthy = {n: t for n, t in texts.items() if n != FAQ}
    damaged = changed = correct = 0
    for name, truth in healthy.items():
        vocabulary = corpus_vocabulary(t for n, t in healthy.items() if n != name)  # not its own words
        fig = measure(truth, AccentRepairer(vocabulary))
        damaged += fig.damaged_words
        changed += fig.changed_words
        correct += fig.correct_changes
    assert damaged > 1500
    assert correct / changed >= 0.99, f"precision {correct / changed:.4f}"
    assert correct / damaged >= 0.90, f"recall {correct / damaged:.4f}"


def test_the_faq_reads_målbild_and_förra_with_the_original_kept_letter_for_letter(
    texts: dict[str, str],
) -> None:
    vocabulary = corpus_vocabulary(t for n, t in texts.items() if n != FAQ)
    faq = texts[FAQ]
    fixed = AccentRepairer(vocabulary).repair(faq)
    assert "Stadens förra målbild sträckte sig till 2022" in fixed.text
    assert "1. Vad är syftet med en ny målbild?" in fixed.text
    assert len(fixed.text) == len(faq)  # offsets into the repaired text hold for the original too
    pairs = restored_words(faq, fixed.text)
    assert pairs[("malbild", "målbild")] >= 5 and pairs[("forra", "förra")] >= 2


def test_what_the_repair_leaves_alone() -> None:
    repairer = AccentRepairer()
    text = "SORRY FOR THE INCONVENIENCE. Mejla karin.bergstrom@helsingborg.se eller se www.malbild.se idag."
    assert repairer.repair(text).text == text
    # an ambiguous word ("vägar" or "vågar") stays as written
    assert repairer.restore("vagar", "nya", None, sentence_start=False) == "vagar"
    # context decides the commonest pairs, capitalisation is kept
    assert repairer.restore("ar", "fem", "sedan", sentence_start=False) == "år"
    assert repairer.restore("ar", "Det", "bra", sentence_start=False) == "är"
    assert repairer.restore("Ar", None, "2022", sentence_start=True) == "År"
    assert repairer.restore("MALBILD") == "MÅLBILD"
    # a compound the lists lack is split into known words; one already a compound as written is left
    assert repairer.restore("invanarundersokning") == "invånarundersökning"
    assert repairer.restore("kontaktcenter") == "kontaktcenter"
