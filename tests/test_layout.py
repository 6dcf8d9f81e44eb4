"""The layout step on positioned lines: running headers and footers out, headings apart, hyphenation undone,
paragraphs joined across a page break, and the offset where each page starts."""

from __future__ import annotations

from rag.formats.layout import Line, PageLines, is_page_number, join_lines, lay_out

BODY = 11.0
PITCH = 13.0


def page(
    *rows: tuple[str, float] | tuple[str, float, float], header: str = "", footer: str = ""
) -> PageLines:
    """Lines at the given tops (font size BODY unless a third value says otherwise), with an optional running
    header at the top and footer at the bottom of an A4 page in points."""
    lines = []
    if header:
        lines.append(Line(header, 40, 49, 70, 300, 9))
    for row in rows:
        text, top = row[0], row[1]
        size = row[2] if len(row) == 3 else BODY  # type: ignore[misc]
        lines.append(Line(text, top, top + size, 70, 520 if len(text) > 40 else 70 + 6 * len(text), size))
    if footer:
        lines.append(Line(footer, 800, 809, 280, 320, 9))
    return PageLines(lines, height=842, width=595)


def test_running_header_footer_and_page_numbers_are_left_out() -> None:
    pages = [
        page(
            ("Första sidans text som är ganska lång och fortsätter.", 100),
            header="Helsingborgs stad · Rapport",
            footer=f"Sida {n} av 3",
        )
        for n in (1, 2, 3)
    ]
    laid = lay_out(pages)
    assert "Helsingborgs stad" not in laid.text and "Sida" not in laid.text
    assert laid.text.count("Första sidans text") == 3
    assert len(laid.removed) == 6


def test_a_bare_page_number_goes_even_on_a_single_page() -> None:
    assert is_page_number("– 4 –") and is_page_number("Sida 2 av 10") and is_page_number("12")
    assert not is_page_number("2023 års budget")
    laid = lay_out([page(("Text på sidan som är tillräckligt lång för en rad.", 100), footer="7")])
    assert laid.text == "Text på sidan som är tillräckligt lång för en rad."


def test_headings_stand_alone_and_lines_of_a_paragraph_join() -> None:
    laid = lay_out(
        [
            page(
                ("Grön transformation", 100, 14.0),
                ("Klimatfrågan är en av vår tids viktigaste utmaningar och Helsingborg", 120),
                ("siktar på klimatneutralitet redan till 2030. Vi vet att det kommer", 120 + PITCH),
                ("ställa krav.", 120 + 2 * PITCH),
                ("Nästa stycke börjar efter ett större avstånd mellan raderna här.", 120 + 3 * PITCH + 8),
            )
        ]
    )
    paragraphs = laid.text.split("\n\n")
    assert paragraphs[0] == "Grön transformation"
    assert paragraphs[1].startswith("Klimatfrågan") and paragraphs[1].endswith("ställa krav.")
    assert "Helsingborg siktar" in paragraphs[1]
    assert paragraphs[2].startswith("Nästa stycke")


def test_hyphenation_is_undone_but_not_suspended_compounds_or_names() -> None:
    assert join_lines("Sammanflätade områden vars utveck-", "ling påverkar") == (
        "Sammanflätade områden vars utveckling påverkar"
    )
    assert (
        join_lines("stöd från vård-", "och omsorgsförvaltningen")
        == "stöd från vård- och omsorgsförvaltningen"
    )
    assert join_lines("har haft IOP-", "avtal") == "har haft IOP-avtal"
    assert join_lines("utveck\u00ad", "ling") == "utveckling"
    assert join_lines("slutar här.", "Nästa") == "slutar här. Nästa"


def test_a_paragraph_cut_by_a_page_break_is_joined_and_pages_start_where_they_do() -> None:
    first = page(("Det här stycket börjar på första sidan och fortsätter över", 100), footer="1")
    second = page(
        ("sidbrytningen till andra sidan.", 100),
        ("Ett nytt stycke på sidan två börjar här.", 140),
        footer="2",
    )
    laid = lay_out([first, second])
    assert laid.text.startswith("Det här stycket börjar på första sidan och fortsätter över sidbrytningen")
    assert laid.page_starts[0] == 0
    assert laid.text[laid.page_starts[1] :].startswith("sidbrytningen till andra sidan.")
    third = lay_out([first, page(), second])  # an empty page starts where the next text does
    assert len(third.page_starts) == 3
