"""The units of a source that bind facts to their subject: sentences, list items, table cells, "Label: value"
lines, contact blocks and headings.

A passage holds many facts, each about its own subject: "Torsdag: 08.00 — 18.00" gives the Thursday hours,
the next line Friday's; a contact block gives one person's title and e-mail, the next block another's. The
support check (rag/attribution.py) asks whether one unit holds a claim's facts *together with* its subject,
not only whether the facts occur somewhere in the passage. This module only cuts a passage into such units
and types the facts in them; it decides nothing.

A unit also knows its context: the passage's title and the heading above it, and, for a sentence that opens
with a pronoun ("Han blev 69 år."), the sentences before it in its paragraph, which name who "han" is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.text import _EMAIL, _PHONE, _TIME, _URL, content_terms, split_sentences

UnitKind = Literal["sentence", "heading", "label", "item", "contact", "cell"]
# Units whose every fact belongs to one subject named in the unit itself.
STRUCTURED: frozenset[str] = frozenset({"label", "item", "contact", "cell"})

FactType = Literal["email", "url", "phone", "time", "year", "number", "name", "quote"]

_BULLET = re.compile(r"^\s*[-•*]\s+")
_LABEL = re.compile(r"^([^:.!?|]{1,40}):\s+(\S.*)$")
_MAX_LABEL_LINE = 120
_MAX_HEADING = 90
_MAX_CONTACT_LINE = 90
_CELL_SEP = re.compile(r"\s+\|\s+")
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_NUMBER = re.compile(r"\d+(?:[ ,.]\d+)*")
# A sentence that opens with one of these leans on the sentences before it for its subject.
_ANAPHORA = frozenset(
    "han hon hen hans hennes hennes denne dessa he she his her they their".split()  # noqa: SIM905
)  # not "den"/"det"/"de": they open as many sentences that name their subject ("Den 6 oktober …")


@dataclass(frozen=True)
class Unit:
    """One fact-binding unit of a passage."""

    text: str
    kind: UnitKind
    index: int  # position among the passage's units
    paragraph: int  # paragraph number in the passage (blank-line separated)
    context: str  # title, the heading above, and for a pronoun-led sentence the sentences before it
    antecedent: str = ""  # for a pronoun-led sentence ("Han blev 69 år."), the sentences before it

    @property
    def structured(self) -> bool:
        return self.kind in STRUCTURED


@lru_cache(maxsize=4096)
def source_units(text: str, title: str = "") -> tuple[Unit, ...]:
    """The units of a passage's text, in order. Cached: the same passages come back question after question."""
    raw: list[tuple[str, UnitKind, int]] = []
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    for pi, paragraph in enumerate(paragraphs):
        lines = [" ".join(line.split()) for line in paragraph.split("\n") if line.strip()]
        if _is_contact_block(lines):
            raw.append((", ".join(lines), "contact", pi))
            continue
        prose: list[str] = []

        def flush(prose: list[str] = prose, pi: int = pi) -> None:
            if prose:
                raw.extend((s, "sentence", pi) for s in split_sentences("\n".join(prose)))
                prose.clear()

        i = 0
        while i < len(lines):
            line = lines[i]
            if _BULLET.match(line):
                flush()
                item = _BULLET.sub("", line, count=1)
                # "- 4 tvärsektoriella reformgrupper:" / "Integration, Företagsamhet …": one item
                while item.endswith(":") and i + 1 < len(lines) and not _BULLET.match(lines[i + 1]):
                    i += 1
                    item += " " + lines[i]
                raw.append((item, "item", pi))
            elif len(_CELL_SEP.findall(line)) >= 1 and len(line) <= 400:
                flush()
                raw.extend((cell, "cell", pi) for cell in _CELL_SEP.split(line) if cell.strip())
            elif len(line) <= _MAX_LABEL_LINE and _LABEL.match(line) and not line.endswith(":"):
                flush()
                raw.append((line, "label", pi))
            elif (
                len(lines) == 1
                and len(line) <= _MAX_HEADING
                and not line.rstrip("”\"'*) ").endswith((".", "!", "?", ":", "…"))
            ):
                # A line of its own: a heading, or with a comma a byline ("Carina Leffler, Stadsdirektör
                # Helsingborgs stad"), whose name and title belong together like a contact block's.
                flush()
                raw.append((line, "cell" if "," in line else "heading", pi))
            else:
                prose.append(line)
            i += 1
        flush()

    units: list[Unit] = []
    heading = ""
    for i, (unit_text, kind, pi) in enumerate(raw):
        antecedent = []
        if kind == "sentence" and _leans_back(unit_text):
            antecedent = [t for t, k, p in raw[:i] if p == pi and k == "sentence"]
        context = "\n".join(c for c in [title, heading, *antecedent] if c)
        units.append(Unit(unit_text, kind, i, pi, context, "\n".join(antecedent)))
        if kind == "heading":
            heading = unit_text
    return tuple(units)


def _leans_back(sentence: str) -> bool:
    first = re.match(r"[\W_]*([^\W\d_]+)", sentence)
    return bool(first) and first.group(1).lower() in _ANAPHORA  # type: ignore[union-attr]


def _is_contact_block(lines: list[str]) -> bool:
    """Two to six short lines with no sentence in them, one an e-mail or phone number: a name, a title, an
    address ("Kalle Pettersson / Kvalitets- och utvecklingschef, Socialförvaltningen / kalle.p…@…")."""
    if not 2 <= len(lines) <= 6 or any(len(line) > _MAX_CONTACT_LINE for line in lines):
        return False
    if any(line.endswith((".", "!", "?", ":")) and not _EMAIL.search(line) for line in lines):
        return False
    return any(_EMAIL.search(line) or _PHONE.search(line) for line in lines)


# --- facts with their type ------------------------------------------------------------------------------


def fact_type(fact: str) -> FactType:
    """The type of a fact as claimed_facts returns it: what a fact may be swapped with. A phrase with a
    lower-case word can only be a quoted one: it is a value said about a subject, as a time is."""
    if _EMAIL.fullmatch(fact):
        return "email"
    if _URL.fullmatch(fact):
        return "url"
    if _PHONE.fullmatch(fact):
        return "phone"
    if _TIME.fullmatch(fact):
        return "time"
    if _YEAR.match(fact):
        return "year"
    if _NUMBER.fullmatch(fact):
        return "number"
    if any(word[:1].islower() for word in fact.split()):
        return "quote"
    return "name"


def unit_terms(unit: Unit, *, with_context: bool = False, with_antecedent: bool = False) -> frozenset[str]:
    """The unit's topic terms; with its context (title, heading, antecedent), or its antecedent only."""
    extra = unit.context if with_context else unit.antecedent if with_antecedent else ""
    return _terms(f"{unit.text}\n{extra}" if extra else unit.text)


@lru_cache(maxsize=50_000)
def _terms(text: str) -> frozenset[str]:
    return frozenset(content_terms(text))
