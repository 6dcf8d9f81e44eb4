"""Reading corpus files into normalised Documents; a file that cannot be read fails with a reason.

Formats: plain text (.txt, .md), web pages (.html, .htm: the main content, see `web_page_text`), PDF with a text
layer and scanned PDF (rag/formats/pdf.py, OCR in rag/ocr.py), images (.png, .jpg, .tif: OCR), Word (.docx)
and OpenDocument (.odt) (rag/formats/office.py). A PDF or a multi-page scan knows where each page starts.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

from rag.errors import DocumentError
from rag.formats.office import read_docx, read_odt
from rag.formats.pdf import PageProgress, read_image, read_pdf
from rag.ocr import OcrEngine, TesseractOcr
from rag.text import normalize_text
from rag.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".html", ".htm")
PDF_SUFFIXES = (".pdf",)
OFFICE_SUFFIXES = (".docx", ".odt")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + PDF_SUFFIXES + OFFICE_SUFFIXES + IMAGE_SUFFIXES
METADATA_FILE = "metadata.json"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # text and web pages
MAX_BINARY_BYTES = 200 * 1024 * 1024  # PDF, scans, Word: images make them large
# Bump when a reader changes what it extracts from a file: every document is then read again at ingest.
LOADER_VERSION = 1
# Embedded titles that name a template or a program, not the document.
_GENERIC_TITLE = re.compile(
    r"^(untitled|namnlös|microsoft word|dokument\d*|document\d*|presentation\d*)\b", re.I
)


def list_corpus_files(corpus_dir: Path) -> list[Path]:
    """Every regular file of the corpus, sorted, except the metadata file and hidden files."""
    if not corpus_dir.is_dir():
        raise DocumentError(str(corpus_dir), "the corpus folder does not exist")
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and p.name != METADATA_FILE and not any(part.startswith(".") for part in p.parts)
    )


def load_metadata(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring %s: %s (fix the JSON to get titles back)", path, exc)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


class _HTMLText(HTMLParser):
    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "section",
            "article",
            "header",
        }
    )
    _SKIP: ClassVar[frozenset[str]] = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        else:
            self.parts.append(data)


def html_to_text(raw: str) -> tuple[str, str]:
    """(title, text) of an HTML page; script and style dropped, block elements become paragraphs."""
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))
    return html.unescape(parser.title).strip(), text


def web_page_text(raw: str) -> tuple[str, str]:
    """(title, text) of a saved web page: its main content without menus, cookie banners, breadcrumbs and
    footers (trafilatura, measured against the plain reader in docs/documents.md), as paragraphs. A page
    where trafilatura finds little (a bare fragment, a page that is all table) is read whole instead."""
    title, whole = html_to_text(raw)
    try:
        import trafilatura

        main = trafilatura.extract(
            raw,
            output_format="html",
            include_tables=True,
            include_comments=False,
            include_links=False,
            include_images=False,
            deduplicate=False,
        )
    except Exception as exc:  # trafilatura is a heuristic over any HTML: never lose the page to it
        log.warning("main-content extraction failed (%s); reading the whole page", exc)
        main = None
    if main:
        _, text = html_to_text(main)
        if len(normalize_text(text)) >= 0.2 * len(normalize_text(whole)):
            return title, text
    return title, whole


_MD_MARKUP = re.compile(r"(\*\*|__|^#{1,6}\s+|^>\s?)", re.MULTILINE)


def _decode(raw: bytes, path: Path) -> str:
    if not raw.strip():
        raise DocumentError(str(path), "the file is empty")
    if b"\x00" in raw[:8192]:
        raise DocumentError(str(path), "the file looks binary (NUL bytes); save it as UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            str(path), f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
        ) from exc


def _first_line_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip(" #*")
        if len(line) >= 3:
            return line[:120]
    return ""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=1)
def _default_ocr() -> OcrEngine:
    return TesseractOcr()


def load_document(
    path: Path,
    corpus_dir: Path,
    metadata: dict[str, dict[str, Any]] | None = None,
    *,
    ocr: OcrEngine | None = None,
    progress: PageProgress | None = None,
) -> Document:
    """Read one file. Raises DocumentError (with the reason) for unsupported, empty, damaged, encrypted or
    mis-encoded files, and for scans when OCR cannot run. `progress` counts OCR'd pages."""
    rel = path.relative_to(corpus_dir).as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            rel,
            f"unsupported format {suffix or '(no extension)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}",
        )
    limit = MAX_DOCUMENT_BYTES if suffix in TEXT_SUFFIXES else MAX_BINARY_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise DocumentError(rel, f"larger than {limit // (1024 * 1024)} MB; split it into parts")
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(rel, f"cannot be read: {exc.strerror}") from exc
    embedded_title = ""
    pages: tuple[int, ...] | None = None
    notes: tuple[str, ...] = ()
    if suffix in TEXT_SUFFIXES:
        decoded = _decode(raw, Path(rel))
        if suffix in (".html", ".htm"):
            embedded_title, decoded = web_page_text(decoded)
        elif suffix == ".md":
            decoded = _MD_MARKUP.sub("", decoded)
        text = normalize_text(decoded)
    elif suffix in OFFICE_SUFFIXES:
        office = read_docx(raw, rel) if suffix == ".docx" else read_odt(raw, rel)
        text, embedded_title = normalize_text(office.text), office.title
    else:
        engine = ocr or _default_ocr()
        scan = (
            read_pdf(raw, rel, ocr=engine, progress=progress)
            if suffix in PDF_SUFFIXES
            else read_image(raw, rel, ocr=engine, progress=progress)
        )
        text, embedded_title, notes = scan.laid_out.text, scan.title, tuple(scan.notes)
        if scan.pages > 1 or suffix in PDF_SUFFIXES:
            pages = scan.laid_out.page_starts
        if normalize_text(text) != text:  # pragma: no cover - the layout step writes normal text
            log.warning("%s: text not normalised by the layout step; its pages are dropped", rel)
            text, pages = normalize_text(text), None
    if len(text) < 2:
        raise DocumentError(rel, "no text left after reading the file")
    if _GENERIC_TITLE.match(embedded_title):
        embedded_title = ""
    meta = (metadata or {}).get(rel, {})
    title = str(meta.get("title") or embedded_title or _first_line_title(text) or path.stem)
    return Document(
        doc_id=rel.rsplit(".", 1)[0],
        source=rel,
        title=normalize_text(title),
        text=text,
        sha256=hashlib.sha256(raw).hexdigest(),
        date=meta.get("date"),
        url=meta.get("url"),
        pages=pages,
        notes=notes,
    )
