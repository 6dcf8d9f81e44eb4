"""Checks on a question before retrieval: personal case decisions, prompt injection, personal data.

Rule-based on purpose: they run in microseconds, never call the LLM, and their verdicts can be read
and tested. They catch the common phrasings; what slips through still meets the relevance gate and the
sentence verification, which do not depend on these rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.privacy import find_personal_data

_FLAGS = re.IGNORECASE

# A resident asking for a decision or an amount in their own (or a named person's) case.
_PERSONAL_CASE = [
    re.compile(p, _FLAGS)
    for p in (
        r"\bhur mycket\b.{0,60}\b(får|fick|kan få|ska få|kommer .{0,10}få)\s+(jag|vi|min|mitt|mina)\b",
        r"\b(får|fick|beviljas|beviljades)\s+(jag|vi)\b.{0,40}\b(bistånd|försörjningsstöd|stöd|ersättning|bidrag|plats|bygglov|bostad|lägenhet)",
        r"\bhar (jag|vi) rätt till\b",
        r"\b(mitt|min|mina|vårt|vår)\s+(ärende|ärenden|ansökan|ansökningar)\b.{0,40}\b(beviljad|beviljat|beslut|"
        r"status|handläggs|klar|klart|godkänd|godkänt|avslag|pengar|utbetal)",
        r"\b(beslut|besked|svar|status)\s+(på|i|om)\s+(mitt|min|mina)\b",
        r"\b(mitt|min|mina)\s+(beslut|handläggare|utbetalning|utbetalningar|avslag|överklagande)\b",
        r"\b(varför|hur kommer det sig att) (fick|har) (jag|vi) (avslag|nej|inte)\b",
        r"\bnär (får|kommer) (jag|vi) (beslut|svar|pengar|pengarna|utbetalning)",
        r"\b(how much|am i|will i)\b.{0,40}\b(get|entitled|receive|eligible)\b",
        r"\bmy (application|case|decision|benefit|caseworker)\b",
        # asking the assistant to act in the resident's own case
        r"\b(kan|kunde) (du|ni)\b.{0,20}\b(boka|avboka|ansöka|skicka in|ändra|registrera|betala|överklaga|"
        r"skriva en överklagan|söka åt)\b",
        r"\b(can|could) you\b.{0,20}\b(book|cancel|apply|submit|register|pay|appeal)\b",
        # advice that is not the city's to give
        r"\b(vilket parti|vem) (ska|bör) jag rösta\b",
        r"\bwho should i vote\b",
    )
]

# Requests for personal data about a person (a resident, an employee, a named individual).
_PERSON_INFO = [
    re.compile(p, _FLAGS)
    for p in (
        r"\b(personnummer|personnumret|hemadress|hemadressen|privata? (mobil|telefon)?nummer|privat adress|"
        r"mobilnummer|lön|lönen|inkomst|sjukdom|diagnos)\b.{0,40}\b(till|för|på|åt|har)\b",
        r"\b(vad|vilken|vilket|vilka)\b.{0,30}\b(har|tjänar)\b.{0,40}\b(för )?(lön|inkomst|personnummer|"
        r"hemadress|privata? (mobil|telefon)?nummer|mobilnummer)\b",
        r"\b(home address|personal (identity )?number|private (phone|mobile)|salary) of\b",
    )
]

# Attempts to change the assistant's role or reveal its instructions.
_INJECTION = [
    re.compile(p, _FLAGS)
    for p in (
        r"\b(ignorera|strunta i|glöm|bortse från)\b.{0,40}\b(instruktion|instruktioner|regler|tidigare|ovan)",
        r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules|previous|above|prompt)",
        r"\b(system ?prompt|systemprompt|dina instruktioner|your instructions|initial prompt)\b",
        r"\b(du är nu|från och med nu är du|you are now|act as|låtsas att du|pretend (to be|you))\b",
        r"\b(jailbreak|developer mode|DAN mode|utvecklarläge)\b",
        r"\b(skriv|write|print|visa|show|reveal|repeat|upprepa)\b.{0,30}\b(prompt|instruktioner|instructions)\b",
    )
]


@dataclass(frozen=True)
class GuardVerdict:
    personal_case: bool = False
    injection: bool = False
    personal_data: list[str] = field(default_factory=list)  # kinds found: personnummer, e-post, telefonnummer


def inspect_question(question: str) -> GuardVerdict:
    return GuardVerdict(
        personal_case=any(p.search(question) for p in _PERSONAL_CASE)
        or any(p.search(question) for p in _PERSON_INFO),
        injection=looks_like_injection(question),
        personal_data=find_personal_data(question),
    )


def looks_like_injection(text: str) -> bool:
    return any(p.search(text) for p in _INJECTION)


def strip_injections(passage: str) -> str:
    """A passage without the sentences that try to instruct the model (an injection planted in a document)."""
    from rag.text import split_sentences

    sentences = split_sentences(passage)
    kept = [s for s in sentences if not looks_like_injection(s)]
    return passage if len(kept) == len(sentences) else " ".join(kept)
