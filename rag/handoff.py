"""The hand-off to kontaktcenter, read from the corpus so it stays current when the documents change."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rag.text import fold
from rag.types import Chunk

WEEKDAYS = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]
_HOURS_LINE = re.compile(
    r"^\s*((?:måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag)(?:\s*[–-]\s*(?:måndag|tisdag|onsdag|torsdag|fredag"
    r"|lördag|söndag))?)\s*:\s*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_PHONE = re.compile(
    r"telefon(?:nummer)?\s*:?\s*((?:\+46|0)\d{1,3}[- ]?\d{2,3}(?:[ -]?\d{2}){1,3})", re.IGNORECASE
)
_VISIT = re.compile(r"(Besök oss[^.\n]*\d+[^.\n]*)\.?", re.IGNORECASE)
_CHAT = re.compile(r"([^.\n]*chatta med en kommunvägledare[^.\n]*)\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Handoff:
    phone: str | None = None
    visit: str | None = None  # "Besök oss på Helsingborg Kontaktcenter på Stortorget 17"
    chat: str | None = None
    hours: list[tuple[str, str]] = field(default_factory=list)  # ("Måndag–onsdag", "08.00 — 17.00")
    hours_note: str | None = None
    source: str | None = None
    title: str | None = None

    @property
    def found(self) -> bool:
        return bool(self.phone or self.visit or self.hours)

    def hours_on(self, day: dt.date) -> str | None:
        """The opening hours that apply on a given date's weekday, from ranges like 'Måndag–onsdag'."""
        wd = day.weekday()
        for label, hours in self.hours:
            names = [fold(n) for n in re.split(r"\s*[–-]\s*", label.lower())]
            idx = [[fold(w) for w in WEEKDAYS].index(n) for n in names if n in [fold(w) for w in WEEKDAYS]]
            if (len(idx) == 1 and idx[0] == wd) or (len(idx) == 2 and idx[0] <= wd <= idx[1]):
                return hours
        return None

    def render(self, language: str = "sv") -> str:
        """The hand-off lines (without the lead-in sentence), in Swedish or English."""
        en = language == "en"
        lines = []
        if self.phone:
            lines.append(f"{'Call' if en else 'Ring'} {self.phone}")
        if self.chat:
            lines.append(
                "Chat with a municipal guide (kommunvägledare)" if en else "Chatta med en kommunvägledare"
            )
        if self.visit:
            addr = re.sub(r"^Besök oss (på )?", "", self.visit, flags=re.IGNORECASE)
            lines.append(f"{'Visit' if en else 'Besök'} {addr}")
        text = "\n".join(f"- {line}" for line in lines)
        if self.hours:
            label = "Opening hours" if en else "Öppettider"
            text += f"\n{label}: " + "; ".join(f"{d} {h}" for d, h in self.hours) + "."
        if self.hours_note:
            text += " " + self.hours_note
        if not lines and not self.hours:
            text = (
                "Contact Helsingborg's contact centre (kontaktcenter)."
                if en
                else "Kontakta Helsingborgs stads kontaktcenter."
            )
        return text


def reconstruct_documents(chunks: list[Chunk]) -> dict[str, str]:
    """Document texts stitched back together from overlapping chunks by their character offsets."""
    docs: dict[str, list[Chunk]] = {}
    for c in chunks:
        docs.setdefault(c.source, []).append(c)
    out = {}
    for source, cs in docs.items():
        cs.sort(key=lambda c: c.start)
        buf = ""
        for c in cs:
            if c.start >= len(buf):
                buf += "\n" * (c.start - len(buf)) + c.text  # the gap held only whitespace
            elif c.end > len(buf):
                buf += c.text[len(buf) - c.start :]
        out[source] = buf
    return out


def find_handoff(chunks: list[Chunk]) -> Handoff:
    """Contact details from the document that holds kontaktcenter's phone number (the newest wins)."""
    best: Handoff | None = None
    titles = {c.source: c.title for c in chunks}
    for source, text in sorted(reconstruct_documents(chunks).items()):
        phone = _PHONE.search(text)
        if not phone or "kontaktcenter" not in text.lower():
            continue
        hours = [(m.group(1).strip(), m.group(2).strip()) for m in _HOURS_LINE.finditer(text)]
        note = re.search(r"(Avvikande öppettider[^\n]*)", text)
        visit = _VISIT.search(text)
        chat = _CHAT.search(text)
        candidate = Handoff(
            phone=phone.group(1).strip(),
            visit=visit.group(1).strip() if visit else None,
            chat=chat.group(1).strip() if chat else None,
            hours=hours,
            hours_note=note.group(1).strip() if note else None,
            source=source,
            title=titles.get(source),
        )
        if best is None or len(candidate.hours) > len(best.hours):
            best = candidate
    return best or Handoff()
