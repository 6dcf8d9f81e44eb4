"""What kind of fact a question asks for, and whether a sentence holds one; the near-copy of a source sentence.

The question word says what an answer must contain — a phone number for "vilket nummer", a price or
"gratis" for "vad kostar", a clock time for "vilka tider", a time or date for "när", a number for "hur
många", a name for "vem", a place for "var ligger". These are features of the answer-sentence scorer
(rag/scorer.py: ``kind_held``, ``kind_missing``), not deciders: the fitted model weighs them with
everything else. ``states_count`` is a signal of the relevance gate ("hur många invånare …" with no number
of invånare anywhere), and ``source_wording`` shows a written near-copy of one source sentence in the
source's own words (rag/stages/verify.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from rag.guard import strip_injections
from rag.text import (
    content_terms,
    extract_facts,
    fact_in_passage,
    fold,
    has_phone_number,
    split_sentences,
    stem,
)
from rag.types import Chunk

Kind = Literal["phone", "cost", "count", "clock", "when", "who", "where"]

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
        "clock",  # a time of day: "vilka tider" is not answered by "torsdagen den 14 januari"
        re.compile(
            r"\b(vilka tider|(?<!for )vilken tid|fran vilken tid|till vilken tid|hur dags"
            r"|nar (har|hade) (ni|de|det|du|man) oppet|nar oppnar|nar stanger|oppettider(na)?|oppetider(na)?"
            r"|what time|opening hours)\b"
        ),
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

# A question that opens with a verb asks yes or no ("har ni …", "är det …", "is it …").
_YES_NO = re.compile(
    r"\W*(har|hade|ar|finns|fanns|kan|far|ska|skall|galler|blir|brukar|is|are|do|does|can|will)\b"
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
_FREE_OR_PRICE = ("gratis", "kostnadsfri", "avgiftsfri", "kronor")  # word beginnings
_CURRENCY = frozenset({"kr", "sek", "free"})  # whole words: "kring" is no "kr"
MAX_QUOTE_CHARS = 300  # longer "sentences" are lists or run-on text, not a quotable answer
# "en"/"ett" are articles too: they count as numbers only before a unit ("ett år", "en vecka").
_ONE_UNIT = re.compile(r"\b(en|ett|one|a)\s+(ar|manad|vecka|dag|timme|kvart|gang|year|month|week|day|hour)\b")
_CLOCK = re.compile(
    r"\b(\d{1,2}[.:]\d{2}|(kl|klockan)\.? ?\d{1,2}|\d{1,2} ?(am|pm)|dygnet runt|hela dygnet|around the clock)\b"
)
_BULLET = re.compile(r"^\s*[-•*]\s+")  # not "–": it opens a line of speech
# "hur länge …" is answered by a number of time units ("1 år", "tre veckor").
_HOW_LONG = ("hur lange", "how long", "hur gammal", "how old")
_TIME_UNIT = re.compile(
    r"(ar|aret|aren|ars|manad\w*|veck\w*|dag\w*|dygn\w*|timm\w*|minut\w*|(year|month|week|day|hour)s?)$"
)
_YEAR = re.compile(r"(1[89]|20)\d\d(-\d{2,4}|-tal\w*)?")  # "2022", "2016-2019", "2030-talet"
_DIGITS = re.compile(r"\d+(?:[.,:-]\d+)*")  # "150", "8-12", "2,5"
_MONTHS = _WHEN_PREFIXES[:12]  # januari … december
_OTHER_QUESTION_WORDS = frozenset(
    fold(w)
    for w in "var vad vem när vilken vilket vilka varför where what who when which why".split()  # noqa: SIM905
)
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
            # "har ni andra öppettider kring röda dagar?" asks yes or no, not for a time: "Avvikande
            # öppettider kan förekomma …" answers it, another document's clock times do not.
            return None if kind in ("clock", "when") and _YES_NO.match(q) else kind
    return None


def asks_yes_or_no(question: str) -> bool:
    """Whether the question opens with a verb and so asks yes or no ("är det gratis?", "is it free?"); one
    that offers choices ("är den till för anställda eller för invånarna?") asks which."""
    q = fold(question)
    return bool(_YES_NO.match(q)) and not re.search(r"\b(eller|or)\b", q)


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
        # "hur länge …" is answered by a duration ("1 år"), not by any number ("7 av förslagen").
        return counts_asked(sentence, question) if _counted(question)[0] else numbers
    if kind == "clock":
        asked_times = set(_CLOCK.findall(fold(question)))
        return any(m not in asked_times for m in _CLOCK.findall(fold(sentence)))
    if kind == "when":
        # A time, date or year is written in digits or names a day or month; "tre nätter" is no time.
        return digits or any(w.startswith(_WHEN_PREFIXES) for w in words)
    names = {n for n in _names(sentence) if n not in asked and n not in _HOME_NAMES}
    if kind == "who":
        return bool(names)
    # A place: a street address, or a name after a preposition of place ("i Visby", "på Stortorget").
    placed = {fold(m.group(1)) for m in _PLACE.finditer(sentence)} - asked - _HOME_NAMES
    return bool(placed) or bool(_STREET.search(sentence))


def source_sentences(passage: Chunk) -> list[str]:
    """A passage's sentences as they may be quoted: planted instructions left out, whitespace tidied."""
    return [" ".join(s.split()) for s in split_sentences(strip_injections(passage.text))]


