"""In Chromium: Gradio works under the Content-Security-Policy (no violation, nothing loaded from elsewhere), framing
by a foreign site is refused for the console always and for the widget unless its origin is configured, a resident's
message is shown as text, axe-core finds nothing serious or critical at desktop and phone width, Gradio's own strings
are Swedish in an English browser, keyboard-only use works, the reading order is the page's order, and each role
sees what it may use."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, AXE, GRANSKARE, STAFF_PASSWORD, ForeignSite
from tests.browser.test_widget_and_console import PHONE_Q, ask, sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Records every CSP violation the page reports, from the first script on.
WATCH_CSP = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', e => "
    "window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));"
)
ADMIN_TABS = ("Indexera om", "Konton", "Granskningslogg")
ALL_TABS = ("Fråga och förklara", "Kontrollera ett svar", "Återkoppling", "Samtalslogg", *ADMIN_TABS)


def new_page(browser: Any, viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
    phone = viewport["width"] < 600
    ctx = browser.new_context(
        viewport=viewport, locale=options.pop("locale", "sv-SE"), is_mobile=phone, has_touch=phone, **options
    )
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    return page


def watch(page: Any, origin: str) -> dict[str, list[str]]:
    """CSP violations, console errors and requests to anywhere but the app, as the page runs."""
    seen: dict[str, list[str]] = {"errors": [], "elsewhere": [], "requests": []}
    page.context.add_init_script(WATCH_CSP)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on(
        "request",
        lambda r: (
            seen["elsewhere"].append(r.url) if not r.url.startswith((origin, "data:", "blob:")) else None
        ),
    )
    return seen


# --- Content-Security-Policy ----------------------------------------------------------------------------------
def test_gradio_works_under_the_content_security_policy(browser: Any, live_server: str) -> None:
    page = new_page(browser)
    seen = watch(page, live_server)
    try:
        response = page.goto(live_server + "/")
        csp = response.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
        assert "unsafe-eval" not in csp and "script-src 'self' 'nonce-" in csp
        html = response.text()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
        answer = ask(page, PHONE_Q)
        assert "[1]" in answer.inner_text()
        expect(page.locator("#handoff")).to_contain_text("042-10 50 00")  # the Markdown panel rendered

        staff = page.context.new_page()
        staff.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
        sign_in(staff, live_server)
        staff.locator("#konsol-fraga textarea, #konsol-fraga input").first.fill(PHONE_Q)
        staff.get_by_role("button", name="Fråga", exact=True).click()
        expect(staff.locator("#konsol-sammanfattning")).to_contain_text("Besvarat")
        violations = page.evaluate("window.__csp") + staff.evaluate("window.__csp")
        assert violations == [], violations
        assert seen["errors"] == [], seen["errors"]
        assert seen["elsewhere"] == [], seen["elsewhere"]  # no fonts, scripts or images from other hosts
    finally:
        page.context.close()


# --- framing ----------------------------------------------------------------------------------------------------
def framed(page: Any, site: ForeignSite, target: str) -> str:
    """Open a page of the foreign site that frames `target`; the frame's URL once loaded (chrome-error:// when the
    browser refused to frame it)."""
    page.goto(site.framing(target))  # returns after the load event, which waits for the frame
    frame = page.frame(name="ram")
    assert frame is not None
    return str(frame.url)


def test_a_foreign_site_cannot_frame_the_console_or_the_widget(
    browser: Any, live_server: str, foreign_site: ForeignSite
) -> None:
    page = new_page(browser)
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None)
    try:
        for target in ("/", "/personal/logga-in", "/personal/", "/dokument/valkomna-till-helsingborg.txt"):
            url = framed(page, foreign_site, live_server + target)
            assert url.startswith("chrome-error://"), (target, url)
        assert len(refusals) == 4 and "frame-ancestors 'none'" in refusals[1], refusals
    finally:
        page.context.close()


def test_the_configured_origin_may_frame_the_widget_but_never_the_console(
    browser: Any, embedding_server: str, foreign_site: ForeignSite
) -> None:
    page = new_page(browser)
    try:
        assert framed(page, foreign_site, embedding_server + "/") == embedding_server + "/"
        widget = page.frame_locator("#ram")
        expect(widget.get_by_role("heading", name="Fråga Helsingborgs stad")).to_be_visible()
        box = widget.get_by_label("Din fråga")
        box.fill(PHONE_Q)
        box.press("Enter")
        expect(widget.locator('#samtal [data-testid="bot"] blockquote').first).to_contain_text("[1]")
        for target in ("/personal/logga-in", "/personal/"):
            url = framed(page, foreign_site, embedding_server + target)
            assert url.startswith("chrome-error://"), (target, url)
    finally:
        page.context.close()


# --- a resident's message is text ---------------------------------------------------------------------------------
def test_a_residents_message_is_shown_as_text_and_loads_nothing(browser: Any, live_server: str) -> None:
    page = new_page(browser)
    seen = watch(page, live_server)
    hostile = (
        '<img src=x onerror="window.__pwned=1"> ![bild](/pixel.png) [länk](javascript:alert(1)) '
        "**fet** `kod` $$x^2$$"
    )
    try:
        page.goto(live_server + "/")
        box = page.get_by_label("Din fråga")
        box.fill(f"{hostile} {PHONE_Q}")
        box.press("Enter")
        expect(page.locator("#status")).to_contain_text("Svaret är klart", timeout=60_000)
        bubble = page.locator('#samtal [data-testid="user"]').last
        expect(bubble).to_contain_text('<img src=x onerror="window.__pwned=1">')
        expect(bubble).to_contain_text("![bild](/pixel.png)")
        assert bubble.locator("img, a, strong, code, .katex").count() == 0
        assert page.evaluate("window.__pwned") is None
        loaded = [u for u in seen["requests"] if re.search(r"/(x|pixel\.png)(\?|$)", u)]
        assert loaded == [], loaded
    finally:
        page.context.close()


# --- axe-core ----------------------------------------------------------------------------------------------------
def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA rules (and its best practices) on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/install_test_deps.sh (npm ci --prefix tests/browser)")
    settled(page)
    page.add_script_tag(path=str(AXE))
    return list(
        page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"""
        )
    )


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_nothing_serious_on_the_widget_and_the_console(
    browser: Any, live_server: str, viewport: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = new_page(browser, viewport, bypass_csp=True)  # axe is injected as a script of the test's own
    report: dict[str, list[dict[str, Any]]] = {}
    try:
        page.goto(live_server + "/")
        page.locator("#handoff").get_by_text("042-10 50 00").wait_for()
        report["widget"] = run_axe(page)
        ask(page, PHONE_Q)
        report["widget, answered"] = run_axe(page)
        page.goto(live_server + "/personal/logga-in")
        report["sign-in"] = run_axe(page)
        sign_in(page, live_server)
        report["console"] = run_axe(page)
        for tab in ALL_TABS[1:]:
            open_tab(page, tab)
            report[f"console: {tab}"] = run_axe(page)
    finally:
        page.context.close()
    out = tmp_path_factory.getbasetemp() / f"axe-{viewport['width']}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    found = {where: serious(v) for where, v in report.items() if serious(v)}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


IDLE = (
    "() => [...document.querySelectorAll('[data-testid=status-tracker]')].every(e => e.classList.contains('hide'))"
    " && !document.querySelector('.pending')"
)


def settled(page: Any) -> None:
    """Wait until no Gradio event is running (a pending output is drawn faded, which axe reads as low contrast),
    and has not for half a second: on a loaded machine the event a click starts may begin after a first check."""
    for _ in range(20):
        page.wait_for_function(IDLE)
        page.wait_for_timeout(500)
        if page.evaluate(f"({IDLE})()"):
            return


def open_tab(page: Any, name: str) -> None:
    """Click a console tab; at phone width Gradio moves the tabs that do not fit into a 'Fler flikar' menu."""
    tab = page.get_by_role("tab", name=name)
    more = page.get_by_role("button", name="Fler flikar")
    tab.or_(more).first.wait_for()
    if not tab.is_visible():
        page.get_by_role("button", name="Fler flikar").click()
        page.locator(".overflow-dropdown button, .overflow-item-selected, .overflow-dropdown *").get_by_text(
            name, exact=True
        ).first.click()
    else:
        tab.click()
    expect(page.locator(f"[role=tab][aria-selected=true]:has-text('{name}')")).to_be_visible()
    settled(page)


# --- Swedish, keyboard, reading order -----------------------------------------------------------------------------
ENGLISH = re.compile(
    r"^(Copy|Copied|Copy message|Copy table data|Download|Fullscreen|Exit fullscreen|More tabs|Open cell menu|"
    r"Table actions|File upload|Clear|Loading|Error|Submit|Undo|Retry|Like|Dislike|chatbot conversation|"
    r"Code input container|Unfold line)$|^(bot|user)'s message|processing"
)
LABELS = """() => { const out = [];
  for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]'))
    for (const a of ['aria-label', 'title', 'placeholder']) { const v = el.getAttribute(a); if (v) out.push(v); }
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = w.nextNode(); n; n = w.nextNode()) if (n.textContent.trim()) out.push(n.textContent.trim());
  return out; }"""


def test_gradios_own_strings_are_swedish_in_an_english_browser(browser: Any, live_server: str) -> None:
    page = new_page(browser, locale="en-US")
    try:
        page.goto(live_server + "/")
        ask(page, PHONE_Q)
        page.locator('#samtal [data-testid="bot"]').last.hover()
        widget = page.evaluate(LABELS)
        sign_in(page, live_server)
        console = page.evaluate(LABELS)
        for tab in ALL_TABS[1:]:
            open_tab(page, tab)
            console += page.evaluate(LABELS)
        english = sorted({s for s in widget + console if ENGLISH.search(s)})
        assert english == [], english
        assert {"Rensa chatten", "Kopiera meddelandet"} <= set(widget)
        assert any(s.startswith("Assistentens svar: ") for s in widget)
        assert {"Kopiera tabellen", "Helskärm"} <= set(console)
        assert page.evaluate("document.documentElement.lang") == "sv"
    finally:
        page.context.close()


def tab_until(page: Any, condition: str, what: str) -> None:
    """Press Tab (at most 40 times) until the JavaScript `condition` holds for the focused element."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {condition})(document.activeElement)"):
            return
    pytest.fail(f"Tab never reached {what}")


def test_keyboard_only_a_question_and_feedback(browser: Any, live_server: str) -> None:
    page = new_page(browser)
    try:
        page.goto(live_server + "/")
        page.locator("#handoff").get_by_text("042-10 50 00").wait_for()
        tab_until(page, "el?.closest('#fraga') !== null", "the question box")  # from the top of the page
        page.keyboard.type(PHONE_Q)
        page.keyboard.press("Enter")
        page.locator('#samtal [data-testid="bot"]').last.locator("blockquote").first.wait_for()
        expect(page.locator("#status")).to_contain_text("Svaret är klart")
        tab_until(page, "el?.id === 'tumme-upp'", "the 👍 button")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Tack för din återkoppling!")).to_be_visible()
        # the focus is always visible: the outline the CSS gives :focus-visible
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
    finally:
        page.context.close()


def test_keyboard_only_sign_in(browser: Any, live_server: str) -> None:
    page = new_page(browser)
    try:
        page.goto(live_server + "/personal/logga-in")
        assert page.evaluate("document.activeElement.id") == "namn"  # the name field has the focus
        page.keyboard.type(GRANSKARE)
        page.keyboard.press("Tab")
        page.keyboard.type(STAFF_PASSWORD)
        page.keyboard.press("Enter")
        expect(page.locator("#inloggad")).to_contain_text(GRANSKARE)
    finally:
        page.context.close()


def test_the_reading_order_is_heading_conversation_question_then_hand_off(
    browser: Any, live_server: str
) -> None:
    page = new_page(browser)
    try:
        page.goto(live_server + "/")
        page.locator("#handoff").get_by_text("042-10 50 00").wait_for()
        tree = page.locator("body").aria_snapshot()
        order = [
            'heading "Fråga Helsingborgs stad" [level=1]',
            "Samtal med stadens assistent",
            'textbox "Din fråga"',
            'button "Skicka"',
            "Exempel på frågor",
            "Skriv inga personuppgifter",
            'heading "Prata med en kommunvägledare"',
            "042-10 50 00",
        ]
        positions = [tree.find(item) for item in order]
        assert -1 not in positions, (order, tree[:3000])
        assert positions == sorted(positions), list(zip(order, positions, strict=True))
        assert "status" in tree  # the live region that announces "Svaret är klart"
    finally:
        page.context.close()


# --- roles in the console -------------------------------------------------------------------------------------------
def test_each_role_sees_its_tabs_and_the_admin_reads_the_audit_trail(browser: Any, live_server: str) -> None:
    page = new_page(browser)
    try:
        sign_in(page, live_server, GRANSKARE)
        for tab in ALL_TABS[:4]:
            expect(page.get_by_role("tab", name=tab)).to_be_visible()
        for tab in ADMIN_TABS:
            expect(page.get_by_role("tab", name=tab)).to_have_count(0)
        page.context.clear_cookies()
        sign_in(page, live_server, ADMIN)
        open_tab(page, "Konton")
        expect(page.locator("#konton-tabell")).to_contain_text(GRANSKARE)
        page.locator("#konto-namn textarea, #konto-namn input").first.fill("ny.kollega")
        page.locator("#konto-losenord input").fill("ett-långt-nytt-lösenord")
        page.get_by_role("button", name="Lägg till konto").click()
        expect(page.locator("#konto-resultat")).to_contain_text("Kontot ny.kollega (granskare) är skapat")
        expect(page.locator("#konton-tabell")).to_contain_text("ny.kollega")
        open_tab(page, "Granskningslogg")
        page.get_by_role("button", name="Visa granskningsloggen").click()
        trail = page.locator("#granskning-tabell")
        expect(trail).to_contain_text("Lägg till konto")
        expect(trail).to_contain_text(GRANSKARE)  # the granskare's sign-in above
        assert "ett-långt-nytt-lösenord" not in trail.inner_text()
    finally:
        page.context.close()
