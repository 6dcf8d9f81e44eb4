"""Repair of Swedish text whose å, ä and ö were lost in extraction ("malbild" for "målbild", "forra" for "förra").

Detection: a document is damaged when many of its words are unknown in Swedish (or far rarer than a spelling
with å/ä/ö) but become common words with å/ä/ö restored, and few of its words carry å/ä/ö at all.
Healthy Swedish prose has almost no such words; the damaged FAQ has one in five.

Repair, word by word: each a may have been å or ä, each o an ö (and an OCR'd é an ö or ä); the candidate
spellings are scored by their frequency in Swedish (wordfreq's large Swedish list), by the corpus's own
words (from the documents that are not damaged: "Helsingborgs", "kommunvägledare") and by simplemma's Swedish
dictionary of word forms. A word is changed only when a candidate is clearly more likely than the word as
written (ten times as frequent) and no second candidate comes close ("vagar": "vägar" or "vågar" - left as
it is); a compound the lists do not know is split into known parts ("invanarundersokning" ->
"invånar" + "undersökning"), unless it is already a compound of known words as written ("kontaktcenter").
A few common pairs are settled by the word before: "ar" is "år" after a number or "ett"/"i"/"varje" and
"är" otherwise; "forsta" is "förstå" after "att" or a modal verb and "första" otherwise. A capitalised word
inside a sentence is a name: it is changed only when the written form is unknown or far rarer. Words next to
English words are left alone ("SORRY FOR THE INCONVENIENCE"), and so are e-mail and web addresses.

Every change replaces one letter by one letter, so the repaired text has the length and the offsets of the
original: pages, passages and the original text for staff line up character by character.

Measured on copies of the other corpus documents with å/ä/ö stripped (scripts/eval_repair.py, docs/documents.md).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

log = logging.getLogger(__name__)

# a -> å/ä, o -> ö; é is how OCR often reads ö or ä ("Varfér", "méter")
ALTERNATIVES: dict[str, str] = {"a": "aåä", "o": "oö", "é": "éöä"}
_RESTORED = frozenset("åäö")
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"[^\W_]+")
_PROTECTED = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:se|com|nu|org|eu|net)\b",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:…]\s*[\"”“'(\[–—•-]*\s*|\n\s*[\"”“'(\[–—•-]*\s*)$")
_MAX_POSITIONS = 8  # restorable letters per word tried at once (3^8 spellings); longer words go by compound
MARGIN = 1.0  # Zipf units (a factor of ten) a restored spelling must beat the written one by
NAME_MARGIN = 2.0  # ... for a capitalised word inside a sentence (a name: "Drom" is not "Dröm")
KNOWN = 3.0  # Zipf from which a compound part counts as a known word
MIN_DAMAGE_SHARE = 0.05  # share of words that are damaged for the document to count as damaged
MAX_ACCENT_SHARE = 0.08  # ... and at most this share of its words may carry å/ä/ö (healthy prose: ~0.25)
MIN_DAMAGED_WORDS = 5


def _words(text: str) -> frozenset[str]:
    """A context word list in both spellings: the words around a damaged word are damaged too."""
    words = text.split()
    return frozenset(words) | frozenset(w.translate(str.maketrans("åäö", "aao")) for w in words)


# Context for the commonest ambiguous words.
_YEAR_BEFORE = _words(
    "ett i varje per fem sex sju åtta nio tio elva tolv två tre fyra många några flera hela samma detta "
    "nästa förra senaste första sista halvt om under"
)
_INFINITIVE_BEFORE = _words("att kan kunna ska skall vill måste behöver bör får kommer lätt svårt")
_SUBJECT_BEFORE = _words("jag du han hon vi ni de dom man det den")
# word -> (the restored reading, the words before it that call for that reading)
_BY_WORD_BEFORE: dict[str, tuple[str, frozenset[str]]] = {
    "satt": (
        "sätt",
        _words(
            "ett på nytt nya olika annat andra samma detta vilket bästa sitt vårt mitt eget "
            "rätt många flera något inget hållbart enkelt"
        ),
    ),
    "stod": (
        "stöd",
        _words(
            "ge ger gav få får fick till för med mer extra ekonomiskt bättre ett eget vårt "
            "söka söker ansöka behöver behov särskilt visst rätt socialt"
        ),
    ),
    "svart": (
        "svårt",
        _words("så mycket ganska väldigt för är var blir blev vara bli lite inte extra jättesvårt"),
    ),
}


class Lexicon(Protocol):
    def zipf(self, word: str) -> float:
        """Frequency of a lower-case word in Swedish on the Zipf scale (0 when unknown)."""
        ...

    def english_zipf(self, word: str) -> float: ...

    def is_form(self, word: str) -> bool:
        """Whether the word is a Swedish word form in a dictionary (rare forms the frequency list lacks)."""
        ...


class SwedishLexicon:
    """wordfreq's large Swedish and English lists and simplemma's Swedish dictionary, each loaded once, when
    first asked."""

    def __init__(self) -> None:
        self._sv: dict[str, float] | None = None
        self._en: dict[str, float] | None = None
        self._forms: object | None = None

    @staticmethod
    def _load(lang: str) -> dict[str, float]:
        from wordfreq import get_frequency_dict

        return {w: round(math.log10(f) + 9, 2) for w, f in get_frequency_dict(lang, wordlist="large").items()}

    def zipf(self, word: str) -> float:
        if self._sv is None:
            self._sv = self._load("sv")
        return self._sv.get(word, 0.0)

    def english_zipf(self, word: str) -> float:
        if self._en is None:
            self._en = self._load("en")
        return self._en.get(word, 0.0)

    def is_form(self, word: str) -> bool:
        if self._forms is None:
            from simplemma.strategies.dictionaries import DefaultDictionaryFactory

            self._forms = DefaultDictionaryFactory().get_dictionary("sv")
        return word in self._forms  # type: ignore[operator]


@lru_cache(maxsize=1)
def default_lexicon() -> SwedishLexicon:
    return SwedishLexicon()


def strip_accents(text: str) -> str:
    """å, ä -> a and ö -> o (what a bad extraction does): the damage the repair undoes, for measuring it."""
    return text.translate(str.maketrans("åäöÅÄÖ", "aaoAAO"))


def corpus_vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Lower-case word counts of healthy documents: the corpus's own spellings back the lexicon."""
    return Counter(w.lower() for t in texts for w in _WORD.findall(t))


