from rag.chunking import Chunker, ChunkerSettings
from rag.loaders import load_document
from tests.conftest import CORPUS


def test_chunks_carry_exact_offsets_stable_ids_and_bounded_size() -> None:
    doc = load_document(CORPUS / "socialforvaltningen-nyheter.txt", CORPUS)
    chunker = Chunker(ChunkerSettings(chunk_size=500, chunk_overlap=80))
    chunks = chunker.split(doc)
    assert len(chunks) > 10
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= 500
        assert c.chunk_id.startswith(doc.doc_id + "#")
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert [c.chunk_id for c in chunker.split(doc)] == [c.chunk_id for c in chunks]
    # every character of the document is in some chunk (apart from whitespace at boundaries)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered or doc.text[i].isspace() for i in range(len(doc.text)))


def test_no_chunk_ends_with_the_heading_the_next_one_opens_with_but_a_byline_stays() -> None:
    doc = load_document(CORPUS / "tre-transformationer.txt", CORPUS)
    chunks = Chunker(ChunkerSettings(chunk_size=500, chunk_overlap=80)).split(doc)
    opening = [c for c in chunks if c.text.startswith("Den sociala transformationen")]
    assert opening, "the section's heading opens a chunk"
    assert not any(c.text.rstrip().endswith("Den sociala transformationen") for c in chunks)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    # A byline has a comma: it names who said the quote above it, so it stays with the quote.
    almedalen = load_document(CORPUS / "transformationsarena-almedalen.txt", CORPUS)
    pieces = Chunker(ChunkerSettings(chunk_size=500, chunk_overlap=80)).split(almedalen)
    assert any(c.text.rstrip().endswith("Carina Leffler, Stadsdirektör Helsingborgs stad") for c in pieces)


def test_a_lead_in_ending_with_a_colon_goes_with_what_it_introduces() -> None:
    doc = load_document(CORPUS / "faq-malbild-2027.txt", CORPUS)
    chunks = Chunker(ChunkerSettings(chunk_size=500, chunk_overlap=80)).split(doc)
    lead_in = "Framover kan matningar som dessa tjana som vardematare pa hur val malbilden uppnas:"
    assert not any(c.text.rstrip().endswith(lead_in) for c in chunks)
    holder = [c for c in chunks if lead_in in c.text]
    assert holder and all("Numbeo Quality of Life Index" in c.text for c in holder)
    assert all(doc.text[c.start : c.end] == c.text and len(c.text) <= 500 for c in chunks)
    # with no room in the next chunk, the lead-in stays where it was: no chunk outgrows the size
    small = Chunker(ChunkerSettings(chunk_size=120, chunk_overlap=0)).split(doc)
    assert all(len(c.text) <= 120 for c in small)
