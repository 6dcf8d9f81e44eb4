"""What kind of fact a question asks for, and the source sentence that holds it.

The 1.5B model often writes a sentence that is true and supported by the passage but does not answer the
question ("Almedalsveckan var en transformationsarena …" to "i vilken stad var almedalsveckan?"). The
pipeline knows from the question word what the answer must contain — a phone number for "vilket nummer", a
price or "gratis" for "vad kostar", a time or date for "när", a number for "hur många", a name for "vem", a
place for "var ligger" — and checks the verified answer for it. When no kept sentence holds such a fact,
the best source sentence that does is quoted, word for word and cited, so the resident gets the fact from
the document itself and never from a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.guard import strip_injections
from rag.text import content_terms, fold, has_phone_number, split_sentences
from rag.types import Chunk

Kind = Literal["phone", "cost", "when", "count", "who", "where"]

# Question words, tried in order; the first that matches decides. Swedish and English (folded, lower-case).
_KIND_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "phone",  # a number is not enough: "Stortorget 17" holds one
        re.compile(
            r"\b(vilket (telefon)?nummer|telefonnummer(et)?|ringer (jag|man|du|vi)|vem ska jag ringa"
            r"|what number|phone number|who do i call)\b"
        ),
    ),
    (
        "cost",  # a price, or that it is free: "är det gratis?" is answered by "Det är gratis"
        re.compile(
            r"\b(vad kostar|kostar (det|de|den)|kostnad(en|er)?|avgift(en|er)?|gratis|kostnadsfri(tt|a)?"
            r"|avgiftsfri(tt|a)?|what does it cost|does it cost|cost|costs|fee|is it free|free of charge)\b"
        ),
    ),
    (
        "count",
        re.compile(r"\b(hur (manga|mycket|gammal|lange|stor|langt|dyr)|how (many|much|old|long))\b"),
    ),
    (
        "when",
        re.compile(
            r"\b(nar|vilket ar|vilken (dag|tid|manad|vecka|datum)|vilka tider|fran vilken tid|till vilket ar"
            r"|oppettider|oppetider|oppet|when|what time|which year|opening hours)\b"
        ),
    ),
    (
        "who",  # a name: of a person, or of a thing ("vad heter verktyget?")
        re.compile(
            r"\b(vem|vems|vilka personer|vilka (satt|medverkade|pratade|talade)|vad heter|who"
            r"|what is (it|the \w+) called|what is the name)\b"
        ),
    ),
    (
        "where",
        re.compile(
            r"\b(vart? (ligger|finns)|vart? kan (jag|man)|vilken (stad|adress|ort|gata)|adress(en)?|where|address)\b"
        ),
    ),
)

_NUMBER_WORDS = frozenset(
    fold(w)
    for w in """
    två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton sjutton arton nitton
    tjugo trettio fyrtio femtio sextio sjuttio åttio nittio hundra tusen miljon miljoner halv halvtimme
    one two three four five six seven eight nine ten eleven twelve twenty hundred thousand
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# Words that date or time something, matched as word beginnings ("tisdagen", "lördagsnatten", "kvällen").
_WHEN_PREFIXES = tuple(
    fold(w)
    for w in """
    januari februari mars april maj juni juli augusti september oktober november december
    måndag tisdag onsdag torsdag fredag lördag söndag vardag helgdag kväll morgon förmiddag eftermiddag
    klockan
    """.split()  # noqa: SIM905
)
# Words that ask for the kind rather than name the topic: "vem ringer man om teamsmötet …" is about the
# Teams meeting, and kontaktcenter's "Ring …" sentence is not on that topic.
_CUE_TERMS: dict[Kind | None, frozenset[str]] = {
    "phone": frozenset(content_terms("ringa ring ringer telefon telefonnummer nummer")),
    "cost": frozenset(content_terms("kosta kostar kostnad kostnaden avgift avgiften gratis kostnadsfri")),
}
_FREE_OR_PRICE = ("gratis", "kostnadsfri", "avgiftsfri", "kronor")  # word beginnings
_CURRENCY = frozenset({"kr", "sek", "free"})  # whole words: "kring" is no "kr"
MAX_QUOTE_CHARS = 300  # longer "sentences" are lists or run-on text, not a quotable answer
# "en"/"ett" are articles too: they count as numbers only before a unit ("ett år", "en vecka").
_ONE_UNIT = re.compile(r"\b(en|ett|one|a)\s+(ar|manad|vecka|dag|timme|kvart|gang|year|month|week|day|hour)\b")
_CAPITALISED = re.compile(r"\b[A-ZÅÄÖÉ][\wåäöéü-]+")
# The city's own names answer no "who" or "where" question about it.
_HOME_NAMES = frozenset({"helsingborg", "helsingborgs", "sverige", "sveriges", "skane", "skanes"})
_PLACE = re.compile(r"\b(?:i|på|vid|utanför)\s+([A-ZÅÄÖÉ][\wåäöéü-]+)")
_STREET = re.compile(r"\b\w+(gatan|vägen|väg|torget|torg|väven|plan|gränd|allén|stigen)\s+\d+", re.I)


