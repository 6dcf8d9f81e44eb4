"""Every format a city hands over, made from corpus/ with the real tools, read back and indexed: text PDF, scanned
PDF (Tesseract, Swedish), Word, OpenDocument and saved web pages; pages in citations; bad files skipped."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from eval.formats import BOILERPLATE, Variants, character_error_rate, require
from rag.config import Settings
from rag.embedders.fake import HashEmbedder
from rag.ingest import Ingestor
from rag.loaders import load_document, load_metadata
from rag.ocr import FakeOcr, TesseractOcr
from rag.store import load_index
from rag.types import Document
from rag.web.api import sources_text
from tests.conftest import make_service

pytestmark = pytest.mark.documents


def read(folder: Path, name: str, **kw: Any) -> Document:
    return load_document(folder / name, folder, load_metadata(folder), **kw)


class CountingOcr(TesseractOcr):
    def __init__(self) -> None:
        super().__init__()
        self.pages = 0

    def recognize(self, image: Any) -> Any:
        self.pages += 1
        return super().recognize(image)


@pytest.fixture(scope="module")
def scan_index(scans: Variants, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CountingOcr, Any]:
    """The two scanned documents indexed once with real OCR (the pages are counted)."""
    ocr = CountingOcr()
    root = tmp_path_factory.mktemp("scan-index")
    report = Ingestor(HashEmbedder(), index_root=root, ocr=ocr).run(scans.dirs["scan"], progress=None)
    return root, ocr, report


def test_text_pdfs_are_read_in_order_without_running_headers_footers_or_hyphens(variants: Variants) -> None:
    folder = variants.dirs["pdf"]
    for doc_id, source in variants.sources.items():
        doc = read(folder, f"{doc_id}.pdf")
        assert character_error_rate(source, doc.text) <= 0.01, doc_id
        assert "Helsingborgs stad ·" not in doc.text and "Sida 1 av" not in doc.text
        assert doc.pages and doc.pages[0] == 0 and len(doc.pages) >= 2
        assert doc.title == variants.titles[doc_id]
    tre = read(folder, "tre-transformationer.pdf")
    assert "\n\nGrön transformation\n\n" in tre.text  # a heading is a paragraph of its own
    assert (
        "Sammanflätade områden vars utveckling påverkar" in tre.text
    )  # LibreOffice hyphenated "utveck-ling"
    second = tre.text[tre.pages[1] :]
    pdftotext = subprocess.run(
        [
            str(Path(require("pdftoppm")).with_name("pdftotext")),
            "-f",
            "2",
            "-l",
            "2",
            str(folder / "tre-transformationer.pdf"),
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert " ".join(second.split()[:6]) in " ".join(pdftotext.split())  # page 2 starts where Poppler's does


def test_word_and_opendocument_keep_headings_and_lists(variants: Variants) -> None:
    for fmt in ("docx", "odt"):
        folder = variants.dirs[fmt]
        for doc_id, source in variants.sources.items():
            doc = read(folder, f"{doc_id}.{fmt}")
            assert character_error_rate(source, doc.text) <= 0.005, (fmt, doc_id)
            assert doc.pages is None  # Word pages depend on the program that lays them out
        social = read(folder, f"socialforvaltningen-nyheter.{fmt}")
        assert "\n\n• Coronapåverkan\n\n" in social.text
        assert "\n\nGrön transformation\n\n" in read(folder, f"tre-transformationer.{fmt}").text


def test_web_pages_give_their_main_content_without_menus_banners_or_footers(variants: Variants) -> None:
    folder = variants.dirs["html"]
    for doc_id, source in variants.sources.items():
        doc = read(folder, f"{doc_id}.html")
        flat = " ".join(doc.text.split())
        assert not [b for b in BOILERPLATE if b in flat], doc_id
        assert character_error_rate(source, doc.text) <= 0.03, doc_id


def test_scans_are_read_with_swedish_ocr_page_by_page(scans: Variants, scan_index: Any) -> None:
    root, ocr, report = scan_index
    assert ocr.pages == 4 and not report.skipped
    assert not report.notes  # clean scans: no page below the confidence threshold
    documents = load_index(root).documents
    for doc_id, source in scans.sources.items():
        doc = documents[f"{doc_id}.pdf"]
        assert character_error_rate(source, doc.text) <= 0.02, doc_id
        assert doc.pages is not None and len(doc.pages) == 2
        assert "Sida 1 av" not in doc.text
    chunks = [c for c in load_index(root).chunks if c.source == "tre-transformationer.pdf"]
    assert {c.page for c in chunks} == {1, 2}


def test_an_unchanged_scan_is_not_read_again(scans: Variants, scan_index: Any) -> None:
    root, ocr, _ = scan_index
    before = ocr.pages
    report = Ingestor(HashEmbedder(), index_root=root, ocr=ocr).run(scans.dirs["scan"], progress=None)
    assert ocr.pages == before and not report.wrote_index


def test_a_page_read_with_low_confidence_is_flagged(scans: Variants, tmp_path: Path) -> None:
    shaky = FakeOcr(lines=["Texten syns dåligt på den här sidan av skanningen."], confidence=41.0)
    doc = read(scans.dirs["scan"], "valkomna-till-helsingborg.pdf", ocr=shaky)
    assert shaky.pages_read == 2
    assert doc.notes and "low OCR confidence (41 %)" in doc.notes[0]


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_indexed(
    variants: Variants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile
    from PIL import Image

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = variants.dirs["pdf"] / "tre-transformationer.pdf"
    (corpus / "tre-transformationer.pdf").write_bytes(good.read_bytes())
    (corpus / "svar.docx").write_bytes(
        (variants.dirs["docx"] / "valkomna-till-helsingborg.docx").read_bytes()
    )
    subprocess.run(
        [
            require("qpdf"),
            "--encrypt",
            "hemligt",
            "hemligt",
            "256",
            "--",
            str(good),
            str(corpus / "lost.pdf"),
        ],
        check=True,
    )
    (corpus / "trasig.pdf").write_bytes(good.read_bytes()[:3000])
    (corpus / "tom.pdf").write_bytes(b"")
    with (
        open(variants.dirs["docx"] / "faq-malbild-2027.docx", "rb") as src,
        open(corpus / "last.docx", "wb") as out,
    ):
        OOXMLFile(src).encrypt("hemligt", out)
    Image.new("L", (1200, 1600), 255).save(corpus / "vit-sida.png")
    report = Ingestor(HashEmbedder(), index_root=tmp_path / "emb").run(corpus, progress=None)
    assert report.added == ["svar.docx", "tre-transformationer.pdf"]
    assert "password-protected" in report.skipped["lost.pdf"]
    assert "damaged" in report.skipped["trasig.pdf"]
    assert "empty" in report.skipped["tom.pdf"]
    assert "password-protected" in report.skipped["last.docx"]
    assert "no text" in report.skipped["vit-sida.png"]

    # without Tesseract a scan is skipped with what to install; everything else is still indexed
    monkeypatch.setattr("rag.ocr.shutil.which", lambda name: None)
    (corpus / "skannad.png").write_bytes(b"")
    Image.new("L", (400, 300), 255).save(corpus / "skannad.png")
    report = Ingestor(HashEmbedder(), index_root=tmp_path / "emb2", ocr=TesseractOcr()).run(
        corpus, progress=None
    )
    assert "install tesseract-ocr and tesseract-ocr-swe" in report.skipped["skannad.png"]
    assert report.added == ["svar.docx", "tre-transformationer.pdf"]


def test_a_pdf_answer_cites_file_and_page_and_the_faq_reads_repaired(
    variants: Variants, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        environ={},
        corpus_dir=variants.dirs["pdf"],
        index_dir=tmp_path / "emb",
        data_dir=tmp_path / "data",
        embedder="fake",
        generator="scripted",
    )
    report = Ingestor(HashEmbedder(), index_root=settings.index_dir).run(settings.corpus_dir, progress=None)
    assert "faq-malbild-2027.pdf" in report.notes and "restored" in report.notes["faq-malbild-2027.pdf"][0]
    index = load_index(settings.index_dir)
    faq = index.documents["faq-malbild-2027.pdf"]
    assert "Stadens förra målbild sträckte sig till 2022" in faq.text
    assert faq.original_text and "Stadens forra malbild" in faq.original_text
    assert all(c.page is not None and c.page_end is not None for c in index.chunks)
    service, _ = make_service(settings, "Kontaktcenter har telefonnummer 042-10 50 00.")
    answer = service.ask("Vilket telefonnummer har kontaktcenter?")
    cited = answer.citations[0].chunk
    assert cited.source == "transformationsarena-almedalen.pdf" and cited.page is not None
    assert cited.page == index.documents[cited.source].page_at(cited.start)
    assert f"(transformationsarena-almedalen.pdf, s. {cited.page}" in sources_text(answer.citations)
    assert answer.to_json_dict()["citations"][0]["page"] == cited.page
