"""What kind of fact a question asks for, and the source sentence that holds it.

The 1.5B model often writes a sentence that is true and supported by the passage but does not answer the
question ("Almedalsveckan var en transformationsarena …" to "i vilken stad var almedalsveckan?"). The
pipeline knows from the question word what the answer must contain — a phone number for "vilket nummer", a
price or "gratis" for "vad kostar", a clock time for "vilka tider", a time or date for "när", a number for
"hur många", a name for "vem", a place for "var ligger" — and checks the verified answer for it. When no
kept sentence holds such a fact, the best source sentence that does is quoted, word for word and cited, so
the resident gets the fact from the document itself and never from a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
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
# Words that ask for the kind rather than name the topic: "vem ringer man om teamsmötet …" is about the
# Teams meeting, and kontaktcenter's "Ring …" sentence is not on that topic.
_CUE_TERMS: dict[Kind | None, frozenset[str]] = {
    "phone": frozenset(content_terms("ringa ring ringer telefon telefonnummer nummer")),
    "cost": frozenset(content_terms("kosta kostar kostnad kostnaden avgift avgiften gratis kostnadsfri")),
    "count": frozenset(content_terms("länge långt")),  # "hur länge höll de på?" is not about length
}
_FREE_OR_PRICE = ("gratis", "kostnadsfri", "avgiftsfri", "kronor")  # word beginnings
_CURRENCY = frozenset({"kr", "sek", "free"})  # whole words: "kring" is no "kr"
MAX_QUOTE_CHARS = 300  # longer "sentences" are lists or run-on text, not a quotable answer
# "en"/"ett" are articles too: they count as numbers only before a unit ("ett år", "en vecka").
_ONE_UNIT = re.compile(r"\b(en|ett|one|a)\s+(ar|manad|vecka|dag|timme|kvart|gang|year|month|week|day|hour)\b")
_CLOCK = re.compile(
    r"\b(\d{1,2}[.:]\d{2}|(kl|klockan)\.? ?\d{1,2}|\d{1,2} ?(am|pm)|dygnet runt|hela dygnet|around the clock)\b"
)
# A name and a title after a quote: short, with a comma and no closing punctuation.
_BYLINE = re.compile(r"[^.!?:,]{2,40},[^.!?:]{2,60}")
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


@dataclass(frozen=True)
class Evidence:
    sentence: str
    passage_index: int
    # share of the question's topic terms the sentence (with its passage title) holds, a term only its
    # neighbour (the sentence before it, another item of its list) holds counting half
    overlap: float
    counts: bool = False  # a number in it counts what "hur många X" / "hur länge" asks about


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


def _list_items(sentences: Sequence[str]) -> list[int]:
    """For each sentence, the index of the first sentence of the bulleted list it belongs to, or -1.

    A list is a run of lines opening with a bullet ("- 8-12 medlemmar …", "• 15 mars: …"); a line after
    an item ending in ":" continues that item ("- 4 reformgrupper:" / "Integration, Företagsamhet …")."""
    start = [-1] * len(sentences)
    for i, sentence in enumerate(sentences):
        if _BULLET.match(sentence) or (i > 0 and start[i - 1] >= 0 and sentences[i - 1].endswith(":")):
            start[i] = start[i - 1] if i > 0 and start[i - 1] >= 0 else i
    return start


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


def evidence_candidates(
    question: str,
    passages: Sequence[Chunk],
    kind: Kind | None,
    *,
    min_overlap: float = 0.5,
    split: Callable[[str], Sequence[str]] | None = None,
) -> list[Evidence]:
    """Source sentences that hold a fact of the asked kind and are on topic, best first: (for "hur många
    X" and "hur länge") one with a number that counts what was asked, then by overlap (what a neighbour
    lends counting half), then passage order (the better-ranked passage first).

    A sentence qualifies when it holds such a fact and, together with the sentence before it (or, for an
    item of a bulleted list, the list's other items) and its passage's title, at least ``min_overlap`` of
    the question's topic terms. With split (the lexical index's compound splitter), a compound covers its
    parts and its parts cover it, each for its share: "öppettiderna" is about "tider", and "mötet" is
    half of "teamsmötet"."""
    q_terms = content_terms(question) - _CUE_TERMS.get(kind, frozenset())
    if not q_terms:
        return []
    parts = {t: tuple(split(t)) if split else () for t in q_terms}

    def credit(terms: set[str], whole: Collection[str] = q_terms) -> dict[str, float]:
        """How much of each question term the terms cover (terms not covered at all left out). A part's
        share counts only for the compounds in whole: those the passage covers as a whole ("webbmöte via
        Teams" … "mötet"), so that "siktar" is no part of "långsiktig" in a passage without "lång"."""
        if split:
            terms = terms | {p for t in terms for p in split(t)}
        out = {}
        for t in q_terms:
            share = 1.0 if t in terms else sum(p in terms for p in parts[t]) / (len(parts[t]) or 1)
            if share == 1.0 or (share and t in whole):
                out[t] = share
        return out

    def beyond(own: dict[str, float], other: dict[str, float]) -> dict[str, float]:
        return {t: v for t, v in other.items() if v > own.get(t, 0.0)}

    found: list[tuple[tuple[int, float, int, int], Evidence]] = []
    for pi, passage in enumerate(passages):
        whole = {t for t, v in credit(content_terms(passage.titled_text)).items() if v == 1.0}
        title = credit(content_terms(passage.title), whole)
        sentences = source_sentences(passage)
        covers = [credit(content_terms(s), whole) if len(s) <= MAX_QUOTE_CHARS else {} for s in sentences]
        lists = _list_items(sentences)
        for si, sentence in enumerate(sentences):
            if len(sentence) > MAX_QUOTE_CHARS or (
                kind is not None and not holds_kind(sentence, kind, question)
            ):
                continue
            # A sentence often leans on the one before it ("På plats i Visby …" after "… i Almedalsveckan."),
            # and a list item on another item of its list ("- Tid: 1 år." under "- 4 reformgrupper:"):
            # those count towards the topic, and are quoted too when they supplied words.
            own = covers[si]
            lender, lent = -1, {}
            if si > 0:
                lender, lent = si - 1, beyond(own, covers[si - 1])
            if lists[si] >= 0 and not lent:
                items = [i for i in range(lists[si], len(sentences)) if i != si and lists[i] == lists[si]]
                best = max(items, default=-1, key=lambda i: sum(beyond(own, covers[i]).values()))
                if best >= 0 and (more := beyond(own, covers[best])):
                    lender, lent = best, more
            if not own and not lent:
                continue  # the title alone is no evidence that this sentence is on topic
            overlap = sum(max(d.get(t, 0.0) for d in (own, lent, title)) for t in q_terms) / len(q_terms)
            if overlap >= min_overlap:
                # Ranked by what the sentence holds itself, a word its neighbour lends counting half: "–
                # När jag såg väderleksrapporten på tisdagen …" borrows all of "när öppnade nattcafét
                # hos LP" from the sentence before it, "… nattcaféet kunde öppna upp redan på torsdagen
                # den 14 januari" holds most of it. A byline lends nothing away: "LiseLotte J Bate,
                # Kultur- och hållbarhetschef Granitor" is all about the quote before it.
                share = 1.0 if _BYLINE.fullmatch(sentence) else 0.5
                held = sum(max(own.get(t, 0.0), title.get(t, 0.0), lent.get(t, 0.0) * share) for t in q_terms)
                ranked = held / len(q_terms)
                text = _unbullet(sentence)
                if lent:
                    first, then = sorted((lender, si))
                    glue = " " if then == first + 1 else " … "
                    text = f"{_unbullet(sentences[first])}{glue}{_unbullet(sentences[then])}"
                counted = counts_asked(sentence, question) if kind == "count" else False
                found.append(((-int(counted), -ranked, pi, si), Evidence(text, pi, ranked, counted)))
    return [ev for _, ev in sorted(found, key=lambda f: f[0])]


def _unbullet(sentence: str) -> str:
    """A list item as it is quoted: "Tid: 1 år." rather than "- Tid: 1 år."."""
    return _BULLET.sub("", sentence, count=1)


def find_evidence(
    question: str,
    passages: Sequence[Chunk],
    kind: Kind | None,
    *,
    min_overlap: float = 0.5,
    split: Callable[[str], Sequence[str]] | None = None,
) -> Evidence | None:
    """The source sentence that best answers the question with a fact of the asked kind (the first of
    evidence_candidates), or None."""
    found = evidence_candidates(question, passages, kind, min_overlap=min_overlap, split=split)
    return next(iter(found), None)


def answers_kind(sentences: Iterable[str], kind: Kind | None, question: str) -> bool:
    """Whether any of the given answer sentences holds a fact of the asked kind (True when no kind is asked)."""
    return kind is None or any(holds_kind(s, kind, question) for s in sentences)
