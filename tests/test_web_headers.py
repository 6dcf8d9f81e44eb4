"""The headers each route sends: Content-Security-Policy and framing by route, nosniff, referrer policy, HSTS only
behind https; the nonce on every script of a Gradio page; a resident's text escaped for Markdown.
(That Gradio works under these headers is measured in Chromium: tests/browser/test_headers_and_a11y.py.)"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rag.web import WebSettings, create_app
from rag.web.auth import LOGIN_PATH
from rag.web.fakes import fake_service, staff_with_accounts
from rag.web.headers import PAGE_STYLE_HASH, policy_for, prepare_page
from rag.web.render import PAGE_CSS, md_escape
from rag.web.staff import Role

NAME, PASSWORD = "greta.granskare", "ett-långt-lösenord-för-test"
EMBEDDER = "https://helsingborg.se"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return fake_service(tmp_path_factory.mktemp("headers"))


def client_for(service, base_url: str = "http://testserver", **web: object) -> TestClient:  # type: ignore[no-untyped-def]
    staff = staff_with_accounts(service.settings, {NAME: (Role.GRANSKARE, PASSWORD)})
    settings = WebSettings(warm_up=False, **web)  # type: ignore[arg-type]
    client = TestClient(create_app(service, web=settings, staff=staff), base_url=base_url)
    client.post(LOGIN_PATH, data={"namn": NAME, "losenord": PASSWORD})
    return client


@pytest.fixture(scope="module")
def signed_in(service) -> TestClient:  # type: ignore[no-untyped-def]
    return client_for(service)


def directives(csp: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in csp.split("; ")}


ROUTES = {
    # path -> (frame-ancestors, X-Frame-Options or None)
    "/": ("'self'", "SAMEORIGIN"),
    "/personal/": ("'none'", "DENY"),
    "/personal/logga-in": ("'none'", "DENY"),
    "/personal/config": ("'none'", "DENY"),
    "/personal/export/aterkoppling.csv": ("'none'", "DENY"),
    "/dokument/valkomna-till-helsingborg.txt": ("'self'", "SAMEORIGIN"),
    "/api/health": ("'none'", "DENY"),
    "/api/docs": ("'none'", "DENY"),
    "/v1/models": ("'none'", "DENY"),
    "/gradio-sv.js": ("'self'", "SAMEORIGIN"),
}


@pytest.mark.parametrize("path", list(ROUTES))
def test_every_route_sends_the_security_headers(signed_in: TestClient, path: str) -> None:
    resp = signed_in.get(path, headers={"accept": "text/html"})
    assert resp.status_code == 200, (path, resp.status_code)
    ancestors, frame_options = ROUTES[path]
    csp = directives(resp.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ancestors
    assert resp.headers.get("x-frame-options") == frame_options
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in resp.headers  # plain http
    assert "'unsafe-eval'" not in csp.get("script-src", "")
    assert "*" not in resp.headers["content-security-policy"].replace("*.", "")


def test_refusals_carry_the_headers_too(service) -> None:  # type: ignore[no-untyped-def]
    client = client_for(service)
    client.cookies.clear()
    for resp in (client.get("/personal/config"), client.post("/api/ask", content=b"{")):
        assert resp.status_code in (400, 401)
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        assert resp.headers["x-content-type-options"] == "nosniff"


def test_gradio_pages_get_a_fresh_nonce_on_every_script(service) -> None:  # type: ignore[no-untyped-def]
    client = client_for(service)
    nonces = []
    for path in ("/", "/", "/personal/"):
        resp = client.get(path)
        nonce = re.search(r"'nonce-([^']+)'", resp.headers["content-security-policy"]).group(1)  # type: ignore[union-attr]
        scripts = re.findall(r"<script\b[^>]*>", resp.text)
        assert len(scripts) >= 4 and all(f'nonce="{nonce}"' in s for s in scripts), scripts
        assert 'src="/gradio-sv.js"' in scripts[0]  # Swedish first, before Gradio
        assert re.search(r'<html\s+lang="sv"', resp.text)
        assert int(resp.headers["content-length"]) == len(resp.content)
        nonces.append(nonce)
    assert len(set(nonces)) == 3


def test_own_pages_allow_exactly_their_stylesheet(service) -> None:  # type: ignore[no-untyped-def]
    client = client_for(service)
    client.cookies.clear()
    for path in (LOGIN_PATH, "/dokument/valkomna-till-helsingborg.txt"):
        resp = client.get(path)
        csp = directives(resp.headers["content-security-policy"])
        assert csp["default-src"] == "'none'" and csp["style-src"] == PAGE_STYLE_HASH
        assert "script-src" not in csp and "<script" not in resp.text
        assert f"<style>{PAGE_CSS}</style>" in resp.text


def test_embed_origins_may_frame_the_widget_and_the_documents_only(service) -> None:  # type: ignore[no-untyped-def]
    client = client_for(service, embed_origins=(EMBEDDER, "http://127.0.0.1:8081"))
    widget = client.get("/")
    assert directives(widget.headers["content-security-policy"])["frame-ancestors"] == (
        f"'self' {EMBEDDER} http://127.0.0.1:8081"
    )
    assert "x-frame-options" not in widget.headers  # it cannot name two origins; frame-ancestors rules
    doc = client.get("/dokument/valkomna-till-helsingborg.txt")
    assert EMBEDDER in directives(doc.headers["content-security-policy"])["frame-ancestors"]
    for path in ("/personal/", LOGIN_PATH, "/api/health"):
        resp = client.get(path)
        assert directives(resp.headers["content-security-policy"])["frame-ancestors"] == "'none'", path
        assert resp.headers["x-frame-options"] == "DENY"


def test_hsts_behind_https_only(service) -> None:  # type: ignore[no-untyped-def]
    over_https = client_for(service, base_url="https://testserver").get("/api/health")
    assert over_https.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    behind_proxy = client_for(service, cookie_secure=True).get("/api/health")  # RAG_COOKIE_SECURE=1
    assert "strict-transport-security" in behind_proxy.headers
    assert "strict-transport-security" not in client_for(service).get("/api/health").headers


def test_policy_for_unknown_paths_is_the_widgets() -> None:
    web = WebSettings()
    assert policy_for("/någon/sida", web, "n").gradio
    assert policy_for("/personalen", web, "n").csp == policy_for("/", web, "n").csp  # not the console
    assert not policy_for("/api/ask", web, "n").nonce


def test_prepare_page_leaves_a_script_with_a_nonce_alone() -> None:
    html = b'<html lang="en"><head><script nonce="x">a</script><script>b</script></head></html>'
    out = prepare_page(html, "N", gradio=True)
    assert out.count(b'nonce="N"') == 2 and b'nonce="x"' in out and b'lang="sv"' in out


# --- a resident's text in Markdown ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
        ("![bild](https://x.se/p.png)", "\\!\\[bild\\](https://x.se/p.png)"),
        ("[länk](javascript:alert(1))", "\\[länk\\](javascript:alert(1))"),
        (
            "**fet** _kursiv_ `kod` ~~bort~~ $$x$$",
            "\\*\\*fet\\*\\* \\_kursiv\\_ \\`kod\\` \\~\\~bort\\~\\~ \\$\\$x\\$\\$",
        ),
        ("&lt;b&gt;", "\\&lt;b\\&gt;"),
        ("# rubrik", "\\# rubrik"),
        ("- punkt", "\\- punkt"),
        ("1. punkt", "1\\. punkt"),
        ("> citat", "\\> citat"),
        ("Ring 070-123 45 67.\n\nTack!", "Ring 070-123 45 67. Tack\\!"),
    ],
)
def test_a_residents_text_is_escaped_for_markdown(typed: str, shown: str) -> None:
    assert md_escape(typed, as_typed=True) == shown


def test_answers_keep_their_list_markers() -> None:
    assert md_escape("- Ring oss") == "- Ring oss"
