"""PDF with pypdfium2 (PDFium, Apache-2.0/BSD): the text layer as positioned lines, OCR for pages without one.

PDFium was chosen by measuring (docs/documents.md): it reads a page in a few milliseconds where pdfplumber and
pypdf need 20-80 times longer, it reports each character's font size and weight (for headings) and marks the
hyphens a layout program added at line ends, and the same library renders a scanned page for OCR.
"""

from __future__ import annotations

import ctypes
import io
import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.errors import DocumentError
from rag.formats.layout import SOFT_HYPHEN, LaidOut, Line, PageLines, lay_out
from rag.ocr import LOW_CONFIDENCE, OcrEngine, OcrUnavailable

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 25  # a page with fewer letters in its text layer is read with OCR
OCR_DPI = 300
_PDFIUM_ERRORS = {
    3: "the file is damaged or not a PDF (PDFium: data format error); export it again from its source",
    4: "the PDF is password-protected; save a copy without a password to index it",
    5: "the PDF uses an unsupported security handler; save a copy without protection",
}
_GENERATED_BREAKS = (0x0D, 0x0A)
_HYPHEN_MARKS = (0x02, 0xFFFE, 0x00AD)


@dataclass
class PdfText:
    laid_out: LaidOut
    title: str
    pages: int
    ocr_pages: list[int] = field(default_factory=list)  # 1-based
    notes: list[str] = field(default_factory=list)  # for the ingest report: low OCR confidence, empty pages


PageProgress = Callable[[int], Callable[[int], None]]


def _lines(textpage: object, page_height: float) -> list[Line]:
    """The text layer of one page as lines: PDFium's own line breaks (generated CR LF), each line's box, font
    size and boldness from its characters. A hyphen PDFium marks as a line-end hyphenation becomes a soft
    hyphen, which the layout step removes when it joins the lines."""
    import pypdfium2.raw as raw

    out: list[Line] = []
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    sizes: list[float] = []
    bold = 0

    def flush() -> None:
        nonlocal bold
        text = "".join(chars).strip()
        if text and boxes:
            out.append(
                Line(
                    text=text,
                    top=page_height - max(b[3] for b in boxes),
                    bottom=page_height - min(b[1] for b in boxes),
                    left=min(b[0] for b in boxes),
                    right=max(b[2] for b in boxes),
                    size=statistics.median(sizes) if sizes else 0.0,
                    bold=bold * 2 > len(boxes),
                )
            )
        chars.clear()
        boxes.clear()
        sizes.clear()
        bold = 0

    n = raw.FPDFText_CountChars(textpage)
    left, bottom, right, top = (ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double())
    for i in range(n):
        u = raw.FPDFText_GetUnicode(textpage, i)
        generated = raw.FPDFText_IsGenerated(textpage, i) == 1
        if generated and u in _GENERATED_BREAKS:
            if u == 0x0A:
                flush()
            continue
        if u in _HYPHEN_MARKS:
            chars.append(SOFT_HYPHEN)
            continue
        if u == 0:
            continue
        ch = chr(u)
        if generated or ch.isspace():
            chars.append(ch)
            continue
        if raw.FPDFText_GetCharBox(
            textpage, i, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top)
        ):
            if boxes and top.value < boxes[-1][1]:  # wholly below the last character: the next visual line
                flush()
            boxes.append((left.value, bottom.value, right.value, top.value))
        chars.append(ch)
        sizes.append(raw.FPDFText_GetFontSize(textpage, i))
        if raw.FPDFText_GetFontWeight(textpage, i) >= 600:
            bold += 1
    flush()
    return out


def _letters(lines: list[Line]) -> int:
    return sum(c.isalnum() for ln in lines for c in ln.text)


def read_pdf(
    data: bytes, name: str, *, ocr: OcrEngine, progress: PageProgress | None = None, dpi: int = OCR_DPI
) -> PdfText:
    """Text of a PDF with page offsets; pages without a text layer go through OCR (with a progress bar).

    Raises DocumentError for an encrypted, damaged or empty PDF, and for a scan when OCR cannot run."""
    import pypdfium2 as pdfium

    if not data.strip():
        raise DocumentError(name, "the file is empty")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        raise DocumentError(name, _PDFIUM_ERRORS.get(code or 0, f"PDFium cannot open it ({exc})")) from exc
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise DocumentError(name, "the PDF has no pages")
        pages: list[PageLines | None] = []
        for index in range(n_pages):
            page = pdf[index]
            width, height = page.get_size()
            textpage = page.get_textpage()
            lines = _lines(textpage.raw, height)
            pages.append(
                PageLines(lines, height=height, width=width) if _letters(lines) >= MIN_TEXT_CHARS else None
            )
        scanned = [i for i, p in enumerate(pages) if p is None]
        notes: list[str] = []
        if scanned:
            advance = progress(len(scanned)) if progress else None
            for i in scanned:
                try:
                    pages[i] = ocr_page(
                        ocr, pdf[i].render(scale=dpi / 72, grayscale=True).to_pil(), i + 1, notes
                    )
                except OcrUnavailable as exc:
                    if len(scanned) == n_pages:
                        raise DocumentError(
                            name, f"it is a scan without a text layer and OCR cannot run: {exc}"
                        ) from exc
                    numbers = ", ".join(str(s + 1) for s in scanned)
                    notes.append(f"pages {numbers} are scanned and were not read: {exc}")
                    pages = [p or PageLines([], height=1, width=1) for p in pages]
                    break
                if advance:
                    advance(1)
        title = str(pdf.get_metadata_dict().get("Title") or "").strip()
    finally:
        pdf.close()
    laid = lay_out([p for p in pages if p is not None])
    if not laid.text.strip():
        raise DocumentError(name, "no text found (blank pages, or a scan in which OCR read nothing)")
    return PdfText(laid, title, n_pages, [i + 1 for i in scanned], notes)


def ocr_page(ocr: OcrEngine, image: object, number: int, notes: list[str]) -> PageLines:
    """One page image through OCR; a page read with low confidence, or with no text, gets a note."""
    result = ocr.recognize(image)  # type: ignore[arg-type]
    if result.words == 0:
        notes.append(f"page {number}: OCR found no text")
    elif result.confidence < LOW_CONFIDENCE:
        notes.append(
            f"page {number}: low OCR confidence ({result.confidence:.0f} %); check the text against the scan"
        )
    return result.page


IMAGE_MAX_PIXELS = 200_000_000


def read_image(data: bytes, name: str, *, ocr: OcrEngine, progress: PageProgress | None = None) -> PdfText:
    """OCR of an image file (PNG, JPEG, TIFF; every frame of a multi-page TIFF is a page)."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if not data.strip():
        raise DocumentError(name, "the file is empty")
    Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS
    try:
        image = Image.open(io.BytesIO(data))
        frames = [frame.convert("L") for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DocumentError(name, f"the image cannot be read ({exc}); save it again as PNG or JPEG") from exc
    notes: list[str] = []
    pages: list[PageLines] = []
    advance = progress(len(frames)) if progress else None
    for number, frame in enumerate(frames, 1):
        try:
            pages.append(ocr_page(ocr, frame, number, notes))
        except OcrUnavailable as exc:
            raise DocumentError(name, f"an image needs OCR and OCR cannot run: {exc}") from exc
        if advance:
            advance(1)
    laid = lay_out(pages)
    if not laid.text.strip():
        raise DocumentError(name, "no text found in the image (OCR read nothing)")
    return PdfText(laid, "", len(frames), list(range(1, len(frames) + 1)), notes)
