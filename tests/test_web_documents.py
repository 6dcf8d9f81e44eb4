"""The document viewer and citations for paginated documents: "s. 4" on the cards, the viewer page by page with the
passage marked on its page, the original file behind it, and the repaired FAQ as the index holds it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rag.types import Chunk, Citation, Document
from rag.web import WebSettings, create_app
from rag.web.fakes import fake_service
from rag.web.render import document_page, source_cards_html, source_cards_md

TEXT = (
    "Första sidans rubrik\n\nText på första sidan.\n\nAndra sidan börjar här och fortsätter.\n\nSista raden."
)
PAGES = (0, TEXT.index("Andra sidan"))


def paged_doc() -> Document:
    return Document(
        doc_id="rapport", source="rapport.pdf", title="Rapport", text=TEXT, sha256="x", pages=PAGES
    )


def test_a_citation_of_a_paginated_document_says_its_page() -> None:
    start = TEXT.index("Andra sidan")
    chunk = Chunk(
        "rapport#1",
        "rapport",
        "rapport.pdf",
        "Rapport",
        TEXT[start:],
        start,
        len(TEXT),
        "h",
        page=2,
        page_end=2,
    )
    cards_md = source_cards_md([Citation(1, chunk, 1.0)])
    assert "**[1] Rapport, s. 2**" in cards_md
    assert "[1] Rapport, s. 2" in source_cards_html([Citation(1, chunk, 1.0)])
    assert Citation(1, chunk, 1.0).to_dict()["page"] == 2


def test_the_viewer_shows_pages_and_marks_the_passage_on_its_page() -> None:
    start = TEXT.index("Andra sidan")
    html = document_page(paged_doc(), start=start, end=start + 20)
    sections = re.findall(r'<section class="sida" id="sida-(\d)".*?</section>', html, re.S)
    assert sections == ["1", "2"]
    page2 = html[html.index('id="sida-2"') :]
    assert '<mark id="stycke" tabindex="-1">Andra sidan börjar h</mark>' in page2
    assert "sidan 2" in html and 'href="/dokumentfil/rapport.pdf#page=2"' in html
    assert '<mark id="stycke"' not in html[: html.index('id="sida-2"')]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    service = fake_service(tmp_path_factory.mktemp("web-docs"))
    return TestClient(create_app(service, web=WebSettings(warm_up=False)))


def test_the_viewer_shows_the_repaired_faq_as_indexed(client: TestClient) -> None:
    resp = client.get("/dokument/faq-malbild-2027.txt")
    assert resp.status_code == 200
    assert "Stadens förra målbild sträckte sig till 2022" in resp.text


def test_the_original_file_is_served_and_nothing_outside_the_corpus(client: TestClient) -> None:
    resp = client.get("/dokumentfil/faq-malbild-2027.txt")
    assert resp.status_code == 200 and "Stadens forra malbild" in resp.text  # the file as it is
    assert resp.headers["x-content-type-options"] == "nosniff"
    for bad in (
        "/dokumentfil/../pyproject.toml",
        "/dokumentfil/metadata.json",
        "/dokumentfil/%2Fetc%2Fpasswd",
    ):
        assert client.get(bad).status_code == 404
