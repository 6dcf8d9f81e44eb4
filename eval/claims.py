"""Claims written by nobody: correct claims taken from a corpus's own units, and corrupted ones made by moving
a fact from one unit of a passage to another (rag/binding.py must flag them, and keep the correct ones).

From every passage (a chunk, as the answer pipeline sees it) and every unit in it (rag/units.py):

* correct: the unit itself (``copy``); and paraphrases the checker must accept — a clock time written
  "kl. 18" for "18.00" (``clock``), the parts of the sentence in another order (``order``), a word in
  another inflected form the corpus uses (``inflect``), the unit without its last clause (``shorten``);
  a contact block or byline said as a sentence ("Micco Grönholm är Head of Future …", ``person``).
* corrupted: a value exchanged with another unit's value of the same type (``swap:time`` — times between
  days; ``swap:number``, ``swap:year``, ``swap:email``, ``swap:phone``), a person given another's title
  (``swap:title``), two counts exchanged between the nouns they count in one unit (``swap:count``), a
  range or from–to reversed (``reversed``), "före" for "efter" and the like (``swap:before-after``), and
  for SweQUAD-MC the sentence holding the gold answer with a distractor span in its place
  (``distractor``, written by the dataset's authors).

A corrupted claim is kept only when it differs from every unit of its passage; each claim belongs to half
"A" or "B" of the passages (by a hash of the passage id): thresholds are chosen on A and reported on B.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.attribution import SupportChecker
from rag.chunking import Chunker
from rag.text import (
    _TIME,
    content_terms,
    extract_facts,
    fact_in_passage,
    fold,
    quoted_phrases,
    stem,
    without_quotes,
)
from rag.types import Chunk, Document
from rag.units import Unit, fact_type, source_units

_SWAPPABLE = ("time", "number", "year", "email", "phone")
_OPPOSITES = {
    "före": "efter",
    "efter": "före",
    "innan": "efter",
    "minst": "högst",
    "högst": "minst",
    "tidigare": "senare",
    "senare": "tidigare",
}
_RANGE = re.compile(r"(\d{1,2}[.:]\d{2}|\d{1,4})(\s*[-–—]\s*|\s+till\s+)(\d{1,2}[.:]\d{2}|\d{1,4})")
_COUNT = re.compile(r"\b(\d+(?:-\d+)?)\s+([a-zåäöé]{3,})", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-zÅÄÖåäöÉé]{4,}")
_URL_OR_EMAIL = re.compile(r"\S+@\S+|(?:https?://|www\.)\S+")


@dataclass(frozen=True)
class Claim:
    text: str
    passage: Chunk
    correct: bool
    kind: str  # "copy", "clock", … "swap:time", … (module docstring)
    unit: str  # the unit it was made from
    half: str  # "A" or "B"


def half_of(chunk_id: str) -> str:
    return "A" if hashlib.sha256(chunk_id.encode()).digest()[0] % 2 == 0 else "B"


def chunk_documents(documents: Iterable[Document]) -> list[Chunk]:
    chunker = Chunker()
    return [c for d in documents for c in chunker.split(d)]


def generate(passages: Sequence[Chunk]) -> list[Claim]:
    """Correct and corrupted claims from every passage's units."""
    forms = _inflections(passages)
    claims: list[Claim] = []
    for passage in passages:
        units = [u for u in source_units(passage.text, passage.title) if 12 <= len(u.text) <= 300]
        truths = {_squash(u.text) for u in source_units(passage.text, passage.title)}
        half = half_of(passage.chunk_id)

        for unit in units:
            if unit.kind == "heading" or not content_terms(unit.text):
                continue  # a heading states nothing; a sentence without topic words is never supported
            made = [(k, t, True) for k, t in _paraphrases(unit, forms)]
            made += [(k, t, False) for k, t in _corruptions(unit, units)]
            claims.extend(
                Claim(text, passage, correct, kind, unit.text, half)
                for kind, text, correct in made
                if correct or _squash(text) not in truths
            )
    return claims


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def _inflections(passages: Sequence[Chunk]) -> dict[str, list[str]]:
    """Stem -> the corpus's word forms of it, most frequent first."""
    counts: Counter[str] = Counter(w for p in passages for w in _WORD.findall(p.text))
    forms: dict[str, list[str]] = defaultdict(list)
    for word, _ in counts.most_common():
        forms[stem(word.lower())].append(word)
    return forms


def _replace_fact(text: str, fact: str, other: str) -> str:
    """text with its fact (a whole token: "1" in "C1" is none) replaced by other."""
    return re.sub(rf"(?<![\w.:@/-]){re.escape(fact)}(?![\w@/]|[.:]\d)", lambda _: other, text, count=1)