@dataclass(frozen=True)
class Change:
    start: int
    before: str
    after: str


@dataclass(frozen=True)
class Repair:
    text: str
    changes: list[Change] = field(default_factory=list)

    def summary(self, limit: int = 8) -> str:
        """'målbild (12), förra (2), …' — the commonest restored words, for the ingest report."""
        counts = Counter(c.after.lower() for c in self.changes)
        return ", ".join(f"{w} ({n})" for w, n in counts.most_common(limit))


@dataclass(frozen=True)
class Damage:
    words: int
    damaged: int  # unknown (or far rarer) as written, common with å/ä/ö restored
    accented: int  # words that already carry å, ä or ö

    @property
    def share(self) -> float:
        return self.damaged / self.words if self.words else 0.0

    @property
    def is_damaged(self) -> bool:
        return (
            self.damaged >= MIN_DAMAGED_WORDS
            and self.share >= MIN_DAMAGE_SHARE
            and self.accented <= MAX_ACCENT_SHARE * self.words
        )


class AccentRepairer:
    """Finds and repairs text that lost its å, ä and ö. See the module docstring for the rules."""

    def __init__(self, vocabulary: Counter[str] | None = None, lexicon: Lexicon | None = None) -> None:
        self.vocabulary: Counter[str] = vocabulary if vocabulary is not None else Counter()
        self._lexicon = lexicon
        self._scores: dict[str, float] = {}
        self._best: dict[tuple[str, float], tuple[str, float]] = {}
        self._compounds: dict[str, tuple[str, float] | None] = {}

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

    # --- scoring ---------------------------------------------------------------------------------------

    def score(self, word: str) -> float:
        """How likely a lower-case spelling is in this corpus's Swedish, on the Zipf scale."""
        cached = self._scores.get(word)
        if cached is not None:
            return cached
        s = self.lexicon.zipf(word)
        count = self.vocabulary.get(word, 0)
        if count:
            s = max(s, 3.0 + min(2.0, math.log10(1 + count)))
        if s == 0.0 and len(word) > 3 and self.lexicon.is_form(word):
            s = 1.5
        self._scores[word] = s
        return s

    @staticmethod
    def spellings(word: str) -> list[str]:
        """Every spelling with some a/o/é restored (the word itself first); [] when too many to try."""
        positions = [i for i, c in enumerate(word) if c in ALTERNATIVES]
        if len(positions) > _MAX_POSITIONS:
            return []
        out = []
        for combo in itertools.product(*(ALTERNATIVES[word[i]] for i in positions)):
            letters = list(word)
            for i, c in zip(positions, combo, strict=True):
                letters[i] = c
            out.append("".join(letters))
        return out

    def best_spelling(self, word: str, margin: float = MARGIN) -> tuple[str, float]:
        """(the spelling to use, its score): a restored one only when it is clearly the likeliest."""
        key = (word, margin)
        if key in self._best:
            return self._best[key]
        own = self.score(word)
        ranked = sorted(((self.score(v), v) for v in self.spellings(word) if v != word), reverse=True)
        result = (word, own)
        if ranked:
            top, best = ranked[0]
            runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
            clear = not (runner_up >= KNOWN and top - runner_up < 0.5)  # "vägar" or "vågar": leave it
            if clear and top >= own + margin and top >= 1.0:
                result = (best, top)
        self._best[key] = result
        return result

    def _known_piece(self, piece: str, *, head: bool) -> tuple[str, float] | None:
        """The restored spelling of a compound part and its score, when it is a known word. A first part may
        carry a linking s or e ("stads-", "tjänste-") or have dropped its final vowel ("invånar-", "skol-")."""
        if len(piece) < 4:
            return None
        spelled, s = self.best_spelling(piece)
        if s >= KNOWN:
            return spelled, s
        if not head:
            return None
        if piece.endswith(("s", "e")) and len(piece) > 4:
            spelled, s = self.best_spelling(piece[:-1])
            if s >= KNOWN:
                return spelled + piece[-1], s
        for vowel in ("e", "a"):
            spelled, s = self.best_spelling(piece + vowel)
            if s >= KNOWN:
                return spelled[:-1], s
        return None

    def _is_plain_compound(self, word: str, depth: int = 0) -> bool:
        for i in range(3, len(word) - 2):
            head, tail = word[:i], word[i:]
            head_ok = self.score(head) >= KNOWN or (
                head.endswith(("s", "e")) and len(head) > 4 and self.score(head[:-1]) >= KNOWN
            )
            if not head_ok:
                continue
            if (len(tail) >= 4 and self.score(tail) >= KNOWN) or (
                depth == 0 and len(tail) >= 7 and self._is_plain_compound(tail, 1)
            ):
                return True
        return False

    def compound(self, word: str, depth: int = 0) -> tuple[str, float] | None:
        """A spelling of an unknown word as known parts with å/ä/ö restored, the weakest part's score."""
        if depth == 0:
            if word in self._compounds:
                return self._compounds[word]
            if self._is_plain_compound(word):
                self._compounds[word] = None
                return None
        best: tuple[str, float] | None = None
        for i in range(3, len(word) - 2):
            head = self._known_piece(word[:i], head=True)
            if head is None:
                continue
            tail_word = word[i:]
            tail = self._known_piece(tail_word, head=False) if len(tail_word) >= 4 else None
            if tail is None and depth == 0 and len(tail_word) >= 7:
                tail = self.compound(tail_word, 1)
            if tail is None:
                continue
            candidate = (head[0] + tail[0], min(head[1], tail[1]))
            if best is None or candidate[1] > best[1]:
                best = candidate
        if depth == 0:
            self._compounds[word] = best
        return best

    def _english(self, word: str | None) -> bool:
        if word is None:
            return False
        lw = word.lower()
        en = self.lexicon.english_zipf(lw)
        return en >= 4.0 and en > max((self.score(v) for v in self.spellings(lw) or [lw]), default=0.0) + 1.0

    # --- words and documents ---------------------------------------------------------------------------

    def restore(
        self, word: str, prev: str | None = None, nxt: str | None = None, *, sentence_start: bool = True
    ) -> str:
        """The word with å/ä/ö restored where that is clearly right, in the word's own capitalisation."""
        lw = word.lower()
        if not any(c in ALTERNATIVES for c in lw) or any(c in _RESTORED for c in lw) or len(lw) < 2:
            return word
        own = self.score(lw)
        if own > 0 and (self._english(prev) or self._english(nxt)):
            return word
        name = word[0].isupper() and not sentence_start and not word.isupper()
        before = prev.lower() if prev and not sentence_start else ""
        if lw == "ar":
            year_after = bool(nxt and re.fullmatch(r"(19|20)\d\d", nxt))
            year_before = (before.isdigit() and int(before) < 200) or before in _YEAR_BEFORE
            best = "år" if year_before or year_after else "är"
        elif lw in _BY_WORD_BEFORE and before in _BY_WORD_BEFORE[lw][1]:
            best = _BY_WORD_BEFORE[lw][0]
        elif lw == "forsta":
            best = "förstå" if before in _INFINITIVE_BEFORE else "första"
        elif lw == "sa" and before in _SUBJECT_BEFORE:
            return word  # "det sa vi": the past tense of säga
        else:
            best, s = self.best_spelling(lw, NAME_MARGIN if name and own > 0 else MARGIN)
            if name and own > 0 and s < 3.5:
                return word
            if best == lw and own == 0.0 and len(lw) >= 7 and not self.lexicon.is_form(lw):
                found = self.compound(lw)
                if found is not None:
                    best = found[0]
            if best == lw:
                return word
        if len(best) != len(word):
            return word
        if word.isupper() and len(word) > 1:
            return best.upper()
        return "".join(b.upper() if w.isupper() else b for w, b in zip(word, best, strict=True))

    def damage(self, text: str) -> Damage:
        words = damaged = accented = 0
        for w in _WORD.findall(_PROTECTED.sub(" ", text)):
            lw = w.lower()
            if len(lw) < 2:
                continue
            words += 1
            if any(c in _RESTORED for c in lw):
                accented += 1
                continue
            if not any(c in ALTERNATIVES for c in lw) or len(self.spellings(lw)) < 2:
                continue
            own = self.score(lw)
            best = max(self.score(v) for v in self.spellings(lw) if v != lw)
            if best >= KNOWN and best >= own + 2.0:
                damaged += 1
        return Damage(words, damaged, accented)

    def repair(self, text: str) -> Repair:
        """text with å/ä/ö restored word by word (same length), and the changes made."""
        protected = [m.span() for m in _PROTECTED.finditer(text)]
        tokens = list(_TOKEN.finditer(text))
        out: list[str] = []
        changes: list[Change] = []
        last = 0
        for k, m in enumerate(tokens):
            word = m.group(0)
            if not _WORD.fullmatch(word) or any(a <= m.start() < b for a, b in protected):
                continue
            prev = tokens[k - 1].group(0) if k else None
            nxt = tokens[k + 1].group(0) if k + 1 < len(tokens) else None
            gap = text[tokens[k - 1].end() : m.start()] if k else ""
            start = k == 0 or bool(_SENTENCE_START.search(gap)) or "\n\n" in gap
            fixed = self.restore(word, prev, nxt, sentence_start=start)
            if fixed != word:
                out.append(text[last : m.start()])
                out.append(fixed)
                last = m.end()
                changes.append(Change(m.start(), word, fixed))
        out.append(text[last:])
        return Repair("".join(out), changes)


