"""PDF text libraries measured on real PDFs made from corpus/ by LibreOffice (eval/formats.py): speed, character
error rate against the text that went in, running headers/footers left in, line-end hyphens left in.

    .venv/bin/python scripts/bench_pdf_libraries.py --variants /tmp/formats   # makes the PDFs there if missing

pdfplumber and pypdf are not dependencies of the project: install them to compare (`pip install pdfplumber pypdf`);
a library that is not installed is left out of the table. "pypdfium2 + layout" is what ingest uses
(rag/formats/pdf.py + rag/formats/layout.py); the other rows are each library's plain text extraction.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from eval.formats import build_variants, character_error_rate

ROOT = Path(__file__).resolve().parent.parent


def pdfium_plain(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def pdfium_layout(path: Path) -> list[str]:
    from rag.formats.pdf import read_pdf
    from rag.ocr import NoOcr

    laid = read_pdf(path.read_bytes(), path.name, ocr=NoOcr()).laid_out
    starts = [*laid.page_starts, len(laid.text)]
    return [laid.text[a:b] for a, b in itertools.pairwise(starts)]


def plumber(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def pypdf_plain(path: Path) -> list[str]:
    import pypdf

    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]


LIBRARIES: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "pypdfium2 + layout (ingest)": ("pypdfium2", pdfium_layout),
    "pypdfium2 get_text_range": ("pypdfium2", pdfium_plain),
    "pdfplumber extract_text": ("pdfplumber", plumber),
    "pypdf extract_text": ("pypdf", pypdf_plain),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", required=True, help="folder for the corpus variants (made if missing)")
    p.add_argument("--rounds", type=int, default=3, help="timing rounds (the median is reported)")
    args = p.parse_args(argv)
    variants = build_variants(ROOT / "corpus", Path(args.variants), ("pdf",))
    pdfs = sorted(variants.dirs["pdf"].glob("*.pdf"))
    print(f"{len(pdfs)} PDFs from LibreOffice, {args.rounds} rounds\n")
    print(f"{'library':30s} {'ms/page':>8s} {'CER':>7s} {'headers/footers left':>21s} {'hyphens left':>13s}")
    for name, (module, fn) in LIBRARIES.items():
        try:
            __import__(module)
        except ImportError:
            print(f"{name:30s} (not installed)")
            continue
        times, cers, running, hyphens, pages = [], [], 0, 0, 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for pdf in pdfs:
                fn(pdf)
            times.append(time.perf_counter() - t0)
        for pdf in pdfs:
            texts = fn(pdf)
            pages += len(texts)
            text = "\n\n".join(texts).replace("\ufffe", "-\n")
            cers.append(character_error_rate(variants.sources[pdf.stem], text))
            running += len(re.findall(r"Helsingborgs stad ·|Sida \d+ av \d+", text))
            hyphens += len(re.findall(r"[a-zåäö]-\s*\n\s*[a-zåäö]", text))
        per_page = statistics.median(times) / pages * 1000
        print(f"{name:30s} {per_page:8.1f} {statistics.mean(cers):7.2%} {running:21d} {hyphens:13d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
