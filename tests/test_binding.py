"""Facts bound to their subject: the support check asks which unit of a passage states a claim's facts."""

from __future__ import annotations

import pytest

from eval import claims as cl
from rag.attribution import SupportChecker
from rag.binding import bind
from rag.types import Chunk
from rag.units import fact_type, source_units

HOURS = """Kontakta kommunen — en väg in

När du kontaktar oss är det kommunvägledarna på Helsingborg kontaktcenter som tar hand om dina frågor.

Öppettider

Måndag–onsdag: 08.00 — 17.00

Torsdag: 08.00 — 18.00

Fredag: 08.00 — 17.00

Besök

Besök oss på Helsingborg Kontaktcenter på Stortorget 17.

Ring

Prata med en kommunvägledare på telefon 042-10 50 00."""

PEOPLE = """Ni har träffat:

Kalle Pettersson
Kvalitets- och utvecklingschef, Socialförvaltningen
kalle.pettersson@helsingborg.se

Kamran Salehpour
Head of Digital development, Stadsledningsförvaltningen
kamran.salehpour@helsingborg.se

Micco Grönholm
Head of Future, Helsingborgs stad
micco.gronholm@helsingborg.se"""

GROUPS = """Reformgrupper

- 4 tvärsektoriella reformgrupper:
Integration, Företagsamhet, Digitalisering och Klimat.
- 8-12 medlemmar från näringsliv, föreningsliv, offentlig sektor och akademi.
- Tid: 1 år."""

PROSE = """Leif gick i pension 2019, men har fortsatt att jobba i olika utvecklingsprojekt som timanställd. Han blev 69 år.

– Sedan började jag jobba i Helsingborg 1975. Vi var 7-8 socialsekreterare som ansvarade för 20 procent av staden.

Du ska lämna in ansökan innan ditt tillstånd har gått ut."""

QUOTES = """Den 22 december blir det ”digitalt julfirande” med julquiz och allsång.

Samordnad individuell plan (sip) är ett verktyg som kallas ”samordnad vård” i regionen."""


def chunk(text: str, title: str = "Dokument") -> Chunk:
    return Chunk("d#0-x", "d", "d.txt", title, text, 0, len(text), "x")


@pytest.mark.parametrize(
    ("claim", "text", "supported"),
    [
        ("Kontaktcenter har öppet 08.00–18.00 på torsdagar.", HOURS, True),
        ("Kontaktcenter har öppet 08.00–18.00 på fredagar.", HOURS, False),  # Thursday's hours
        ("På fredagar har kontaktcenter öppet till kl. 17.", HOURS, True),  # "kl. 17" for "17.00"
        ("Kontaktcenter har öppet från 18.00 till 08.00 på torsdagar.", HOURS, False),  # reversed
        ("Kontaktcenter finns på Stortorget 17 och har telefon 042-10 50 00.", HOURS, True),  # two units
        ("Micco Grönholm är Head of Future i Helsingborgs stad.", PEOPLE, True),
        ("Kamran Salehpour är Head of Future i Helsingborgs stad.", PEOPLE, False),  # Micco's title
        ("Kalle Pettersson nås på kalle.pettersson@helsingborg.se.", PEOPLE, True),
        ("Kalle Pettersson nås på micco.gronholm@helsingborg.se.", PEOPLE, False),  # another's e-mail
        ("Det finns 4 reformgrupper med 8-12 medlemmar i varje.", GROUPS, True),  # two items of a list
        ("Det finns 8-12 reformgrupper med 4 medlemmar i varje.", GROUPS, False),  # counts swapped
        ("Reformgrupperna hade 8-12 medlemmar.", GROUPS, True),
        ("Reformgrupperna höll på i 1 år.", GROUPS, True),
        ("Han började jobba i Helsingborg 1975.", PROSE, True),
        ("Leif gick i pension 1975.", PROSE, False),  # the year of another sentence
        ("Vi var 20 socialsekreterare som ansvarade för 7-8 procent av staden.", PROSE, False),
        ("Leif blev 69 år.", PROSE, True),  # "Han blev 69 år." leans on the sentence before
        ("Du ska lämna in ansökan efter att ditt tillstånd har gått ut.", PROSE, False),  # före/efter
        ('Den 22 december blir det "digitalt julfirande".', QUOTES, True),  # quoted as written
        ('Sip är ett verktyg som kallas "digitalt julfirande".', QUOTES, False),  # another's quoted words
        ('Sip är ett verktyg som kallas "samordnat stöd".', QUOTES, False),  # words the source never says
    ],
)
def test_a_claim_is_supported_only_where_its_facts_are_bound_to_its_subject(
    claim: str, text: str, supported: bool
) -> None:
    result = SupportChecker().check(claim, [chunk(text)])
    assert result.check.supported is supported, result.check.reason