_BARE_WORDS = 3  # a sentence with fewer words beside its facts is a bare fact ("042-10 50 00.", "År 2030.")
_WORD = re.compile(r"[^\W\d_]{2,}")


def is_bare_fact(sentence: str) -> bool:
    """Whether the sentence is little more than its facts: fewer than _BARE_WORDS words beside them."""
    rest = sentence
    for fact in extract_facts(sentence):
        rest = rest.replace(fact, " ")
    return len(_WORD.findall(rest)) < _BARE_WORDS


# A written sentence is a near-copy of a source sentence that holds this share of its topic words ...
NEAR_COPY = 0.75
# ... and at most this many times as many topic words (a longer one says much more than was written).
_NEAR_COPY_GROWTH = 2.0
_SWEDISH_LETTER = re.compile("[åäöÅÄÖ]")
# A source sentence that can stand on its own: opens with a capital, a digit or a quotation mark and ends
# with a full stop or "!" (not a heading, a list item, a question or a fragment cut at a chunk's edge).
_WHOLE_SENTENCE = re.compile(r"^[\"”“(]?[A-ZÅÄÖÉ0-9].*[.!][\"”’)]*$")


def source_wording(sentence: str, passage: Chunk) -> str | None:
    """The passage's own sentence when the written sentence is a near-copy of it, else None.

    The 1.5B model copies a source sentence and changes it on the way: it swaps a pronoun ("när han har
    fått" for "hon"), drops a negation ("får flytta … när" for "får inte flytta … förrän"), misspells a
    word ("leverer" for "använder") or the condition ("via kassan" for "I kassan"). Each keeps most of
    the words, so the sentence passes the support check. A sentence holding at least NEAR_COPY of its
    topic words and every fact it states is said better in the document's own words; a sentence the
    model built from several (fewer of its words in any one) keeps the model's wording, and so does one
    whose å, ä and ö the source lost in text extraction."""
    terms = content_terms(sentence)
    if not terms or is_bare_fact(sentence):
        return None  # a bare fact is shown in its source sentence only when it answers (_bare_fact_quote)
    facts = extract_facts(sentence)
    restored = bool(_SWEDISH_LETTER.search(sentence))
    best: tuple[float, int, str] | None = None
    for source in source_sentences(passage):
        if len(source) > MAX_QUOTE_CHARS or _BULLET.match(source) or not _WHOLE_SENTENCE.match(source):
            continue
        if source.count("(") != source.count(")") or sum(map(source.count, '"”“')) % 2:
            continue  # a quotation or an aside that ends in the next sentence: half of it reads wrong
        if restored and not _SWEDISH_LETTER.search(source):
            continue  # text extraction lost å, ä and ö ("Stadens forra malbild"): the model wrote them back
        held = content_terms(source)
        share = len(terms & held) / len(terms)
        if share < NEAR_COPY or len(held) > _NEAR_COPY_GROWTH * len(terms):
            continue
        if not all(fact_in_passage(f, source) for f in facts):
            continue
        key = (share, -len(source), source)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None or best[2] == " ".join(sentence.split()):
        return None
    return best[2]


