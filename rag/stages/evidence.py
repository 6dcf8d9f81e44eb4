"""Stage 7, select evidence: what is shown — the verified sentences the LLM wrote, a quote of the source unit
that answers, or, when neither answers, a refusal with the hand-off.

One decision over calibrated probabilities instead of hand-ordered rules: the answer-sentence scorer
gives each verified written sentence, and each unit of the retrieved passages, the probability that it
answers the question (rag/scorer.py).

* A written sentence that answers (p ≥ ``answer``) is shown as it is, with any other verified ones.
* The best unit is quoted beside them when no written sentence answers, or when it is clearly more likely
  to answer than all of them (by ``margin``) and says something they do not — the 1.5B model often
  writes a true sentence beside the point.
* With nothing that answers (no written sentence, no unit with p ≥ ``quote``) the assistant hands off:
  an answer shown without its key fact is the failure that hurts residents most.

The three thresholds are chosen on the resident `tune` split (eval/tune_decision.py); this module is a pure
function of its inputs so that the choice can be replayed on a stored run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.text import content_terms, extract_facts, fact_in_passage

PARAMS = Path(__file__).resolve().parent.parent / "params" / "decision.json"
DONT_KNOW = re.compile(r"\b(det vet jag inte|vet inte|framgår inte|i don'?t know|not in the sources)\b", re.I)


@dataclass(frozen=True)
class DecisionSettings:
    answer: float = 0.35  # a written sentence with at least this probability answers the question
    quote: float = 0.35  # the best unit is quoted only with at least this probability
    margin: float = 0.25  # … and beside an answering written sentence only when this much more likely
    quote_unknown: float = 0.5  # the quote threshold when the LLM said it does not know, or made facts up

    def __post_init__(self) -> None:
        for name in ("answer", "quote", "margin", "quote_unknown"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    @classmethod
    def load(cls, path: Path = PARAMS) -> DecisionSettings:
        import json

        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            **{k: float(v) for k, v in data.items() if k in ("answer", "quote", "margin", "quote_unknown")}
        )


@dataclass(frozen=True)
class Option:
    """A sentence that could be shown: written by the LLM (and verified) or a unit of a passage."""

    text: str
    probability: float
    written: bool
    ref: int = -1  # the caller's index for it (a kept sentence's position, or a candidate's)


@dataclass(frozen=True)
class Decision:
    show: list[Option] = field(default_factory=list)  # written sentences, in the order written
    quote: Option | None = None
    refuse: bool = False
    why: str = ""


def written_evidence(unit: float | None, own: Callable[[], float]) -> float:
    """A verified sentence says what the unit it is bound to says: that unit's probability of answering is its
    evidence (the 1.5B model's own wording scores worse: "042-10 50 00"); its own score, asked for only then
    (a feature pass over every candidate), when it binds to none."""
    return own() if unit is None else unit


def said_unknown(raw: str, anything_verified: bool, invented: bool) -> bool:
    """The model found no answer in what it read: nothing it wrote was verified, and it said so or made facts up."""
    return not anything_verified and (bool(DONT_KNOW.search(raw)) or invented)


def decide(
    written: Sequence[Option], best: Option | None, settings: DecisionSettings, *, unknown: bool = False
) -> Decision:
    """What to show, from the verified written sentences and the best-scored unit. After the model said it
    does not know (``unknown``) a quote must reach ``quote_unknown`` too."""
    if unknown:
        settings = replace(settings, quote=max(settings.quote, settings.quote_unknown))
    top_written = max((w.probability for w in written), default=0.0)
    answers = bool(written) and top_written >= settings.answer
    quotable = best is not None and best.probability >= settings.quote and not _already_said(best, written)
    if answers:
        if quotable and best is not None and best.probability - top_written >= settings.margin:
            return Decision(list(written), best, why="the best unit is clearly more likely to answer")
        return Decision(list(written), why="a written sentence answers")
    if quotable:
        return Decision(list(written), best, why="no written sentence answers; the best unit does")
    return Decision(refuse=True, why="nothing written or found answers the question")


def _already_said(unit: Option, written: Sequence[Option]) -> bool:
    """Whether the written sentences already say what the unit says: its facts and most of its words."""
    if not written:
        return False
    said = " ".join(w.text for w in written)
    if any(unit.text == w.text for w in written):
        return True
    facts = extract_facts(unit.text)
    if facts and not all(fact_in_passage(f, said) for f in facts):
        return False
    terms = content_terms(unit.text)
    return not terms or len(terms & content_terms(said)) >= 0.6 * len(terms)
