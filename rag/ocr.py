"""OCR seam: page images to positioned lines with a confidence. Tesseract with its Swedish model, or a fake.

`make_ocr(settings)` returns the engine the settings name ("tesseract" or "off"). Tesseract is a program
(Debian `tesseract-ocr` and `tesseract-ocr-swe`, installed by `./run.sh setup`); it is looked for lazily, the
first time a page needs it, so a machine without it still ingests every document with a text layer and
names what to install for the scans.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from rag.formats.layout import Line, PageLines

if TYPE_CHECKING:
    from PIL.Image import Image

    from rag.config import Settings

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 70.0  # mean word confidence (0-100) below which a page is flagged for staff to check
INSTALL_HINT = "install tesseract-ocr and tesseract-ocr-swe (./run.sh setup does it as root)"


class OcrUnavailable(Exception):
    """OCR cannot run here; str() says why and what to install."""


@dataclass(frozen=True)
class OcrPage:
    page: PageLines
    confidence: float  # mean word confidence 0-100, weighted by word length; 0 when no word was read
    words: int

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.page.lines)


class OcrEngine(Protocol):
    name: str

    def recognize(self, image: Image) -> OcrPage:
        """Read one page image. Raises OcrUnavailable when the engine cannot run on this machine."""
        ...


@dataclass
class TesseractOcr:
    """Tesseract through its command line (TSV output: words with boxes, confidences and paragraph ids).

    One thread per call (OMP_THREAD_LIMIT=1): on a few cores Tesseract's own threads only fight each other.
    """

    languages: str = "swe"
    timeout_s: float = 300.0
    name: str = "tesseract"
    _binary: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.languages or not all(part.isalnum() or part == "_" for part in self.languages.split("+")):
            raise ValueError(f"OCR languages must look like 'swe' or 'swe+eng', got {self.languages!r}")

    def _ready(self) -> str:
        if self._binary is not None:
            return self._binary
        binary = shutil.which("tesseract")
        if binary is None:
            raise OcrUnavailable(f"Tesseract is not installed: {INSTALL_HINT}")
        try:
            out = subprocess.run(
                [binary, "--list-langs"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise OcrUnavailable(f"Tesseract does not start ({exc}): {INSTALL_HINT}") from exc
        have = set((out.stdout + out.stderr).split())
        missing = [lang for lang in self.languages.split("+") if lang not in have]
        if missing:
            raise OcrUnavailable(
                f"Tesseract lacks the language model(s) {', '.join(missing)}: install tesseract-ocr-"
                + " tesseract-ocr-".join(missing)
            )
        self._binary = binary
        return binary

    def recognize(self, image: Image) -> OcrPage:
        binary = self._ready()
        buf = io.BytesIO()
        image.convert("L").save(buf, format="PPM")  # uncompressed: quicker to hand over than PNG
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            run = subprocess.run(
                [binary, "stdin", "stdout", "-l", self.languages, "--psm", "3", "tsv"],
                input=buf.getvalue(),
                capture_output=True,
                timeout=self.timeout_s,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise OcrUnavailable(f"Tesseract took longer than {self.timeout_s:.0f} s on one page") from exc
        if run.returncode != 0:
            raise OcrUnavailable(
                f"Tesseract failed (exit {run.returncode}): {run.stderr.decode(errors='replace')[-300:]}"
            )
        return parse_tsv(run.stdout.decode("utf-8", errors="replace"), image.width, image.height)


def parse_tsv(tsv: str, width: float, height: float) -> OcrPage:
    """Tesseract's TSV as lines (words joined, box over the words, line height as size, paragraph id)."""
    lines: dict[tuple[int, int, int], list[tuple[str, float, float, float, float, float]]] = {}
    order: list[tuple[int, int, int]] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        if not text:
            continue
        try:
            block, par, line = int(cols[2]), int(cols[3]), int(cols[4])
            left, top, w, h = (float(c) for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        key = (block, par, line)
        if key not in lines:
            lines[key] = []
            order.append(key)
        lines[key].append((text, left, top, left + w, top + h, conf))
    out: list[Line] = []
    weighted = chars = 0.0
    words = 0
    for key in order:
        ws = lines[key]
        for text, *_, conf in ws:
            if conf >= 0:
                weighted += conf * len(text)
                chars += len(text)
                words += 1
        tops = [w[2] for w in ws]
        bottoms = [w[4] for w in ws]
        out.append(
            Line(
                text=" ".join(w[0] for w in ws),
                top=min(tops),
                bottom=max(bottoms),
                left=min(w[1] for w in ws),
                right=max(w[3] for w in ws),
                size=sorted(b - t for t, b in zip(tops, bottoms, strict=True))[len(ws) // 2],
                block=key[0] * 10_000 + key[1],
            )
        )
    confidence = weighted / chars if chars else 0.0
    return OcrPage(PageLines(out, height=height, width=width), confidence, words)


@dataclass
class FakeOcr:
    """Deterministic OCR for fast tests: every page reads as the given lines, with the given confidence."""

    lines: Sequence[str] = ("Text som en skanner läste.",)
    confidence: float = 95.0
    name: str = "fake"
    pages_read: int = 0

    def recognize(self, image: Image) -> OcrPage:
        self.pages_read += 1
        h = image.height / max(len(self.lines), 1) / 2
        out = [
            Line(
                text, top=i * h * 1.2 + h, bottom=i * h * 1.2 + 2 * h, left=10, right=image.width - 10, size=h
            )
            for i, text in enumerate(self.lines)
        ]
        return OcrPage(PageLines(out, height=image.height, width=image.width), self.confidence, len(out))


@dataclass
class NoOcr:
    """OCR switched off (RAG_OCR=off): scans are skipped with a reason that says how to switch it on."""

    name: str = "off"

    def recognize(self, image: Image) -> OcrPage:
        raise OcrUnavailable("OCR is switched off (RAG_OCR=off); set RAG_OCR=tesseract to read scans")


def make_ocr(settings: Settings) -> OcrEngine:
    if settings.ocr == "tesseract":
        return TesseractOcr(languages=settings.ocr_languages)
    return NoOcr()
