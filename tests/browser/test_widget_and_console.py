"""In a real browser: the resident widget answers with a streamed, cited answer and source cards; 👍 lands in the
staff console after signing in; staff explain the answer and check a drafted one; without sign-in the console refuses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, STAFF_PASSWORD, ForeignSite

pytestmark = pytest.mark.browser

PHONE_Q = "Vilket telefonnummer har kontaktcenter?"
COMMENT = "Tydligt och snabbt svar"

# Records every text the last answer bubble shows, so the test can see the answer grow while it streams.
WATCH_ANSWERS = """() => {
  window.__answerTexts = [];
  const log = document.querySelector('#samtal');
  new MutationObserver(() => {
    const bots = log.querySelectorAll('[data-testid="bot"]');
    if (bots.length) window.__answerTexts.push(bots[bots.length - 1].innerText);
  }).observe(log, {subtree: true, childList: true, characterData: true});
}"""


def ask(page: Any, question: str) -> Any:
    box = page.get_by_label("Din fråga")
    box.fill(question)
    box.press("Enter")
    answer = page.locator('#samtal [data-testid="bot"]').last
    answer.locator("blockquote").first.wait_for()
    return answer


def sign_in(page: Any, base: str, name: str = ADMIN) -> None:
    page.goto(base + "/personal/")
    page.get_by_label("Användarnamn").fill(name)
    page.get_by_label("Lösenord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("heading", name="Personalkonsol").wait_for()
    expect(page.locator("#inloggad")).to_contain_text(name)


def test_widget_streams_a_cited_answer_with_source_cards(
    page: Any, live_server: str, screenshot_dir: Path
) -> None:
    page.goto(live_server + "/")
    page.wait_for_function("document.documentElement.lang === 'sv'")
    expect(page.get_by_role("heading", name="Fråga Helsingborgs stad")).to_be_visible()
    # hand-off panel from the corpus: phone, visit address, today's opening hours; and the allmän-handling note
    handoff = page.locator("#handoff")
    handoff.get_by_text("042-10 50 00").wait_for()
    expect(handoff).to_contain_text("Stortorget 17")
    expect(handoff).to_contain_text(re.compile(r"(Öppet|Stängt) i dag"))
    expect(page.get_by_text("allmän handling")).to_be_visible()

    page.evaluate(WATCH_ANSWERS)
    answer = ask(page, PHONE_Q)
    text = answer.inner_text()
    assert "[1]" in text and "Källor" in text
    seen = page.evaluate("window.__answerTexts")
    assert any("[1]" in t and "Källor" not in t for t in seen), "the answer should appear before its sources"
    # the source card: title, cited passage, a link that opens the whole document at the passage
    card = answer.locator("blockquote").first
    assert "[1]" in card.inner_text()
    link = card.get_by_role("link", name=re.compile("Öppna hela dokumentet"))
    href = link.get_attribute("href")
    assert href and href.startswith("/dokument/")
    doc = page.context.request.get(live_server + href)
    assert doc.status == 200 and '<mark id="stycke"' in doc.text()
    # the feedback question
    expect(page.get_by_text("Var svaret till hjälp?")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "widget.png"), full_page=True)


def test_feedback_reaches_the_console_and_explains_the_answer(
    browser: Any,
    page: Any,
    live_server: str,
    screenshot_dir: Path,
) -> None:
    page.goto(live_server + "/")
    ask(page, PHONE_Q)
    page.get_by_label("Kommentar (frivilligt, skriv inga personuppgifter)").fill(COMMENT)
    page.get_by_role("button", name="👍 Ja, till hjälp").click()
    page.get_by_text("Tack för din återkoppling!").wait_for()

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE").new_page()
    try:
        sign_in(staff, live_server)
        staff.get_by_role("tab", name="Återkoppling").click()
        staff.locator("#filter-betyg").get_by_text("👍 Till hjälp").click()
        staff.get_by_role("button", name="Visa återkoppling").click()
        table = staff.locator("#aterkoppling-tabell")
        expect(table).to_contain_text(COMMENT)
        row_text = table.inner_text()
        assert "👍" in row_text and PHONE_Q in row_text
        answer_id = re.findall(r"\b[0-9a-f]{16}\b", row_text)[0]

        staff.get_by_role("tab", name="Fråga och förklara").click()
        staff.locator("#konsol-svar-id textarea, #konsol-svar-id input").first.fill(answer_id)
        staff.get_by_role("button", name="Förklara loggat svar").click()
        expect(staff.locator("#konsol-sammanfattning")).to_contain_text("Besvarat")
        passages = staff.locator("#konsol-stycken").inner_text()
        assert "Dense (rank)" in passages and "Lexikal (rank)" in passages and "[1]" in passages
        assert "✓ ja" in staff.locator("#konsol-meningar").inner_text()
        assert "Källor:" in staff.locator("#konsol-prompt").inner_text()
        assert "generation" in staff.locator("#konsol-tider").inner_text()
        staff.screenshot(path=str(screenshot_dir / "console.png"), full_page=True)
    finally:
        staff.context.close()


def test_check_an_answer_in_the_console(browser: Any, live_server: str, screenshot_dir: Path) -> None:
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE").new_page()
    try:
        sign_in(staff, live_server)
        staff.get_by_role("tab", name="Kontrollera ett svar").click()
        staff.locator("#kontroll-fraga textarea, #kontroll-fraga input").first.fill(PHONE_Q)
        staff.locator("#kontroll-utkast textarea").fill(
            "Prata med en kommunvägledare på telefon 042-10 50 00. Kontaktcenter har öppet dygnet runt på "
            "telefon 040-999 99 99."
        )
        staff.get_by_role("button", name="Kontrollera svaret").click()
        result = staff.locator("#kontroll-resultat")
        expect(result).to_contain_text("1 av 2 meningar stöds")
        assert "040-999 99 99" in result.inner_text()
        table = staff.locator("#kontroll-tabell").inner_text()
        assert "✓ stöds" in table and "✗ stöds inte" in table
        staff.screenshot(path=str(screenshot_dir / "console-check.png"), full_page=True)
    finally:
        staff.context.close()


def test_console_refuses_without_sign_in(page: Any, live_server: str) -> None:
    page.goto(live_server + "/personal/")
    assert page.url.endswith("/personal/logga-in")
    expect(page.get_by_role("heading", name="Personalkonsol – logga in")).to_be_visible()
    assert page.locator("#konsol-stycken").count() == 0
    page.get_by_label("Användarnamn").fill(ADMIN)
    page.get_by_label("Lösenord").fill("fel-lösenord-123")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert").get_by_text("Fel användarnamn eller lösenord")).to_be_visible()
    assert page.url.endswith("/personal/logga-in")
    response = page.context.request.get(live_server + "/personal/config")
    assert response.status == 401


def test_keyboard_only_and_phone_width(browser: Any, live_server: str, screenshot_dir: Path) -> None:
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="sv-SE", is_mobile=True, has_touch=True
    )
    page = ctx.new_page()
    try:
        page.goto(live_server + "/")
        example = page.get_by_role("button", name="När har kontaktcenter öppet?")
        example.focus()
        page.keyboard.press("Enter")  # an example question, asked from the keyboard
        page.locator('#samtal [data-testid="bot"]').last.locator("blockquote").first.wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, f"the page scrolls sideways at phone width ({width}px)"
        expect(page.get_by_label("Din fråga")).to_be_visible()
        page.screenshot(path=str(screenshot_dir / "widget-mobil.png"), full_page=True)
    finally:
        ctx.close()


def test_the_sample_host_page_embeds_the_widget(
    browser: Any, embedding_server: str, foreign_site: ForeignSite
) -> None:
    """docs/embed-example.html served by another site whose origin is in RAG_EMBED_ORIGINS."""
    root = Path(__file__).resolve().parents[2]
    html = (root / "docs" / "embed-example.html").read_text(encoding="utf-8")
    assert 'src="http://127.0.0.1:7860/"' in html
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE").new_page()
    try:
        page.goto(foreign_site.serve(html.replace("http://127.0.0.1:7860/", embedding_server + "/")))
        frame = page.frame_locator("iframe.fraga-staden")
        expect(frame.get_by_role("heading", name="Fråga Helsingborgs stad")).to_be_visible()
        box = frame.get_by_label("Din fråga")
        box.fill(PHONE_Q)
        box.press("Enter")
        expect(frame.locator('#samtal [data-testid="bot"]').last.locator("blockquote").first).to_contain_text(
            "[1]"
        )
    finally:
        page.context.close()


def test_reindex_from_the_console_picks_up_a_new_document(
    browser: Any, browser_service: Any, live_server: str
) -> None:
    new_doc = browser_service.settings.corpus_dir / "parkering-test.txt"
    new_doc.write_text(
        "Parkering i Helsingborg\n\nBoendeparkering kostar 500 kronor per månad i zon A.\n", encoding="utf-8"
    )
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE").new_page()
    try:
        sign_in(staff, live_server)
        staff.get_by_role("tab", name="Indexera om").click()
        staff.get_by_role("button", name="Indexera om dokumenten").click()
        expect(staff.locator("#indexera-resultat")).to_contain_text("Klart", timeout=60_000)
        expect(staff.locator("#indexera-resultat")).to_contain_text("1 nya")
        resp = staff.context.request.post(
            live_server + "/api/ask", data={"question": "Vad kostar boendeparkering i zon A?"}
        )
        data = resp.json()
        assert "parkering-test.txt" in {c["source"] for c in data["citations"]}, (
            data["answer"],
            data["sentences"],
        )
    finally:
        staff.context.close()
        new_doc.unlink()


def test_the_viewer_opens_a_pdf_at_the_cited_page_with_the_passage_marked(
    page: Any, live_server: str, browser_service: Any
) -> None:
    from rag.web.render import document_url

    chunk = next(
        c for c in browser_service.index.chunks if c.source == "tre-transformationer.pdf" and c.page == 2
    )
    page.goto(live_server + document_url(chunk.source, chunk.chunk_id))
    mark = page.locator("mark#stycke")
    expect(mark).to_be_in_viewport()
    assert mark.evaluate("m => m.closest('section').id") == "sida-2"
    assert " ".join(chunk.text.split())[:40] in " ".join(mark.inner_text().split())
    expect(page.locator(".var")).to_contain_text("sidan 2")
    href = page.get_by_role("link", name=re.compile("Öppna originalfilen")).get_attribute("href")
    assert href == "/dokumentfil/tre-transformationer.pdf#page=2"
    pdf = page.context.request.get(live_server + href.split("#")[0])
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
