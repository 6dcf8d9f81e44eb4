import datetime as dt

from rag.config import Settings
from rag.handoff import find_handoff, reconstruct_documents
from rag.loaders import load_document
from rag.store import load_index
from tests.conftest import CORPUS


def test_handoff_details_come_from_the_corpus_footer(fake_index: Settings) -> None:
    handoff = find_handoff(load_index(fake_index.index_dir).chunks)
    assert handoff.phone == "042-10 50 00"
    assert handoff.visit and "Stortorget 17" in handoff.visit
    assert handoff.chat and "kommunvägledare" in handoff.chat
    assert handoff.source == "transformationsarena-almedalen.txt"
    assert handoff.hours_on(dt.date(2026, 11, 26)) == "08.00 — 18.00"  # a Thursday
    assert handoff.hours_on(dt.date(2026, 11, 24)) == "08.00 — 17.00"  # a Tuesday, inside 'Måndag–onsdag'
    assert handoff.hours_on(dt.date(2026, 11, 29)) is None  # Sunday: closed
    english = handoff.render("en")
    assert "Call 042-10 50 00" in english and "Opening hours" in english


def test_documents_are_stitched_back_exactly_from_overlapping_chunks(fake_index: Settings) -> None:
    index = load_index(fake_index.index_dir)
    docs = reconstruct_documents(index.chunks)
    for source, text in docs.items():
        indexed = index.documents[source]  # the text as read, å/ä/ö restored where extraction lost them
        assert (indexed.original_text or indexed.text) == load_document(CORPUS / source, CORPUS).text
        assert len(text) == len(indexed.text)
        assert text.split() == indexed.text.split()  # identical up to whitespace between chunks
