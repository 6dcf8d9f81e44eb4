"""Whose fact is it: a claim's facts must be stated together with its subject, in one unit of the passage.

The support check once asked only whether each fact of a sentence occurs somewhere in the passage. A
passage holds many subjects, so "Kontaktcenter har öppet 08.00–18.00 på fredagar." passed on a passage
that gives 08.00–18.00 to Thursday, and "Kamran Salehpour är Head of Future" on a contact list where that
is Micco Grönholm's title. Here a claim is bound to the unit that states its facts (rag/units.py: a
sentence, a list item, a "Label: value" line, a contact block, a byline) and checked four ways:

1. **Together.** The claim's values (times, numbers, years, phone numbers, e-mails, web addresses) must
   stand in one unit, or, when no single unit holds them all, in two adjacent sentences or list items
   that the claim is about both of (or the second leans on the first: "Han blev 69 år."). In a structured unit
   (label, item, contact block, byline) its names must stand there too: a name and a title from two
   contact blocks are two people. In running text a name may come from elsewhere in the passage, since
   sentences refer back ("Han blev 69 år."), but not a name that only a byline or contact block holds.
2. **No other subject.** When the claim names a subject that another unit holds, and that unit states
   a different value of the same type (Friday with its own hours), while the claim names less of the
   binding unit's own subject, the claim has taken one subject's value for another's.
3. **The counted noun.** "20 socialsekreterare" where the passage gives "7-8 socialsekreterare" and
   "20 procent": a number keeps the noun it counts.
4. **Order.** A range or a from–to keeps its order: "från 18.00 till 08.00" reverses "08.00 — 18.00".

Each rule names the unit and the words involved, for staff to see. The thresholds were chosen on one
half of claims generated from the corpus (eval/claims.py) and are reported on the other half.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from rag.text import _TIME, claimed_facts, content_terms, fact_in_passage, fold, stem, without_quotes
from rag.units import Unit, fact_type, source_units, unit_terms

_VALUE_NUMBER = re.compile(r"\b([01]?\d|2[0-3])[.:]([0-5]\d)\b|\d+(?:[ ,.]\d{3})*(?:,\d+)?")
# "08.00 — 18.00", "2016-2019", "från 8 till 17", "mellan 9 och 12", "from 8 to 5"
_RANGE = re.compile(
    r"(?:\b(?:från|fr\.?o\.?m\.?|mellan|from|between)\s+)?"
    r"(?P<a>\d{1,4}(?:[.:]\d{2})?)\s*(?:[-–—]|\b(?:till|och|to|and|until)\b)\s*(?:kl\.?\s*)?"
    r"(?P<b>\d{1,4}(?:[.:]\d{2})?)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


@dataclass(frozen=True)
class Binding:
    """Where a claim's facts are bound in one passage, or why they are not."""

    unit: str | None  # the text of the unit (or two joined units) that states the claim, if one does
    bound: tuple[str, ...] = ()  # the claim's facts and topic words found in that unit
    problem: str | None = None  # why the claim's facts are not bound to its subject (None: they are)
    units: tuple[int, ...] = field(default=())  # indexes of the binding units in the passage

    @property
    def ok(self) -> bool:
        return self.problem is None


def bind(claim: str, text: str, title: str = "") -> Binding:
    """Bind a claim to the unit of the passage (text, with its title) that states its facts."""
    units = source_units(text, title)
    full = f"{title}\n{text}"
    facts = [f for f in dict.fromkeys(claimed_facts(claim)) if fact_in_passage(f, full)]
    # a value standing as a word of its own: the "1" of "C1" is part of a name
    values = [f for f in facts if fact_type(f) != "name" and _standalone(f, claim)]
    names = [f for f in facts if fact_type(f) == "name"]
    claim_terms = _subject_terms(claim)
    if not units or not facts:
        best = max(units, key=lambda u: len(claim_terms & unit_terms(u)), default=None)
        return Binding(best.text if best else None, _bound(claim_terms, facts, best), None, _ix(best))

    windows: list[tuple[Unit, ...]]
    if values:
        windows = [(u,) for u in units if _holds_all(u.text, values)]
        if not windows:  # two adjacent sentences ("… 2019. Han blev 69 år.") or items of one list
            windows = [
                (a, b)
                for a, b in itertools.pairwise(units)
                if a.kind == b.kind
                and a.kind in ("sentence", "item")
                and _holds_all(a.text + "\n" + b.text, values)
                and _both_about_claim(claim_terms, a, b)
            ]
        if not windows:
            return _each_value(claim, claim_terms, values, facts, units)
    else:
        windows = [(u,) for u in units if any(fact_in_passage(n, u.text) for n in names)]
        if not windows:  # the names stand only in the title
            return Binding(None, tuple(names), None)

    term_units = _units_by_term(units)
    problems: list[tuple[int, Binding]] = []
    # the window naming most of the claim first: "… på fredagar" binds to "Fredag: …", not "Måndag–onsdag: …"
    windows.sort(key=lambda w: -len(claim_terms & set().union(*(unit_terms(u) for u in w))))
    for window in windows:
        problem = (
            _unbound_name(names, window, units)
            or _other_subject(claim_terms, facts, window, units, term_units)
            or _counted_noun(claim, window, units)
            or _reversed(claim, window)
        )
        joined = "\n".join(u.text for u in window)
        found = Binding(joined, _bound(claim_terms, facts, *window), problem, tuple(u.index for u in window))
        if problem is None:
            return found
        problems.append((len(found.bound), found))
    return max(problems, key=lambda p: p[0])[1]