def _person(unit: Unit) -> tuple[str, str] | None:
    """(name, title) of a contact block or byline: "Micco Grönholm, Head of Future, Helsingborgs stad"."""
    if unit.kind not in ("contact", "cell"):
        return None
    parts = [p.strip() for p in unit.text.split(",")]
    if len(parts) < 2 or not re.fullmatch(r"[A-ZÅÄÖ][\w-]+(?: [A-ZÅÄÖ][\w.-]*){1,3}", parts[0]):
        return None
    title = parts[1]
    if "@" in title or not title:
        return None
    return parts[0], title


def _paraphrases(unit: Unit, forms: dict[str, list[str]]) -> list[tuple[str, str]]:
    text = unit.text
    out = [("copy", text)]
    person = _person(unit)
    if person:
        out.append(("person", f"{person[0]} är {person[1]}."))
    clock = _TIME.search(text)
    if clock and clock.group(2) == "00":
        out.append(("clock", text[: clock.start()] + f"kl. {int(clock.group(1))}" + text[clock.end() :]))
    if unit.kind == "label":
        label, value = text.split(":", 1)
        out.append(("order", f"{value.strip().rstrip('.')} gäller för {label.strip().lower()}."))
    elif "," in text and unit.kind == "sentence":
        head, tail = text.rstrip(".!?").split(",", 1)
        if len(head) > 8 and len(tail) > 8:
            out.append(
                ("order", f"{tail.strip()[:1].upper()}{tail.strip()[1:]}, {head[:1].lower()}{head[1:]}.")
            )
            out.append(("shorten", head.strip() + "."))
    plain = without_quotes(
        _URL_OR_EMAIL.sub(" ", text)
    )  # a quoted title is the source's own words, in no other form
    for word in _WORD.findall(plain):
        root = stem(word.lower())
        # another form of the same word: the same beginning, not a look-alike once å/ä/ö are folded
        other = [
            f for f in forms.get(root, []) if f.lower() != word.lower() and f.lower()[:4] == word.lower()[:4]
        ]
        if other and not word[0].isupper():
            out.append(("inflect", re.sub(rf"\b{re.escape(word)}\b", other[0].lower(), text, count=1)))
            break
    return out


def _corruptions(unit: Unit, units: Sequence[Unit]) -> list[tuple[str, str]]:
    text = unit.text
    out: list[tuple[str, str]] = []
    own = extract_facts(text)
    for fact in own:
        kind = fact_type(fact)
        if kind not in _SWAPPABLE or fact not in text:
            continue
        for other in units:
            if other is unit:
                continue
            theirs = [
                g
                for g in extract_facts(other.text)
                if fact_type(g) == kind and not fact_in_passage(g, text) and not fact_in_passage(fact, g)
            ]
            if theirs:
                swapped = _replace_fact(text, fact, theirs[0])
                if swapped != text:
                    out.append((f"swap:{kind}", swapped))
                break
    own_quotes = quoted_phrases(text)
    if own_quotes:
        theirs = [q for other in units if other is not unit for q in quoted_phrases(other.text)]
        other_phrase = next((q for q in theirs if fold(q) not in fold(text)), None)
        if other_phrase:
            out.append(("swap:quote", text.replace(own_quotes[0], other_phrase, 1)))
    person = _person(unit)
    if person:
        for other in units:
            someone = _person(other) if other is not unit else None
            if someone and fold(someone[1]) != fold(person[1]) and fold(someone[0]) != fold(person[0]):
                out.append(("swap:title", f"{person[0]} är {someone[1]}."))
                break
    counts = [(n, w) for n, w in _COUNT.findall(text) if not re.fullmatch(r"(1[89]|20)\d\d", n)]
    if len(counts) >= 2 and counts[0][0] != counts[1][0]:
        (a, noun_a), (b, noun_b) = counts[0], counts[1]
        if fold(noun_a) != fold(noun_b):
            swapped = text.replace(f"{a} {noun_a}", "\0", 1).replace(f"{b} {noun_b}", f"{a} {noun_b}", 1)
            out.append(("swap:count", swapped.replace("\0", f"{b} {noun_a}", 1)))
    m = _RANGE.search(text)
    if m and m.group(1) != m.group(3):
        out.append(("reversed", text[: m.start()] + m.group(3) + m.group(2) + m.group(1) + text[m.end() :]))
    for word, opposite in _OPPOSITES.items():
        w = re.search(rf"\b{word}\b", text, re.IGNORECASE)
        if w:
            out.append(("swap:before-after", text[: w.start()] + opposite + text[w.end() :]))
            break
    return out


