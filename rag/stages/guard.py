"""Stage 1, guard: the resident's message made into a question the rest of the pipeline can work on.

Trims and limits it, detects its language, runs the rule-based guards (personal case decisions, prompt
injection, personal data, rag/guard.py), redacts personal data before anything else sees it, makes a
follow-up standalone, reads "ni"/"er"/"you" as the city and its kontaktcenter, and translates a question
in another language into Swedish.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.errors import InputError
from rag.guard import GuardVerdict, inspect_question
from rag.privacy import find_personal_data, redact
from rag.prompting import detect_language, say
from rag.text import content_terms, split_sentences
from rag.translation import Translator
from rag.types import Turn

log = logging.getLogger(__name__)

# A follow-up with at most this many topic words of its own borrows the topic of the question before it.
FOLLOW_UP_TERMS = 3
# The resident addressing the city: "har ni öppet", "hur når jag er", "your phone number".
_SECOND_PERSON = re.compile(r"\b(ni|er|era|ert|you|your)\b", re.IGNORECASE)
ADDRESSEE_SV = "Helsingborgs stad kontaktcenter"


@dataclass(frozen=True)
class Prepared:
    question: str  # as the resident wrote it, personal data redacted, cut to the length limit
    retrieval_query: str  # standalone and in Swedish, with the addressee named: what retrieval searches for
    focus: str  # the resident's own words of this turn, in Swedish (a follow-up without what it follows)
    gate_query: str | None  # what the relevance gate trusts when it is not retrieval_query
    language: str
    notices: list[str]
    guard: GuardVerdict
    follow_up: bool = False
    addressed: bool = False  # "ni"/"er"/"you": the resident addresses the city and its kontaktcenter
    standalone: str = ""  # retrieval_query without the named addressee: what the scorer and the LLM read

    def __post_init__(self) -> None:
        if not self.standalone:
            object.__setattr__(self, "standalone", self.retrieval_query)

    @property
    def refused_by_guard(self) -> str | None:
        if self.guard.injection:
            return "injection"
        if self.guard.personal_case:
            return "personal_case"
        return None


class GuardStage:
    """question + history -> Prepared. translator is called only for a question in another language."""

    def __init__(self, max_chars: int, translator: Callable[[], Translator]) -> None:
        if max_chars <= 0:
            raise ValueError(f"max_chars must be greater than 0, got {max_chars}")
        self.max_chars = max_chars
        self.translator = translator

    def run(self, question: object, history: Sequence[Turn] = ()) -> Prepared:
        if not isinstance(question, str):
            raise InputError(f"question must be text, got {type(question).__name__}")
        q = " ".join(question.split())
        if not q:
            raise InputError("the question is empty")
        language = detect_language(q)
        notices = []
        if len(q) > self.max_chars:
            q = q[: self.max_chars].rsplit(" ", 1)[0] or q[: self.max_chars]
            notices.append(say("truncated", language, n=self.max_chars))
        guard = inspect_question(q)
        topic = q
        if guard.personal_data:
            # Sentences carrying personal data are about the resident, not the topic: retrieval skips them.
            rest = [x for x in split_sentences(q) if not find_personal_data(x)]
            topic = " ".join(rest) if rest else redact(q)
            q = redact(q)  # nothing downstream (LLM, logs, stored answers) sees the resident's data
            notices.append(say("personal_data", language))
        previous = previous_question(topic, history)
        gate = None
        focus = topic
        if language != "sv" and not (guard.injection or guard.personal_case):
            translator = self.translator()
            focus, gate = translator.to_swedish(topic)
            if previous:
                previous = (
                    translator.to_swedish(previous)[0] if detect_language(previous) != "sv" else previous
                )
            log.info("in Swedish: %s (gate: %s)", focus[:300], gate[:200])
        standalone = f"{previous} {focus}" if previous else focus
        addressed = bool(_SECOND_PERSON.search(topic) or (previous and _SECOND_PERSON.search(previous)))
        query = f"{standalone} ({ADDRESSEE_SV})" if addressed else standalone
        return Prepared(
            q, query, focus, gate, language, notices, guard, bool(previous), addressed, standalone
        )


def previous_question(question: str, history: Sequence[Turn]) -> str:
    """The resident's previous question when this one is a short follow-up that leans on it ("Och på
    fredag då?"), else ""."""
    previous = [t.content for t in history if t.role == "user" and t.content.strip()]
    if not previous or len(content_terms(question)) > FOLLOW_UP_TERMS:
        return ""
    return " ".join(previous[-1].split())[-300:]
