"""HTML pieces shown to residents and staff: source cards, the hand-off panel, the document viewer page.

Every value from documents or users is escaped; links point only to routes of this app.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html import escape
from urllib.parse import quote

from rag.handoff import WEEKDAYS, Handoff
from rag.types import Citation, Document, page_label

DOC_ROUTE = "/dokument"
FILE_ROUTE = "/dokumentfil"  # the original file (a PDF opens at #page=N in the browser's viewer)
SNIPPET_CHARS = 420


def document_url(source: str, chunk_id: str | None = None, *, root: str = "") -> str:
    url = f"{root}{DOC_ROUTE}/{quote(source)}"
    if chunk_id:
        url += f"?stycke={quote(chunk_id)}#stycke"
    return url


def file_url(source: str, page: int | None = None, *, root: str = "") -> str:
    return f"{root}{FILE_ROUTE}/{quote(source)}" + (f"#page={page}" if page else "")


def cited_title(c: Citation) -> str:
    """'Title, s. 4' for a passage of a paginated document, else the title."""
    return ", ".join(p for p in (c.chunk.title, c.chunk.page_label) if p)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def source_cards_html(citations: list[Citation], *, root: str = "", language: str = "sv") -> str:
    """The sources of one answer as cards: number, document title, cited passage, a link to the whole text."""
    if not citations:
        return ""
    en = language == "en"
    heading = "Sources" if en else "Källor"
    open_text = "Open the whole document" if en else "Öppna hela dokumentet"
    cards = []
    for c in citations:
        title = escape(cited_title(c))
        cards.append(
            f'<li class="kallkort"><p class="kallkort-titel"><strong>[{c.n}] {title}</strong></p>'
            f'<blockquote class="kallkort-citat">{escape(snippet(c.chunk.text))}</blockquote>'
            f'<p><a href="{escape(document_url(c.chunk.source, c.chunk.chunk_id, root=root))}" target="_blank" '
            f'rel="noopener" aria-label="{open_text}: {title} (öppnas i ny flik)">{open_text} ↗</a></p></li>'
        )
    return (
        f'<div class="kallor" role="group" aria-label="{heading}"><p class="kallor-rubrik"><strong>{heading}'
        f'</strong></p><ol class="kallkort-lista">{"".join(cards)}</ol></div>'
    )


# Every character that opens Markdown or HTML inline: tags and entities, emphasis, code, links and images, strike-
# through and maths. Escaped with a backslash, Markdown shows each as itself.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_<>[]!&$~#"})
_BLOCK_START = re.compile(r"^(?:[-+=>]|\d{1,9}[.)])")


def md_escape(text: str, *, as_typed: bool = False) -> str:
    """Text shown literally inside Gradio's Markdown (chat messages): no markup, no HTML, nothing that loads.

    `as_typed` (a resident's own message): a line that starts like a list item, quote or heading stays text too.
    """
    flat = " ".join(text.split()).translate(_MD_SPECIAL)
    if as_typed:
        m = _BLOCK_START.match(flat)
        if m:
            flat = flat[: m.end() - 1] + "\\" + flat[m.end() - 1 :]
    return flat


def source_cards_md(citations: list[Citation], *, root: str = "", language: str = "sv") -> str:
    """The sources of one answer as Markdown cards (what the chat shows, and what screen readers read aloud):
    number and document title, the cited passage as a quote, a link that opens the whole document."""
    if not citations:
        return ""
    en = language == "en"
    parts = ["**Sources**" if en else "**Källor**"]
    open_text = "Open the whole document" if en else "Öppna hela dokumentet"
    for c in citations:
        url = document_url(c.chunk.source, c.chunk.chunk_id, root=root)
        parts.append(
            f"> **[{c.n}] {md_escape(cited_title(c))}**  \n> {md_escape(snippet(c.chunk.text))}  \n"
            f"> [{open_text} ↗]({url})"
        )
    return "\n\n".join(parts)


def today_hours(handoff: Handoff, day: dt.date) -> str:
    """'Öppet i dag, tisdag: 08.00 — 17.00', or that it is closed, from the hours in the corpus."""
    weekday = WEEKDAYS[day.weekday()]
    hours = handoff.hours_on(day)
    if hours:
        return f"Öppet i dag ({weekday}): {hours}"
    if handoff.hours:
        return f"Stängt i dag ({weekday})."
    return ""


def handoff_html(handoff: Handoff, day: dt.date) -> str:
    """The hand-off panel: phone, chat, visit and today's opening hours — all read from the corpus."""
    items = []
    if handoff.phone:
        tel = "".join(ch for ch in handoff.phone if ch.isdigit() or ch == "+")
        items.append(
            f'<li><span aria-hidden="true">📞</span> Ring <a href="tel:{escape(tel)}">{escape(handoff.phone)}</a></li>'
        )
    if handoff.chat:
        items.append(f'<li><span aria-hidden="true">💬</span> {escape(handoff.chat.strip())}</li>')
    if handoff.visit:
        items.append(f'<li><span aria-hidden="true">🏛️</span> {escape(handoff.visit.strip())}</li>')
    today = today_hours(handoff, day)
    if today:
        items.append(
            f'<li class="idag"><span aria-hidden="true">🕘</span> <strong>{escape(today)}</strong></li>'
        )
    if not items:
        items.append("<li>Kontakta Helsingborgs stads kontaktcenter.</li>")
    all_hours = ""
    if handoff.hours:
        rows = "".join(f"<li>{escape(d)}: {escape(h)}</li>" for d, h in handoff.hours)
        note = f"<p>{escape(handoff.hours_note)}</p>" if handoff.hours_note else ""
        all_hours = f"<details><summary>Alla öppettider</summary><ul>{rows}</ul>{note}</details>"
    source = ""
    if handoff.title:
        source = f'<p class="handoff-kalla">Uppgifterna kommer från: {escape(handoff.title)}</p>'
    return (
        '<section class="handoff" aria-label="Kontakta kontaktcenter">'
        "<h2>Prata med en kommunvägledare</h2>"
        f'<ul class="handoff-lista">{"".join(items)}</ul>{all_hours}{source}</section>'
    )


PAGE_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;
line-height:1.55;color:#1a1a1a;background:#fff}
h1{font-size:1.4rem} mark{background:#fff3b0;padding:.1em 0} .meta{color:#555;font-size:.9rem}
form{display:grid;gap:.6rem;max-width:22rem} input{font-size:1rem;padding:.5rem} button{font-size:1rem;padding:.5rem}
.fel{color:#a00000;font-weight:600} a{color:#0b5cad}
.sida{border-top:1px solid #ccc;margin-top:1.5rem} .sidnummer{font-size:.85rem;color:#555;font-weight:600}
.var{background:#f3f6fa;padding:.5rem .7rem;border-radius:6px}
"""


def page(title: str, body: str, *, status_note: str = "") -> str:
    return (
        '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body><main>{status_note}{body}"
        "</main></body></html>"
    )


def _marked(text: str, offset: int, start: int | None, end: int | None, first: list[bool]) -> str:
    """text (which starts at offset in the document) escaped, with the part inside [start, end) marked; the
    first mark gets the id the link scrolls to."""
    if start is None or end is None:
        return escape(text)
    a, b = max(start - offset, 0), min(end - offset, len(text))
    if a >= b:
        return escape(text)
    attrs = ' id="stycke" tabindex="-1"' if first[0] else ""
    first[0] = False
    return f"{escape(text[:a])}<mark{attrs}>{escape(text[a:b])}</mark>{escape(text[b:])}"


def _paragraphs(text: str, offset: int, start: int | None, end: int | None, first: list[bool]) -> str:
    out = []
    pos = 0
    for para in text.split("\n\n"):
        html = _marked(para, offset + pos, start, end, first).replace("\n", "<br>")
        out.append(f"<p>{html}</p>")
        pos += len(para) + 2
    return "".join(out)


def document_page(doc: Document, *, start: int | None = None, end: int | None = None) -> str:
    """The whole document with the cited passage marked (and scrolled to). A paginated document is shown page
    by page ("Sida 4"), with a line that says on which page the passage is and links to the original file
    opened at that page."""
    text = doc.text
    if not (start is not None and end is not None and 0 <= start < end <= len(text)):
        start = end = None
    first = [True]
    meta = f'<p class="meta">Fil: {escape(doc.source)}' + (f" · {escape(doc.date)}" if doc.date else "")
    if not doc.pages:
        meta += "</p>"
        body = _paragraphs(text, 0, start, end, first)
        return page(doc.title, f"<h1>{escape(doc.title)}</h1>{meta}<article>{body}</article>")
    meta += f" · {len(doc.pages)} sidor</p>"
    where = ""
    if start is not None:
        first_page, last_page = doc.page_at(start), doc.page_at((end or start) - 1)
        label = page_label(first_page, last_page)
        where = (
            f'<p class="var">Det citerade stycket finns på <a href="#sida-{first_page}">{label.replace("s.", "sidan")}'
            f'</a>. <a href="{escape(file_url(doc.source, first_page))}">Öppna originalfilen på {label}</a></p>'
        )
    else:
        where = f'<p class="var"><a href="{escape(file_url(doc.source))}">Öppna originalfilen</a></p>'
    bounds = [*doc.pages, len(text)]
    sections = []
    for n, (a, b) in enumerate(itertools.pairwise(bounds), 1):
        chunk = text[a:b]
        lead = len(chunk) - len(chunk.lstrip("\n"))
        body = _paragraphs(chunk.strip("\n"), a + lead, start, end, first)
        sections.append(
            f'<section class="sida" id="sida-{n}" aria-labelledby="sida-{n}-rubrik">'
            f'<h2 class="sidnummer" id="sida-{n}-rubrik">Sida {n}</h2>{body}</section>'
        )
    return page(doc.title, f"<h1>{escape(doc.title)}</h1>{meta}{where}<article>{''.join(sections)}</article>")


def marked_unit(unit: str | None, bound: list[str]) -> str:
    """The unit that binds a checked sentence, as Markdown with the sentence's facts and words in bold
    (a word counts when its stem is among the bound terms: "fredagar" for "fredag")."""
    if not unit:
        return "–"
    from rag.text import fact_in_passage, lexical_tokens

    terms = {b for b in bound if not b[:1].isdigit()}
    facts = [b for b in bound if b not in terms or b[:1].isupper()]

    def mark(word: str) -> str:
        hit = bool(set(lexical_tokens(word)) & terms) or any(fact_in_passage(f, word) for f in facts)
        return f"**{md_escape(word)}**" if hit and word.strip() else md_escape(word)

    return " ".join(mark(w) for w in " ".join(unit.split()).split(" "))