def distractor_claims(rows: Sequence[dict[str, object]], passages: Sequence[Chunk]) -> list[Claim]:
    """SweQUAD-MC: the passage sentence holding a question's correct answer, with each distractor span
    written in its place (corrupted), and as it is (correct)."""
    out: list[Claim] = []
    by_context: dict[str, list[Chunk]] = defaultdict(list)
    for p in passages:
        by_context[p.doc_id].append(p)
    for row in rows:
        doc_id, correct, distractors = row["doc_id"], row["correct"], row["distractors"]
        assert isinstance(doc_id, str) and isinstance(correct, str) and isinstance(distractors, list)
        for passage in by_context.get(doc_id, []):
            unit = next((u for u in source_units(passage.text, passage.title) if correct in u.text), None)
            if unit is None or len(unit.text) > 300:
                continue
            half = half_of(passage.chunk_id)
            out.append(Claim(unit.text, passage, True, "copy", unit.text, half))
            for d in distractors:
                if isinstance(d, str) and d and fold(d) not in fold(unit.text):
                    out.append(
                        Claim(unit.text.replace(correct, d, 1), passage, False, "distractor", unit.text, half)
                    )
            break
    return out


@dataclass(frozen=True)
class ClaimScore:
    kind: str
    correct: bool
    n: int
    right: int  # kept (correct claims) or flagged (corrupted ones)

    @property
    def rate(self) -> float:
        return self.right / self.n if self.n else 0.0


def score(claims: Sequence[Claim], checker: SupportChecker) -> list[ClaimScore]:
    """Per kind: how many correct claims are kept and corrupted ones flagged."""
    tally: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for claim in claims:
        supported = checker.check(claim.text, [claim.passage]).check.supported
        t = tally[(claim.kind, claim.correct)]
        t[0] += 1
        t[1] += int(supported == claim.correct)
    return [
        ClaimScore(k, c, n, r)
        for (k, c), (n, r) in sorted(tally.items(), key=lambda kv: (not kv[0][1], kv[0][0]))
    ]


def render(rows_by_corpus: dict[str, list[ClaimScore]]) -> str:
    lines = ["| corpus | claims | kind | n | kept / flagged |", "|---|---|---|---|---|"]
    for corpus, rows in rows_by_corpus.items():
        for r in rows:
            what = "correct (kept)" if r.correct else "corrupted (flagged)"
            lines.append(f"| {corpus} | {what} | {r.kind} | {r.n} | {r.rate:.1%} ({r.right}) |")
        for correct in (True, False):
            sel = [r for r in rows if r.correct == correct and r.kind != "distractor"]
            n, right = sum(r.n for r in sel), sum(r.right for r in sel)
            what = "**all correct (kept)**" if correct else "**all swaps (flagged)**"
            if n:
                lines.append(f"| {corpus} | {what} | | {n} | **{right / n:.1%}** ({right}) |")
    return "\n".join(lines)


def load_city(corpus_dir: Path) -> list[Chunk]:
    from rag.loaders import list_corpus_files, load_document, load_metadata

    meta = load_metadata(corpus_dir)
    return chunk_documents(load_document(p, corpus_dir, meta) for p in list_corpus_files(corpus_dir))


def load_swequad_dev(path: Path) -> tuple[list[Chunk], list[dict[str, object]]]:
    """SweQUAD-MC contexts as chunks, and per question its context's doc id, correct span and distractors."""
    import json

    from eval.benchmarks import context_name
    from rag.text import normalize_text

    rows = json.loads(path.read_text(encoding="utf-8"))["data"]
    contexts: dict[str, int] = {}
    docs: list[Document] = []
    spans: list[dict[str, object]] = []
    for row in rows:
        ctx = row["context"]
        if ctx not in contexts:
            contexts[ctx] = len(contexts)
            name = context_name(contexts[ctx])
            text = normalize_text(ctx)
            docs.append(Document(name[:-4], name, text.split("\n", 1)[0][:120], text, ""))
        correct = [c["text"] for c in row["choices"] if c.get("type") == "Correct answer"]
        wrong = [c["text"] for c in row["choices"] if c.get("type") == "Distractor"]
        if correct:
            spans.append(
                {
                    "doc_id": context_name(contexts[ctx])[:-4],
                    "correct": normalize_text(correct[0]),
                    "distractors": [normalize_text(w) for w in wrong],
                }
            )
    return chunk_documents(docs), spans
