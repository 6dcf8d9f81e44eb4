"""From positioned lines on pages (a PDF's text layer, or OCR) to paragraphs of running text with page offsets.

What a reader wants of a laid-out page, and what the index must not see:

- running headers and footers (the same line at the top or bottom of most pages, page numbers counted as the
  same line: "Sida 3 av 10", "– 4 –") and bare page numbers are left out;
- a heading (a line in a larger font, or a short line all in bold where the text is not) is a paragraph of
  its own, so the chunker keeps it with its section;
- lines of one paragraph are joined with spaces; a paragraph ends at a larger gap than the usual line
  pitch, at a first-line indent, at a short line that ends a sentence, or where OCR says a new one starts;
- a word hyphenated at a line end is joined ("utveck-" + "ling"), but not a Swedish suspended compound
  ("vård- och omsorgsförvaltningen") nor a hyphen after a capital or a digit ("IOP-avtal", "2023-");
- a paragraph cut by a page break (no end punctuation, the next page going on in lower case) is joined.

The result is the text with the offset where each page starts, so every passage can say its page.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.text import normalize_text

SOFT_HYPHEN = "\u00ad"
_EDGE_ZONE = 0.1  # share of the page height at the top and bottom where running headers and footers sit
_EDGE_LINES = 2  # at most this many lines at each edge are header or footer candidates
_PAGE_NUMBER = re.compile(
    r"^(?:(?:sida|sid|s|page|p)\.?\s*)?[-–—(]?\s*\d{1,4}\s*[-–—)]?(?:\s*(?:av|of|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)
_SENTENCE_END = (".", "!", "?", ":", "…", '"', "”", "»", ")")
# Words after a hyphenated line end that show a suspended compound ("vård- och omsorg"), not a hyphenation.
_AFTER_SUSPENDED = frozenset({"och", "eller", "samt", "respektive", "resp", "som", "till", "men", "än"})


# Tesseract's Swedish model reads "@" as "Q" (or "QÖ"): "kamran.salehpourQhelsingborg.se".
_OCR_AT = re.compile(
    r"(?<=[a-z0-9._-])(?:Q[ÖO]?|@)-?(?=[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:se|com|nu|org|net|eu)\b)"
)


def fix_addresses(text: str) -> str:
    """An e-mail address as OCR misread it, with its "@" back."""
    return _OCR_AT.sub("@", text)


@dataclass(frozen=True)
class Line:
    """One line of text on a page, in that page's own unit (points for PDF, pixels for OCR)."""

    text: str
    top: float  # from the top of the page
    bottom: float
    left: float
    right: float
    size: float  # font size (PDF) or line height (OCR)
    bold: bool = False
    block: int = -1  # OCR: the paragraph the engine put the line in; -1 where unknown


@dataclass(frozen=True)
class PageLines:
    lines: list[Line]
    height: float
    width: float


@dataclass(frozen=True)
class LaidOut:
    """Running text and the offset in it where each page starts (page n starts at page_starts[n - 1])."""

    text: str
    page_starts: tuple[int, ...]
    removed: list[str] = field(default_factory=list)  # header and footer lines left out (for logs and tests)


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()))


def strip_running_lines(pages: Sequence[PageLines]) -> tuple[list[list[Line]], list[str]]:
    """The body lines of each page: running headers and footers and page numbers at the page edges removed."""
    edge: list[list[tuple[str, Line]]] = []
    for page in pages:
        ordered = sorted(page.lines, key=lambda ln: ln.top)
        top = [("top", ln) for ln in ordered[:_EDGE_LINES] if ln.bottom <= page.height * _EDGE_ZONE]
        bottom = [("bottom", ln) for ln in ordered[-_EDGE_LINES:] if ln.top >= page.height * (1 - _EDGE_ZONE)]
        edge.append(top + bottom)
    counts = Counter((zone, _key(ln.text)) for cands in edge for zone, ln in set(cands))
    needed = max(2, math.ceil(len(pages) / 2))
    bodies: list[list[Line]] = []
    removed: list[str] = []
    for page, cands in zip(pages, edge, strict=True):
        running = {
            id(ln) for zone, ln in cands if is_page_number(ln.text) or counts[(zone, _key(ln.text))] >= needed
        }
        removed.extend(ln.text for ln in page.lines if id(ln) in running)
        bodies.append([ln for ln in page.lines if id(ln) not in running and ln.text.strip()])
    return bodies, removed