def _each_value(
    claim: str, claim_terms: set[str], values: Sequence[str], facts: Sequence[str], units: Sequence[Unit]
) -> Binding:
    """Values no one place states together ("… finns på Stortorget 17 och har telefon 042-10 50 00"):
    each must stand in a unit that the claim names something of and that no other subject claims."""
    term_units = _units_by_term(units)
    chosen: list[Unit] = []
    for value in values:
        holders = [u for u in units if fact_in_passage(value, u.text)]
        fits = [
            u
            for u in holders
            if claim_terms & unit_terms(u, with_antecedent=True)
            and not _other_subject(claim_terms, facts, (u,), units, term_units)
            and not _counted_noun(claim, (u,), units)
        ]
        if not fits:
            where = f" ('{holders[0].text}')" if holders else ""
            return Binding(None, (), f"'{value}' is not stated about what the claim says{where}")
        chosen.extend(u for u in fits[:1] if u not in chosen)
    joined = "\n".join(u.text for u in chosen)
    return Binding(joined, _bound(claim_terms, facts, *chosen), None, tuple(u.index for u in chosen))


def _both_about_claim(claim_terms: set[str], a: Unit, b: Unit) -> bool:
    """Two adjacent sentences state one claim when the second leans on the first ("Han blev 69 år.") or the
    claim names something of each: "2017 har varit det sista året …" takes 2017 from the next sentence,
    which is about something else."""
    if b.context.endswith(a.text):  # b opens with a pronoun and reads a as its context
        return True
    ta, tb = unit_terms(a), unit_terms(b)
    return bool(claim_terms & (ta - tb)) and bool(claim_terms & (tb - ta))


def _standalone(fact: str, text: str) -> bool:
    return bool(re.search(rf"(?<![\w.,:]){re.escape(fact)}(?!\w|[.,:]\d)", text))


def _subject_terms(text: str) -> set[str]:
    """The claim's topic terms other than its numbers and quoted phrases: what it says its facts are about."""
    return {t for t in content_terms(without_quotes(text)) if not t[0].isdigit()}


def _ix(unit: Unit | None) -> tuple[int, ...]:
    return () if unit is None else (unit.index,)


def _holds_all(text: str, facts: Sequence[str]) -> bool:
    return all(fact_in_passage(f, text) for f in facts)


def _bound(claim_terms: set[str], facts: Sequence[str], *window: Unit | None) -> tuple[str, ...]:
    units = [u for u in window if u is not None]
    text = "\n".join(u.text for u in units)
    terms = set().union(*(unit_terms(u) for u in units)) if units else set()
    return tuple([f for f in facts if fact_in_passage(f, text)] + sorted(claim_terms & terms))