def expected_kind(question: str) -> Kind | None:
    """The kind of fact the question asks for, or None when its question word does not say ("vad", "hur")."""
    q = fold(question)
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(q):
            return kind
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[\w-]+", fold(text))


def _names(sentence: str) -> set[str]:
    """Capitalised words; the sentence's first word counts only when another capitalised word follows it."""
    found = list(_CAPITALISED.finditer(sentence))
    out = set()
    for i, m in enumerate(found):
        first = not sentence[: m.start()].strip(" \"'“”(–-")
        if first and not (i + 1 < len(found) and found[i + 1].start() - m.end() <= 1):
            continue
        out.add(fold(m.group(0)))
    return out


def holds_kind(sentence: str, kind: Kind, question: str = "") -> bool:
    """Whether a sentence holds a fact of this kind that the question did not already name."""
    asked = set(_words(question))
    words = [w for w in _words(sentence) if w not in asked]
    rest = " ".join(words)
    # A number starts with a digit ("600", "8-12", "2030-talet"); "h22summit.se" is a name, not a number.
    digits = any(w[:1].isdigit() for w in words)
    numbers = digits or bool(_ONE_UNIT.search(rest)) or any(w in _NUMBER_WORDS for w in words)
    if kind == "phone":
        return has_phone_number(sentence)
    if kind == "cost":  # the question's own "gratis" counts: the answer confirms it
        return numbers or any(w.startswith(_FREE_OR_PRICE) or w in _CURRENCY for w in _words(sentence))
    if kind == "count":
        return numbers
    if kind == "when":
        # A time, date or year is written in digits or names a day or month; "tre nätter" is no time.
        return digits or any(w.startswith(_WHEN_PREFIXES) for w in words)
    names = {n for n in _names(sentence) if n not in asked and n not in _HOME_NAMES}
    if kind == "who":
        return bool(names)
    # A place: a street address, or a name after a preposition of place ("i Visby", "på Stortorget").
    placed = {fold(m.group(1)) for m in _PLACE.finditer(sentence)} - asked - _HOME_NAMES
    return bool(placed) or bool(_STREET.search(sentence))


@dataclass(frozen=True)
class Evidence:
    sentence: str
    passage_index: int
    overlap: float  # share of the question's topic terms the sentence (with its passage title) holds


def source_sentences(passage: Chunk) -> list[str]:
    """A passage's sentences as they may be quoted: planted instructions left out, whitespace tidied."""
    return [" ".join(s.split()) for s in split_sentences(strip_injections(passage.text))]


def evidence_candidates(
    question: str,
    passages: Sequence[Chunk],
    kind: Kind | None,
    *,
    min_overlap: float = 0.5,
) -> list[Evidence]:
    """Source sentences that hold a fact of the asked kind and are on topic, best overlap first (ties in
    passage order, the better-ranked passage first).

    A sentence qualifies when it holds such a fact and, together with the sentence before it and its
    passage's title, at least ``min_overlap`` of the question's topic terms."""
    q_terms = content_terms(question) - _CUE_TERMS.get(kind, frozenset())
    if not q_terms:
        return []
    found: list[tuple[tuple[float, int, int], Evidence]] = []
    for pi, passage in enumerate(passages):
        title_terms = content_terms(passage.title)
        sentences = source_sentences(passage)
        for si, sentence in enumerate(sentences):
            if len(sentence) > MAX_QUOTE_CHARS or (
                kind is not None and not holds_kind(sentence, kind, question)
            ):
                continue
            # A sentence often leans on the one before it ("På plats i Visby …" after "… i Almedalsveckan."):
            # the previous sentence counts towards the topic, and is quoted too when it supplied words.
            own = q_terms & content_terms(sentence)
            prev = sentences[si - 1] if si > 0 and len(sentences[si - 1]) <= MAX_QUOTE_CHARS else ""
            lent = (q_terms & content_terms(prev)) - own
            if not own and not lent:
                continue  # the title alone is no evidence that this sentence is on topic
            overlap = len(own | lent | (q_terms & title_terms)) / len(q_terms)
            if overlap >= min_overlap:
                text = f"{prev} {sentence}" if lent else sentence
                found.append(((-overlap, pi, si), Evidence(text, pi, overlap)))
    return [ev for _, ev in sorted(found, key=lambda f: f[0])]


def find_evidence(
    question: str, passages: Sequence[Chunk], kind: Kind | None, *, min_overlap: float = 0.5
) -> Evidence | None:
    """The source sentence that best answers the question with a fact of the asked kind (the first of
    evidence_candidates), or None."""
    return next(iter(evidence_candidates(question, passages, kind, min_overlap=min_overlap)), None)


def answers_kind(sentences: Iterable[str], kind: Kind | None, question: str) -> bool:
    """Whether any of the given answer sentences holds a fact of the asked kind (True when no kind is asked)."""
    return kind is None or any(holds_kind(s, kind, question) for s in sentences)