def _counted(question: str) -> tuple[bool, str]:
    """What a count question counts: (True, "") for "hur länge"/"hur gammal" (time units), (False, the
    stem of X) for "hur många X", (False, "") when it names nothing to count ("hur många var där?")."""
    q = _words(question)
    asked = " ".join(q)
    if any(re.search(rf"\b{phrase}\b", asked) for phrase in _HOW_LONG):
        return True, ""
    counted = next(
        (
            stem(q[i + 2])
            for i in range(len(q) - 2)
            if q[i] in ("hur", "how") and q[i + 1] in ("manga", "many")
        ),
        "",
    )
    return False, counted if len(counted) >= 4 else ""


def _is_counted(word: str, counted: str) -> bool:
    """Whether a (folded) word is a form of the counted stem: "medlemmar" of "medlem", "reformgrupper"
    of "reformgrupp"."""
    s = stem(word)
    return s.startswith(counted) or (len(s) >= 4 and counted.startswith(s))


def counts_asked(sentence: str, question: str) -> bool:
    """Whether a number in the sentence counts what the question asks about: "8-12 medlemmar" for "hur
    många medlemmar …", "1 år" for "hur länge …". False when the question names nothing to count."""
    how_long, counted = _counted(question)
    if not how_long and not counted:
        return False

    def counts(word: str) -> bool:
        return bool(_TIME_UNIT.match(word)) if how_long else _is_counted(word, counted)

    # The counted word follows the number, an adjective between allowed ("4 tvärsektoriella reformgrupper").
    words = _words(sentence)
    return any(
        (word[:1].isdigit() or word in _NUMBER_WORDS or word in ("en", "ett", "one", "a"))
        and any(counts(after) for after in words[i + 1 : i + 3])
        for i, word in enumerate(words)
    )


def states_count(question: str, passages: Sequence[Chunk]) -> bool | None:
    """For "hur många X": whether any sentence of the passages gives a number together with a form of X
    (anywhere in the sentence: "Nästan 30 olika svenska myndigheter", "Projektet är ett av tre i landet").
    A date or a year is no count: "(5-6 november)" or "Sommaren 2022" beside "invånare" does not say how
    many invånare there are. None when the question counts nothing by name ("hur många var där?", "hur
    länge …"): then nothing is claimed either way.

    The relevance gate uses it: a question asking for a number the documents never give cannot be
    answered from them, however well its words match ("hur många invånare har Helsingborg?")."""
    how_long, counted = _counted(question)
    q = _words(question)
    if (
        how_long
        or not counted
        or _OTHER_QUESTION_WORDS.intersection(q[: q.index("hur") if "hur" in q else 0])
    ):
        return None  # "Var står det hur många dagar …?" asks where
    for passage in passages:
        for sentence in source_sentences(passage):
            words = _words(sentence)
            if not any(_is_counted(w, counted) for w in words):
                continue
            following = [*words[1:], ""]
            if any(
                _is_count(w, after) or (w in ("en", "ett") and _is_counted(after, counted))  # "en vecka"
                for w, after in zip(words, following, strict=True)
            ):
                return True
    return False


def _is_count(word: str, following: str) -> bool:
    """Whether a (folded) word is a number that counts something: not a year ("2022") nor a day of a month
    ("5-6 november")."""
    if word in _NUMBER_WORDS:
        return True
    if not _DIGITS.fullmatch(word) or _YEAR.fullmatch(word):
        return False  # "6sa" is an OCR-damaged "lösa", not a number
    return not following.startswith(_MONTHS)
