"""Browser tier: the real app (uvicorn on a free loopback port, fake embedder + slow scripted generator) driven by
Debian's Chromium through Playwright for Python. Set up with scripts/install_test_deps.sh; never `playwright install`.

Staff sign in with named accounts made by the fixtures (an admin and a granskare). A second loopback server on its
own port plays a foreign website that frames the app (tests/browser/test_headers_and_a11y.py).

Set RAG_SCREENSHOT_DIR=docs to refresh the screenshots in docs/ (otherwise they go to a temporary folder).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from rag.generation.base import Message
from rag.generation.fake import ScriptedGenerator

CHROMIUM = Path(os.environ.get("RAG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ADMIN, GRANSKARE = "anna.admin", "greta.granskare"
STAFF_PASSWORD = "webbtest-lösenord-långt"
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 60_000  # a ceiling, not a wait: two shared cores under other work can take this long
expect.set_options(timeout=TIMEOUT_MS)
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives the real app in Debian's Chromium via Playwright (slower)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def two_sentences(messages: list[Message]) -> str:
    """Answer with the first two sentences of the first passage, so the stream has more than one piece."""
    user = messages[-1]["content"]
    m = re.search(r"\[1\][^\n]*\n(.+?)(?:\n\[\d\]|\nFråga:|\Z)", user, re.S)
    text = " ".join((m.group(1) if m else user).split())
    return " ".join(re.split(r"(?<=[.!?])\s", text)[:2])


class SlowScriptedGenerator(ScriptedGenerator):
    """Tokens arrive as they would from llama.cpp, a little at a time, so streaming is visible in the browser."""

    def __init__(self, delay_s: float = 0.06) -> None:
        super().__init__(two_sentences)
        self.delay_s = delay_s

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        for piece in super().stream(messages, max_tokens=max_tokens):
            time.sleep(self.delay_s)
            yield piece


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser_service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The service behind the live app: fake embedder over a copy of corpus/ plus a PDF of one of its documents
    (made with LibreOffice, for the page-by-page viewer), slow scripted generator."""
    import shutil

    from eval.formats import build_variants
    from rag.service import AssistantService
    from rag.web.fakes import fake_service
    from tests.conftest import CORPUS

    work = tmp_path_factory.mktemp("browser")
    shutil.copytree(CORPUS, work / "corpus")
    pdfs = build_variants(CORPUS, work / "variants", ("pdf",), documents=["tre-transformationer.txt"])
    shutil.copy(pdfs.dirs["pdf"] / "tre-transformationer.pdf", work / "corpus" / "tre-transformationer.pdf")
    base = fake_service(work)
    return AssistantService(base.settings, embedder=base.embedder, generator=SlowScriptedGenerator())


def start_app(service: Any, **web: Any) -> tuple[Any, threading.Thread, str]:
    """The real app under uvicorn on a free loopback port, with the test accounts; returns (server, thread, url)."""
    import uvicorn

    from rag.web import WebSettings, create_app
    from rag.web.fakes import staff_with_accounts
    from rag.web.staff import Role

    staff = staff_with_accounts(
        service.settings, {ADMIN: (Role.ADMIN, STAFF_PASSWORD), GRANSKARE: (Role.GRANSKARE, STAFF_PASSWORD)}
    )
    app = create_app(service, web=WebSettings(warm_up=False, **web), staff=staff)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start within 60 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def stop_app(server: Any, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def live_server(browser_service: Any) -> Iterator[str]:
    server, thread, url = start_app(browser_service)
    yield url
    stop_app(server, thread)


class ForeignSite:
    """Another website (its own loopback port, so its own origin) with a page that frames a given URL."""

    def __init__(self) -> None:
        import http.server

        pages: dict[str, bytes] = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: Any) -> None:
                pass

        self.pages = pages
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="foreign-site", daemon=True)
        self.thread.start()

    def serve(self, html: str) -> str:
        """The address of a new page on this site with `html`."""
        path = f"/sida-{len(self.pages)}.html"
        self.pages[path] = html.encode()
        return self.origin + path

    def framing(self, target: str) -> str:
        """The address of a page on this site that frames `target`."""
        return self.serve(
            '<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Annan webbplats</title></head>'
            f'<body><h1>En annan webbplats</h1><iframe id="ram" src="{target}" title="Inbäddad sida" '
            'style="width:100%;height:700px"></iframe></body></html>'
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(scope="session")
def foreign_site() -> Iterator[ForeignSite]:
    site = ForeignSite()
    yield site
    site.close()


@pytest.fixture(scope="session")
def embedding_server(browser_service: Any, foreign_site: ForeignSite) -> Iterator[str]:
    """The app again, configured with RAG_EMBED_ORIGINS = the foreign site's origin."""
    server, thread, url = start_app(browser_service, embed_origins=(foreign_site.origin,))
    yield url
    stop_app(server, thread)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_test_deps.sh (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "Playwright is missing: run scripts/install_test_deps.sh (.venv/bin/pip install playwright)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("RAG_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