def join_lines(left: str, right: str) -> str:
    """Two lines of one paragraph as one: hyphenation at the line end undone, otherwise a space."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    if left.endswith(SOFT_HYPHEN):
        return left[:-1] + right
    if left.endswith("-") and len(left) >= 2 and not left[-2].isspace():
        first_word = re.match(r"[^\W\d_]+", right)
        if first_word and first_word.group(0) in _AFTER_SUSPENDED:
            return f"{left} {right}"  # "vård- och omsorgsförvaltningen"
        if left[-2].isalpha() and left[-2].islower() and right[0].islower():
            return left[:-1] + right  # "utveck-" + "ling"
        return left + right  # "IOP-" + "avtal", "2023-" + "2026": the hyphen belongs to the word
    return f"{left} {right}"


def _weighted_median(values: list[tuple[float, int]]) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    total = sum(w for _, w in values)
    acc = 0
    for v, w in values:
        acc += w
        if acc * 2 >= total:
            return v
    return values[-1][0]


@dataclass(frozen=True)
class _Style:
    body_size: float
    body_bold: bool
    pitch: float  # the usual distance from one line's top to the next within a paragraph


def _style(bodies: Sequence[Sequence[Line]]) -> _Style:
    sizes = [(round(ln.size, 1), len(ln.text)) for page in bodies for ln in page if ln.size > 0]
    body_size = _weighted_median(sizes) or 10.0
    bold_chars = sum(len(ln.text) for page in bodies for ln in page if ln.bold)
    all_chars = sum(len(ln.text) for page in bodies for ln in page) or 1
    pitches = [
        b.top - a.top
        for page in bodies
        for a, b in itertools.pairwise(page)
        if 0 < b.top - a.top < 3 * body_size and abs(a.size - b.size) < 0.5 and abs(a.size - body_size) < 0.5
    ]
    pitch = statistics.median(pitches) if pitches else body_size * 1.2
    if len(pitches) >= 4:  # the lower half: paragraph gaps must not raise the usual pitch
        pitch = statistics.median(sorted(pitches)[: max(2, len(pitches) // 2)])
    return _Style(body_size, bold_chars * 2 > all_chars, pitch)


def _is_heading(ln: Line, style: _Style) -> bool:
    text = ln.text.strip()
    if not text or len(text) > 120 or is_page_number(text):
        return False
    if ln.size >= style.body_size * 1.2 and any(c.isalpha() for c in text):
        return True
    return ln.bold and not style.body_bold and len(text) <= 80 and not text.endswith((".", ","))


def _paragraphs(lines: Sequence[Line], style: _Style) -> list[tuple[str, bool]]:
    """(text, is_heading) paragraphs of one page's body lines, in the given (reading) order."""
    out: list[tuple[str, bool]] = []
    right_edge = max((ln.right for ln in lines), default=0.0)
    left_edge = min((ln.left for ln in lines), default=0.0)
    prev: Line | None = None
    for ln in lines:
        heading = _is_heading(ln, style)
        if prev is None or not out:
            out.append((ln.text.strip(), heading))
            prev = ln
            continue
        prev_heading = out[-1][1]
        pitch = ln.top - prev.top
        new = (
            heading != prev_heading
            or (prev.block >= 0 and ln.block >= 0 and ln.block != prev.block)
            or pitch < 0
            or pitch > style.pitch * 1.3 + 0.5
            or (not heading and ln.left - left_edge > style.body_size * 0.8 and prev.left - left_edge < 1)
            or (
                not heading
                and prev.text.rstrip().endswith((".", "!", "?", ":"))
                and right_edge - prev.right > max(style.body_size * 4, (right_edge - left_edge) * 0.2)
            )
        )
        if heading and prev_heading and abs(ln.size - prev.size) > 0.5:
            new = True
        if new:
            out.append((ln.text.strip(), heading))
        else:
            out[-1] = (join_lines(out[-1][0], ln.text), heading)
        prev = ln
    return [(fix_addresses(normalize_text(" ".join(t.split()))), h) for t, h in out if t.strip()]


def _continues(previous: tuple[str, bool], following: tuple[str, bool]) -> bool:
    """True when a page ends inside a paragraph that the next page goes on with."""
    (text, heading), (next_text, next_heading) = previous, following
    return (
        not heading
        and not next_heading
        and not text.endswith(_SENTENCE_END)
        and bool(next_text)
        and (next_text[0].islower() or text.endswith(("-", SOFT_HYPHEN, ",")))
    )


def lay_out(pages: Sequence[PageLines]) -> LaidOut:
    """The running text of laid-out pages: see the module docstring."""
    bodies, removed = strip_running_lines(pages)
    style = _style(bodies)
    builder = PagedText()
    for lines in bodies:
        builder.new_page()
        for i, (text, heading) in enumerate(_paragraphs(lines, style)):
            if i == 0 and builder.last is not None and _continues(builder.last, (text, heading)):
                builder.continue_paragraph(text)
            else:
                builder.add_paragraph(text, heading=heading)
    laid = builder.build()
    return LaidOut(laid.text, laid.page_starts, removed)


class PagedText:
    """Builds running text paragraph by paragraph, remembering where each page starts."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._page_starts: list[int] = []
        self._pending_page = False
        self.last: tuple[str, bool] | None = None

    def new_page(self) -> None:
        """The next text starts a page (a page without text starts where the next text does)."""
        if self._pending_page:
            self._page_starts.append(self._length + (2 if self._parts else 0))
        self._pending_page = True

    def _start_page_here(self, offset: int) -> None:
        if self._pending_page:
            self._page_starts.append(offset)
            self._pending_page = False

    def add_paragraph(self, text: str, *, heading: bool = False) -> None:
        text = text.strip()
        if not text:
            return
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        self._start_page_here(self._length)
        self._parts.append(text)
        self._length += len(text)
        self.last = (text, heading)

    def page_break_inside(self) -> None:
        """A page starts at the current end of the text, inside the paragraph being written (Word's rendered
        page breaks fall mid-paragraph)."""
        self._page_starts.append(self._length)

    def append_inline(self, text: str) -> None:
        """More text for the current paragraph, as is."""
        self._parts.append(text)
        self._length += len(text)
        if self.last is not None:
            self.last = (self.last[0] + text, self.last[1])

    def continue_paragraph(self, text: str) -> None:
        """The last paragraph goes on (across a page break) with text."""
        assert self.last is not None
        last = self._parts.pop()
        self._length -= len(last)
        joined = join_lines(last, text)
        # the new page starts where text starts inside the joined paragraph
        keep = len(joined) - len(text.strip())
        self._parts.append(joined)
        self._start_page_here(self._length + keep)
        self._length += len(joined)
        self.last = (joined, False)

    def build(self) -> LaidOut:
        if self._pending_page:
            self._page_starts.append(self._length)
            self._pending_page = False
        return LaidOut("".join(self._parts), tuple(self._page_starts))