def _units_by_term(units: Sequence[Unit]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for u in units:
        for t in unit_terms(u):
            counts[t] = counts.get(t, 0) + 1
    return counts


def _unbound_name(names: Sequence[str], window: Sequence[Unit], units: Sequence[Unit]) -> str | None:
    """A name the claim gives that is not bound to the window's subject."""
    text = "\n".join(u.text + "\n" + u.context for u in window)
    structured = any(u.structured for u in window)
    for name in names:
        if fact_in_passage(name, text):
            continue
        if structured:
            return f"'{name}' is not in '{window[0].text}', which states the rest"
        if not any(fact_in_passage(name, u.text) for u in units if not u.structured and u not in window):
            holder = next((u for u in units if fact_in_passage(name, u.text)), None)
            where = f" ('{holder.text}')" if holder else ""
            return f"'{name}' belongs to another part of the passage{where}"
    return None


def _other_subject(
    claim_terms: set[str],
    facts: Sequence[str],
    window: Sequence[Unit],
    units: Sequence[Unit],
    term_units: dict[str, int],
) -> str | None:
    """Another unit that states a different value of the same type about a subject the claim names, while
    the claim names less of the window's own subject."""
    types = {fact_type(f) for f in facts}
    own = set().union(*(unit_terms(u, with_context=True) for u in window))
    own_text = {t for u in window for t in unit_terms(u) if not t[0].isdigit()}
    missing = claim_terms - own
    if not missing:
        return None
    value_types = types - {"name"}
    for other in units:
        if other in window:
            continue
        if value_types:
            rival = _other_values(other.text, facts, value_types)
        else:  # names only: a byline or contact block is another person's
            rival = other.structured and bool(_other_values(other.text, facts, {"name"}))
        if not rival:
            continue
        theirs = unit_terms(other)
        gain = sum(1.0 / term_units.get(t, 1) for t in missing & theirs)
        keep = sum(1.0 / term_units.get(t, 1) for t in (claim_terms & own_text) - theirs)
        if gain > keep:
            said = ", ".join(sorted(missing & theirs))
            return f"'{said}' is the subject of '{other.text}', not of '{window[0].text}'"
    return None


def _other_values(text: str, facts: Sequence[str], types: Collection[str]) -> bool:
    """Whether text states a fact of one of the types that the claim does not give."""
    return any(fact_type(f) in types and not any(_same(f, c) for c in facts) for f in claimed_facts(text))


def _same(a: str, b: str) -> bool:
    return fact_in_passage(a, b) and fact_in_passage(b, a)


def _counted_noun(claim: str, window: Sequence[Unit], units: Sequence[Unit]) -> str | None:
    """A number in the claim counting a noun that the passage counts with another number, and never with
    this one ("20 socialsekreterare" where it says "7-8 socialsekreterare … 20 procent")."""
    pairs = _counts(claim)
    if not pairs:
        return None
    passage_pairs = [p for u in units for p in _counts(u.text)]
    for number, noun in pairs:
        counted = [n for n, w in passage_pairs if w == noun]
        if counted and number not in counted:
            return f"the passage counts '{noun}' as {' / '.join(sorted(set(counted)))}, not {number}"
        if any(n == number and w != noun for n, w in passage_pairs) and not counted:
            nouns = sorted({w for n, w in passage_pairs if n == number})
            if any(w in content_terms(claim) for w in nouns):
                return f"{number} counts '{nouns[0]}' in the passage, not '{noun}'"
    return None


_NUMBER_OR_WORD = re.compile(r"\d+(?:[.:,]\d+)*(?:\s?[-–]\s?\d+(?:[.:,]\d+)*)?|[^\W\d_]+")


def _counts(text: str) -> list[tuple[str, str]]:
    """(number digits, stem of the noun it counts) for each number followed within two words by a topic
    word: "8-12 medlemmar" -> ("812", "medlem"); "4 tvärsektoriella reformgrupper" -> ("4", "tvarsektoriell")
    and ("4", "reformgrupp"). Clock times ("20.00 på kvällen") and years count nothing."""
    words = _NUMBER_OR_WORD.findall(text)
    out: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        if not word[0].isdigit() or _TIME.search(word) or re.fullmatch(r"(1[89]|20)\d\d", word):
            continue
        for after in words[i + 1 : i + 3]:
            if after[0].isdigit():
                break
            if content_terms(after):
                out.append((re.sub(r"\D", "", word), stem(fold(after.lower()))))
    return out


def _reversed(claim: str, window: Sequence[Unit]) -> str | None:
    """A range or from–to in the claim whose ends stand the other way round in the window: as a range
    there ("11.00-8.15" for "8.15-11.00"), or, where the window gives no such range, in the order of
    every occurrence."""
    text = "\n".join(u.text for u in window)
    values = [_norm(m.group(0)) for m in _VALUE_NUMBER.finditer(text)]
    ranges = {(_norm(m.group("a")), _norm(m.group("b"))) for m in _RANGE.finditer(text)}
    for m in _RANGE.finditer(claim):
        a, b = _norm(m.group("a")), _norm(m.group("b"))
        if a == b or a not in values or b not in values or (a, b) in ranges:
            continue
        if (b, a) in ranges or values.index(a) > len(values) - 1 - values[::-1].index(b):
            return f"'{m.group(0)}' reverses the order in '{window[0].text}'"
    return None


def _norm(value: str) -> str:
    """A clock time as HH:MM, any other number as its digits."""
    t = _TIME.fullmatch(value.strip())
    if t:
        return f"{int(t.group(1)):02d}:{t.group(2)}"
    return re.sub(r"\D", "", value)
