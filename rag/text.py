"""Swedish-aware text handling: normalisation, lexical tokens, sentences and checkable facts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer

# --- normalisation ---------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200c-\u200f\ufeff]")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, unified line ends, no control characters, collapsed spaces; paragraphs (blank lines) kept."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def fold(text: str) -> str:
    """Lower-case and strip diacritics, so OCR-damaged 'malbild' meets 'målbild'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- lexical tokens ----------------------------------------------------------------------------

# Function words that carry no topic. Folded forms (no diacritics), because folding happens first.
SWEDISH_STOPWORDS = frozenset(
    fold(w)
    for w in """
    och i att det som en på är av för med till den har de inte om ett han men var jag sig från vi så kan
    man när år säger hon under också efter eller nu sin där vid mot ska skulle kommer ut får finns vara
    hade alla andra mycket än här då sedan över bara in blir upp även vad få två vill ha många hur mer
    går sitt du dig din dina ditt mig min mitt mina oss vår vårt våra er ert era deras hans hennes dess
    denna detta dessa vilken vilket vilka vem vems varför vart hit dit nej ja jo bli blev blivit ni er
    ert era varit gör göra gjorde gjort kunna kunde måste mitt någon något några ingen inget inga hos
    utan samt enligt genom kring mellan sådan sådana sådant själv själva just ju väl nog bra hej tack
    snälla the a an and or of to in on for is are was were be what which who how when where why do does
    did can could i you my your it this that with from at by as me please hi hello ligger heter hitta
    hittar fungerar gäller betyder menas handlar undrar veta berätta förklara information info fråga
    frågor
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_TOKEN = re.compile(r"[0-9]+(?:[.:,][0-9]+)*|[^\W\d_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("swedish")


_ACCENTED_DEFINITE = re.compile(r"(.+é)(?:et|t|n|ns|ets|ts|er|erna|ernas)?$")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Swedish Snowball stem of a lower-case word, then folded (stem first: the suffix rules need å/ä/ö).

    Snowball keeps the definite '-an' ('förskolan', 'arenan'), also under a genitive s ('veckans' ->
    'veckan'); we strip it from longer words so they meet their indefinite forms ('förskola' -> 'förskol').
    It also keeps the neuter '-t' of adjectives on -al and -ell ('digitalt', 'lokalt', 'aktuellt'), which
    we strip so they meet the other forms ('digitala', 'digital').
    """
    accented = _ACCENTED_DEFINITE.match(word)
    if accented:  # loanwords on -é ('café', 'idé', 'entré'): Snowball misses 'caféet', 'cafét', 'idén'
        return fold(accented.group(1))
    stemmed = _stemmer().stemWord(word)
    definite = stemmed == word or (word.endswith("ans") and stemmed == word[:-1])
    if definite and len(stemmed) >= 7 and stemmed.endswith("an"):
        stemmed = stemmed[:-2]
    elif len(stemmed) >= 6 and stemmed.endswith(("alt", "ellt")):
        stemmed = stemmed[:-1]  # neuter adjectives: 'digitalt' meets 'digitala', 'generellt' 'generella'
    return fold(stemmed)


def raw_tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


# Spoken and chat forms residents write, mapped to the written word the documents use.
INFORMAL = {
    "va": "vara",
    "nån": "någon",
    "nåt": "något",
    "nåra": "några",
    "dom": "de",
    "dem": "de",
    "e": "är",
    "o": "och",
    "mkt": "mycket",
    "ngn": "någon",
    "ngt": "något",
    "sen": "sedan",
    "stan": "staden",
    "hbg": "helsingborg",
    "funkar": "fungerar",
    "funka": "fungera",
    "mej": "mig",
    "dej": "dig",
    "sej": "sig",
    "vart": "var",
    "nånstans": "någonstans",
    "kolla": "se",
    "typ": "ungefär",
    "okej": "ok",
    "asså": "alltså",
}


def topic_words(text: str) -> list[str]:
    """The words of a text that carry its topic: lower-case, informal forms made standard, stop words out."""
    out = []
    for tok in raw_tokens(text):
        tok = INFORMAL.get(tok, tok)
        if fold(tok) not in SWEDISH_STOPWORDS:
            out.append(tok)
    return out


def lexical_tokens(text: str) -> list[str]:
    """Tokens for the lexical index and for support checks: lower-case, stemmed, diacritics folded."""
    return [tok if tok[0].isdigit() else stem(tok) for tok in topic_words(text)]


def content_terms(text: str) -> set[str]:
    """Distinct topic-bearing terms (stemmed, folded, stop words and one-letter tokens removed)."""
    return {t for t in lexical_tokens(text) if len(t) > 1}


# --- sentences ---------------------------------------------------------------------------------

_ABBREVIATIONS = (
    "t.ex.",
    "bl.a.",
    "m.m.",
    "o.s.v.",
    "osv.",
    "ca.",
    "dvs.",
    "d.v.s.",
    "t.o.m.",
    "s.k.",
    "e.g.",
)
# A line break ends a sentence, except a single one before a lower-case word: a PDF's wrapped line
# ("Stadens nya malbild" / "ar en gemensam grund …") goes on with the same sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“”(\[]?[A-ZÅÄÖÉ0-9])|\n{2,}|\n(?![a-zåäöéü])")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences; keeps abbreviations such as 't.ex.' and times such as '08.00'."""
    in_abbreviation: set[int] = set()  # positions of characters that belong to an abbreviation
    for abbr in _ABBREVIATIONS:
        for m in re.finditer(re.escape(abbr), text, flags=re.IGNORECASE):
            if m.start() not in in_abbreviation:
                in_abbreviation.update(range(m.start(), m.end()))
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        cut_at, resume = m.start(), m.end()
        if m.start() - 1 in in_abbreviation and "\n" not in m.group(0):
            continue  # the period of 't.ex.' ends no sentence
        part = text[start:cut_at].strip()
        if part:
            out.append(part)
        start = resume
    part = text[start:].strip()
    if part:
        out.append(part)
    return out


# --- facts that must be found in the cited passage -------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:se|com|nu|org|eu)\b", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\d])(?:\+46|0)\d{1,3}[- ]?\d{2,3}(?:[ -]?\d{2}){1,3}(?![\d])")
_TIME = re.compile(r"\b([01]?\d|2[0-3])[.:]([0-5]\d)\b")
_NUMBER = re.compile(r"\d+(?:[ ,.]\d+)*")
# A capitalised word that is not the first word of its sentence (a name, a place, an organisation).
_NAME = re.compile(r"(?<=[^\s.!?:–—-]\s)([A-ZÅÄÖÉ][a-zåäöéü]+(?:[- ][A-ZÅÄÖÉ][a-zåäöéü]+)*)")


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def extract_facts(sentence: str) -> list[str]:
    """Numbers, dates, times, phone numbers, e-mail addresses, web addresses and proper names of a sentence."""
    facts: list[str] = []
    rest = sentence
    for pattern in (_EMAIL, _URL, _PHONE, _TIME):
        for m in pattern.finditer(rest):
            facts.append(m.group(0).rstrip(".,"))
        rest = pattern.sub(" ", rest)
    facts.extend(m.group(0).rstrip(".,") for m in _NUMBER.finditer(rest) if _digits(m.group(0)))
    facts.extend(m.group(1) for m in _NAME.finditer(sentence))
    return facts


# A phrase in quotation marks ("digitalt julfirande", ”Kulturskolan”): the writer says these are the source's
# own words, so they must stand in the passage as written (case and line breaks aside).
_QUOTED = re.compile(r'["“”«»„]([^"“”«»„\n]{3,80}?)["“”«»]')


def quoted_phrases(sentence: str) -> list[str]:
    """Phrases of two to eight words that a sentence puts in quotation marks."""
    out = []
    for m in _QUOTED.finditer(sentence):
        phrase = " ".join(m.group(1).strip(" .,:;!?").split())
        if 2 <= len(phrase.split()) <= 8 and re.search(r"[^\W\d_]", phrase):
            out.append(phrase)
    return out


def without_quotes(text: str) -> str:
    """text with its quoted phrases blanked out (what it says about them, not their words)."""
    for phrase in quoted_phrases(text):
        text = text.replace(phrase, " ")
    return text


def claimed_facts(sentence: str) -> list[str]:
    """The facts a checker holds a sentence to: extract_facts and the phrases it quotes."""
    facts = extract_facts(sentence)
    return facts + [q for q in quoted_phrases(sentence) if q not in facts]


def has_phone_number(text: str) -> bool:
    return bool(_PHONE.search(text))


def _time_forms(text: str) -> set[str]:
    return {f"{int(h):02d}:{m}" for h, m in _TIME.findall(text)}


def fact_in_passage(fact: str, passage: str) -> bool:
    """True when a fact occurs in a passage, after normalising '08.00'/'8:00', phone spacing and case."""
    if _TIME.fullmatch(fact):
        return bool(_time_forms(fact) & _time_forms(passage))
    if re.fullmatch(r"[\d\s.,+:-]+", fact):
        digits = _digits(fact)
        if len(digits) >= 6:  # phone numbers and long numbers: compare the digit sequence only
            return digits in _digits(passage)
        # a bare number must occur as a whole number ("600" matches "600" and "6 00" style groups, not "1600")
        numbers = {_digits(m) for m in _NUMBER.findall(passage)} | set(re.findall(r"\d+", passage))
        if digits in numbers:
            return True
        # an hour ("kl. 8", "till 17") is a clock time of the passage at that hour ("08.00", "17.00")
        return (
            len(digits) <= 2
            and int(digits) <= 24
            and any(int(h) == int(digits) for h, _ in _TIME.findall(passage))
        )
    return " ".join(fold(fact).split()) in " ".join(fold(passage).split())  # a name may wrap across lines


def missing_facts(sentence: str, passage: str, *, also_known: Iterable[str] = ()) -> list[str]:
    """Facts of a sentence that its passage lacks; facts in also_known (e.g. the question) are allowed."""
    allowed = " ".join(also_known)
    return [
        f
        for f in claimed_facts(sentence)
        if not fact_in_passage(f, passage) and not fact_in_passage(f, allowed)
    ]
