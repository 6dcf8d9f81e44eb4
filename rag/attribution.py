"""Citations attributed in code: each answer sentence is checked against the passages it could come from.

A sentence is *supported* by a passage when (1) enough of its topic words occur in the passage,
(2) every fact in it (number, date, time, phone number, e-mail, web address, proper name) occurs in
the passage and (3) a negation in it ("inte", "ingen", "aldrig") has one in the passage sentence that
shares the most of its words: negations are stop words, so without (3) "Du får inte X" passes on
"Du får X"; likewise (4) a word of a contrasting pair ("nya"/"gamla", "öppet"/"stängt", "fler"/"färre")
is not the opposite of what that passage sentence says: "Stadens gamla målbild var en grund …" does not
pass on "Stadens nya målbild är en gemensam grund …". The same checker serves the answer pipeline, the
staff's "check an answer" tool and the evaluation's citation-support metric, so all three agree by
construction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.binding import Binding, bind
from rag.text import content_terms, fold, missing_facts, split_sentences
from rag.types import Chunk, SentenceCheck

_NEGATION = re.compile(
    r"\b(inte|ej|icke|ingen|inget|inga|aldrig|varken|not|never|nothing|neither)\b", re.IGNORECASE
)


def unbacked_negation(sentence: str, passage: str) -> str | None:
    """The first negation word of a sentence that the passage does not back: backed when its clause is
    written word for word in the passage (a quotation), or when one of the passage sentences sharing the
    most of the clause's topic words negates too (a negation elsewhere is about something else)."""
    said = _squash(passage)
    for part in split_sentences(sentence):
        m = _NEGATION.search(part)
        if m is None or _squash(part) in said:
            continue
        terms = content_terms(part) or content_terms(sentence)
        if not any(_NEGATION.search(s) for s in _closest_sentences(terms, passage)):
            return m.group(0)
    return None


def _closest_sentences(terms: set[str], passage: str) -> list[str]:
    """The passage sentences sharing the most of the given topic terms (none when none shares any)."""
    shared = [(len(terms & content_terms(s)), s) for s in split_sentences(passage)]
    most = max((n for n, _ in shared), default=0)
    return [s for n, s in shared if n == most and n > 0]


# Words that say the opposite of each other, as folded word forms. A small model swaps them while copying a
# sentence, and word overlap cannot see it (most are stop words or one of many shared words).
_CONTRASTS: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split()))
    for a, b in (
        ("ny nya nytt nyare nyaste", "gammal gamla gammalt aldre forra"),
        ("oppen oppet oppna oppnar", "stangd stangt stangda stanger"),
        ("fler flest", "farre farst"),
        ("oka okar okad okade okat okning", "minska minskar minskad minskade minskat minskning"),
        ("hogre hogst", "lagre lagst"),
        ("forsta", "sista"),
        ("fore innan", "efter"),
        ("tidigare", "senare"),
        ("minst", "hogst max maximalt"),
        ("borjan", "slutet"),
        ("new newer", "old older former previous"),
        ("open opens", "closed closes"),
        ("more most", "fewer less least"),
        ("before earlier", "after later"),
    )
)


def unbacked_contrast(sentence: str, passage: str) -> str | None:
    """The first word of a contrasting pair ("gamla") that the passage sentences sharing the most of the
    sentence's topic words do not use, while one of them uses its opposite ("nya"), or None."""
    words = set(re.findall(r"\w+", fold(sentence)))
    pairs = [
        (w, x, y) for a, b in _CONTRASTS for x, y in ((a, b), (b, a)) for w in words & x if not words & y
    ]
    if not pairs:
        return None
    # Line breaks are joined: a PDF's lines break a sentence ("Stadens nya malbild" / "ar en gemensam grund").
    closest = [
        set(re.findall(r"\w+", fold(s)))
        for s in _closest_sentences(content_terms(sentence), " ".join(passage.split()))
    ]
    for word, same, opposite in pairs:
        if closest and not any(c & same for c in closest) and any(c & opposite for c in closest):
            return word
    return None


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


@dataclass(frozen=True)
class Attribution:
    check: SentenceCheck
    passage_index: int | None  # index into the passages given, or None when unsupported


class SupportChecker:
    """bind_units=False is the older check (facts anywhere in the passage), kept to measure against."""

    def __init__(self, threshold: float = 0.5, *, bind_units: bool = True) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.bind_units = bind_units

    def overlap(self, sentence: str, passage: str) -> float:
        terms = content_terms(sentence)
        if not terms:
            return 0.0
        return len(terms & content_terms(passage)) / len(terms)

    def check(self, sentence: str, passages: Sequence[Chunk], *, question: str = "") -> Attribution:
        """The best-supporting passage for one sentence, and whether that support is enough."""
        terms = content_terms(sentence)
        if not terms:
            return Attribution(
                SentenceCheck(sentence, False, 0.0, None, [], "no content words to check"), None
            )
        if not passages:
            return Attribution(
                SentenceCheck(sentence, False, 0.0, None, [], "no passages to check against"), None
            )
        if question and not terms - content_terms(question):
            # 'Nej, det är inte offentligt.' only restates the question's words: nothing in it can be
            # checked against a passage, so it is no evidence of anything.
            return Attribution(
                SentenceCheck(sentence, False, 0.0, None, [], "it only repeats the question's words"), None
            )
        best: tuple[tuple[bool, bool, float, int], list[str], Binding | None] | None = None
        for i, p in enumerate(passages):
            text = p.titled_text
            ov = len(terms & content_terms(text)) / len(terms)
            missing = missing_facts(sentence, text, also_known=[question])
            binding = bind(sentence, p.text, p.title) if not missing and self.bind_units else None
            key = (not missing, binding is None or binding.ok, ov, -i)
            if best is None or key > best[0]:
                best = (key, missing, binding)
        assert best is not None
        (facts_ok, bound_ok, ov, neg_idx), best_missing, binding = best
        idx = -neg_idx
        supported = facts_ok and bound_ok and ov >= self.threshold
        negation = unbacked_negation(sentence, passages[idx].titled_text) if supported else None
        contrast = unbacked_contrast(sentence, passages[idx].titled_text) if supported else None
        if negation:
            supported = False
            reason = f"it says '{negation}' but the passage negates nothing there"
        elif contrast:
            supported = False
            reason = f"it says '{contrast}' where the passage says the opposite"
        elif supported:
            reason = "supported"
        elif not facts_ok:
            reason = "facts missing from the passage: " + ", ".join(best_missing)
        elif binding is not None and binding.problem:
            reason = "its facts belong to another subject: " + binding.problem
        else:
            reason = f"only {ov:.0%} of its words occur in the best passage"
        check = SentenceCheck(
            text=sentence,
            supported=supported,
            support=round(ov, 4),
            chunk_id=passages[idx].chunk_id if passages else None,
            missing_facts=best_missing,
            reason=reason,
            unit=binding.unit if binding else None,
            bound=list(binding.bound) if binding else [],
        )
        return Attribution(check, idx if supported else None)

    def check_answer(
        self, answer: str, passages: Sequence[Chunk], *, question: str = ""
    ) -> list[Attribution]:
        return [self.check(s, passages, question=question) for s in split_sentences(strip_markers(answer))]


def strip_markers(text: str) -> str:
    """Remove [n] markers a model or a drafter wrote; citations are attributed again in code."""
    return re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", text)
