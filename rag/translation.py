"""Questions in other languages: translated to Swedish for retrieval and the answer, and the verified
Swedish answer translated back sentence by sentence.

Answering in Swedish first keeps one verification path (Swedish sentence against Swedish passage) for
every language. A translation back is accepted only when it carries exactly the facts of the verified
Swedish sentence (numbers, times, phone numbers, names); otherwise the Swedish sentence is shown.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

from rag.errors import GenerationUnavailableError
from rag.generation.base import Generator, Message
from rag.text import extract_facts, fact_in_passage

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": ("engelska", "English")}

# One fixed system prompt for both directions, so the translating LLM context keeps it cached (llama.cpp
# reuses only the common prefix of the last prompt); the direction goes in the user message.
SYSTEM = (
    "You translate short texts for the City of Helsingborg between Swedish and English. Reply with the "
    "translation only. Keep numbers, times, names and [n] markers exactly."
)
_TO_SWEDISH = "Translate the question into Swedish: {text}"

# Municipal words the small model translates badly ("opening hours" -> "vårsta timmar"). Added to the
# model's translation so the lexical channel and the relevance gate see the words the documents use.
GLOSSARY_EN_SV = {
    "opening hours": "öppettider",
    "open": "öppet",
    "closed": "stängt",
    "phone number": "telefonnummer",
    "phone": "telefon",
    "call": "ringa telefon",
    "telephone": "telefon",
    "e-mail": "e-post",
    "email": "e-post",
    "address": "adress",
    "visit": "besök",
    "chat": "chatta",
    "contact centre": "kontaktcenter",
    "contact center": "kontaktcenter",
    "customer service": "kontaktcenter",
    "municipality": "kommun",
    "city hall": "stadshus",
    "city director": "stadsdirektör",
    "city manager": "stadsdirektör",
    "mayor": "kommunstyrelsens ordförande",
    "vision": "vision",
    "goal": "målbild mål",
    "goals": "målbild mål",
    "target": "målbild mål",
    "climate neutral": "klimatneutral",
    "climate": "klimat",
    "green": "grön",
    "social": "social",
    "technological": "teknologisk",
    "transformation": "transformation",
    "innovation": "innovation",
    "quality of life": "livskvalitet",
    "welfare": "välfärd",
    "social services": "socialförvaltningen",
    "social welfare": "socialförvaltningen",
    "homeless": "hemlösa",
    "foster": "familjehem",
    "school": "skola",
    "preschool": "förskola",
    "building permit": "bygglov",
    "parking": "parkering",
    "garbage": "sophämtning",
    "waste": "sophämtning avfall",
    "recycling": "återvinning",
    "bus": "buss",
    "library": "bibliotek",
    "swimming": "simhall bad",
    "elderly care": "äldreomsorg",
    "financial aid": "ekonomiskt bistånd försörjningsstöd",
    "income support": "försörjningsstöd",
    "monday": "måndag",
    "tuesday": "tisdag",
    "wednesday": "onsdag",
    "thursday": "torsdag",
    "friday": "fredag",
    "saturday": "lördag",
    "sunday": "söndag",
    "weekend": "helg",
    "holiday": "helgdag röd dag",
    "today": "idag",
    "news": "nyheter",
    "award": "pris",
    "awards": "pris utmärkelse",
    "participants": "deltog",
    "people": "personer",
}
# Names English writes otherwise: a translation that says "Europe" for "Europa" keeps the name.
EXONYMS_SV_EN = {
    "Europa": "Europe",
    "Sverige": "Sweden",
    "Skåne": "Scania",
    "Danmark": "Denmark",
    "Norge": "Norway",
    "Göteborg": "Gothenburg",
    "Köpenhamn": "Copenhagen",
    "Öresund": "Oresund",
}
_FROM_SWEDISH = "Translate the Swedish text into {language}: {text}"
_KEEP = "\nWrite these exactly as they are: {facts}."
# Any glossary phrase as a whole word, the longest first ("climate neutral" before "climate").
_GLOSSARY_PHRASE = re.compile(
    r"\b(?:" + "|".join(re.escape(en) for en in sorted(GLOSSARY_EN_SV, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)


Similarity = Callable[[str, str], float]
MEANING_PARAMS = Path(__file__).resolve().parent / "params" / "translation.json"


def meaning_threshold(path: Path = MEANING_PARAMS) -> float:
    """The cross-lingual similarity a translation must reach, as fitted (eval/fit.py translation); 0
    (facts only) when no fit is stored."""
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError):
        return 0.0


class Translator:
    """meaning: the similarity of a Swedish sentence and its translation (the multilingual embedder's
    cosine); a translation below meaning_min is not shown, however well it keeps the facts."""

    def __init__(
        self,
        generator: Generator,
        max_tokens: int = 80,
        *,
        meaning: Similarity | None = None,
        meaning_min: float = 0.0,
    ) -> None:
        if not 0 <= meaning_min <= 1:
            raise ValueError(f"meaning_min must be in [0, 1], got {meaning_min}")
        self.generator = generator
        self.max_tokens = max_tokens
        self.meaning = meaning
        self.meaning_min = meaning_min

    def _run(self, request: str) -> str:
        messages: list[Message] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": request},
        ]
        return "".join(self.generator.stream(messages, max_tokens=self.max_tokens)).strip().strip('"”“')

    def to_swedish(self, question: str) -> tuple[str, str]:
        """(query, gate_query) in Swedish for a question in another language.

        query: the model's translation plus the Swedish words of glossary phrases found in the question,
        for retrieval. gate_query: what the relevance gate may trust. The small model's translation can
        be nonsense ('opening hours' -> 'vårsta timmar'), so when the glossary recognised the question's
        topic, the gate looks only at the glossary words and the question's names and numbers."""
        out = self._run(_TO_SWEDISH.format(text=question))
        translation = (out.splitlines()[0].strip() if out else "") or question
        low = f" {' '.join(re.findall(r'[a-z-]+', question.lower()))} "
        extra = [sv for en, sv in GLOSSARY_EN_SV.items() if f" {en} " in low]
        # English the model left in its translation ('… bli climate neutral?') becomes the glossary's
        # Swedish: the model answers in the words of its prompt.
        translation = _GLOSSARY_PHRASE.sub(lambda m: GLOSSARY_EN_SV[m.group(0).lower()], translation)
        glossary_words = {w for en in GLOSSARY_EN_SV for w in en.split()}
        names = [
            w
            for w in re.findall(r"(?<!^)\b[A-ZÅÄÖ][\wåäö-]+|\d[\d.:-]*", question)
            if w.lower() not in glossary_words
        ]
        query = " ".join([translation, *extra])
        gate = " ".join([*extra, *names]) if extra else query
        return query, gate

    def from_swedish(self, sentence: str, language: str, names: frozenset[str] = frozenset()) -> str:
        """The sentence in the asker's language, or the Swedish sentence when the translation changed a fact
        or its meaning (see checked)."""
        return self.checked(sentence, language, names)[0]

    def checked(self, sentence: str, language: str, names: frozenset[str] = frozenset()) -> tuple[str, bool]:
        """(the sentence in the asker's language, True), or (the Swedish sentence, False) when the
        translation changed a fact or no longer means the Swedish sentence (cross-lingual similarity below
        meaning_min: a translation that invented an entity or took another day's hours).

        names: words the documents write as proper names, so a sentence-initial name is checked too."""
        request = _FROM_SWEDISH.format(
            language=LANGUAGE_NAMES.get(language, (language, language))[1], text=sentence
        )
        facts_sv = extract_facts(sentence)
        # The first word of a sentence is not taken as a name by extract_facts, but a capitalised word
        # the source passage also writes as a name ('Helsingborg') must survive ('Helsinki' must not).
        first = re.match(r"\W*([A-ZÅÄÖ][\wåäö-]+)", sentence)
        if first and first.group(1) in names:
            facts_sv.append(first.group(1))
        lost: list[str] = []
        added: list[str] = []
        for _ in range(2):
            # A second try names what the first lost: the model wrote 'Helsinki' for 'Helsingborg'.
            keep = _KEEP.format(facts=", ".join(lost)) if lost else ""
            try:
                out = " ".join(self._run(request + keep).split())
            except GenerationUnavailableError as exc:
                log.error("kept the Swedish sentence: %s", exc)
                return sentence, False
            if not out:
                return sentence, False
            lost = [f for f in facts_sv if not _name_kept(f, out)]
            added = [f for f in extract_facts(out) if not fact_in_passage(f, sentence) and f[:1].isdigit()]
            if not lost and not added:
                similarity = self.meaning(sentence, out) if self.meaning else 1.0
                if similarity >= self.meaning_min:
                    return out, True
                log.info("kept the Swedish sentence: the translation means something else (%.3f)", similarity)
                return sentence, False
            if added:
                break  # it invented a number: no second chance
        log.info("kept the Swedish sentence: translation lost %s / added %s", lost, added)
        return sentence, False


def _name_kept(fact: str, translation: str) -> bool:
    """Whether the translation holds the fact, or the English name for it ("Europe" for "Europa")."""
    if fact_in_passage(fact, translation):
        return True
    english = " ".join(EXONYMS_SV_EN.get(word, word) for word in fact.split())
    return english != fact and fact_in_passage(english, translation)