def test_the_verdict_names_the_unit_and_the_rival_subject() -> None:
    check = SupportChecker().check("Kontaktcenter har öppet 08.00–18.00 på fredagar.", [chunk(HOURS)]).check
    assert "Fredag: 08.00 — 17.00" in check.reason
    ok = SupportChecker().check("Kontaktcenter har öppet 08.00–18.00 på torsdagar.", [chunk(HOURS)]).check
    assert ok.unit == "Torsdag: 08.00 — 18.00"
    assert {"08.00", "18.00", "torsdag"} <= set(ok.bound)


def test_the_older_presence_check_passes_the_swap_the_binding_check_catches() -> None:
    claim = "Kamran Salehpour är Head of Future i Helsingborgs stad."
    assert SupportChecker(bind_units=False).check(claim, [chunk(PEOPLE)]).check.supported
    assert not SupportChecker().check(claim, [chunk(PEOPLE)]).check.supported


def test_units_of_a_passage() -> None:
    kinds = [(u.kind, u.text) for u in source_units(HOURS + "\n\n" + PEOPLE + "\n\n" + GROUPS)]
    assert ("label", "Torsdag: 08.00 — 18.00") in kinds
    assert ("heading", "Öppettider") in kinds
    assert (
        "contact",
        "Micco Grönholm, Head of Future, Helsingborgs stad, micco.gronholm@helsingborg.se",
    ) in kinds
    assert (
        "item",
        "4 tvärsektoriella reformgrupper: Integration, Företagsamhet, Digitalisering och Klimat.",
    ) in kinds
    prose = source_units(PROSE)
    leaning = next(u for u in prose if u.text == "Han blev 69 år.")
    assert leaning.antecedent.startswith("Leif gick i pension 2019")
    other = next(u for u in prose if u.text.startswith("Vi var"))
    assert other.antecedent == ""  # "Vi" names no one before it


def test_fact_types() -> None:
    assert [fact_type(f) for f in ("08.00", "2019", "600", "042-10 50 00", "a@b.se", "Visby")] == [
        "time",
        "year",
        "number",
        "phone",
        "email",
        "name",
    ]


def test_a_claim_without_facts_binds_to_the_unit_sharing_most_words() -> None:
    b = bind(
        "Man kan chatta med en kommunvägledare.", "Chatta\n\nFå svar direkt – chatta med en kommunvägledare."
    )
    assert b.ok and b.unit == "Få svar direkt – chatta med en kommunvägledare."


def test_generated_claims_cover_every_swap_type_and_the_checker_sorts_them() -> None:
    passages = [
        chunk(HOURS, "Kontakt"),
        chunk(PEOPLE, "Presentation"),
        chunk(PROSE, "Nyheter"),
        chunk(QUOTES, "Julen"),
    ]
    made = cl.generate(passages)
    kinds = {c.kind for c in made if not c.correct}
    assert {"swap:time", "swap:email", "swap:title", "swap:year", "reversed", "swap:before-after"} <= kinds
    assert "swap:quote" in kinds
    assert any(c.kind == "clock" for c in made)
    checker = SupportChecker()
    wrong = [c for c in made if checker.check(c.text, [c.passage]).check.supported != c.correct]
    assert not wrong, [(c.kind, c.text) for c in wrong]
    truths = {u.text for p in passages for u in source_units(p.text, p.title)}
    assert not any(c.text in truths for c in made if not c.correct)  # a corruption is never a unit's own text