@dataclass(frozen=True)
class RepairFigures:
    """Word-level figures on text whose damage is known: precision of the changes made and recall of the
    damaged words restored exactly."""

    damaged_words: int
    changed_words: int
    correct_changes: int
    errors: list[tuple[str, str, str]]  # (written, changed to, truth)
    missed: list[tuple[str, str]]  # (written, truth)

    @property
    def precision(self) -> float:
        return self.correct_changes / self.changed_words if self.changed_words else 1.0

    @property
    def recall(self) -> float:
        return self.correct_changes / self.damaged_words if self.damaged_words else 1.0


def measure(truth: str, repairer: AccentRepairer) -> RepairFigures:
    """Strip å/ä/ö from truth, repair it, and compare word by word."""
    damaged_text = strip_accents(truth)
    repaired = repairer.repair(damaged_text).text
    damaged = changed = correct = 0
    errors: list[tuple[str, str, str]] = []
    missed: list[tuple[str, str]] = []
    for t, d, r in zip(
        _WORD.findall(truth), _WORD.findall(damaged_text), _WORD.findall(repaired), strict=True
    ):
        if t != d:
            damaged += 1
        if r != d:
            changed += 1
            if r == t:
                correct += 1
            else:
                errors.append((d, r, t))
        if t != d and r != t:
            missed.append((d, t))
    return RepairFigures(damaged, changed, correct, errors, missed)


def restored_words(original: str, repaired: str) -> Counter[tuple[str, str]]:
    """(as extracted, as restored) word pairs the repair made, counted: the texts have the same length."""
    counts: Counter[tuple[str, str]] = Counter()
    for m in _WORD.finditer(repaired):
        before = original[m.start() : m.end()]
        if before != m.group(0):
            counts[(before.lower(), m.group(0).lower())] += 1
    return counts


def repair_note(original: str, repaired: str, limit: int = 8) -> str:
    counts: Counter[str] = Counter()
    for (_, after), n in restored_words(original, repaired).items():
        counts[after] += n
    common = ", ".join(f"{w} ({n})" for w, n in counts.most_common(limit))
    return f"å/ä/ö were lost in extraction and restored in {sum(counts.values())} words: {common}"
