"""Security headers on every response, chosen by route: Content-Security-Policy, framing rules, nosniff, referrer
policy and (behind https) Strict-Transport-Security.

- The resident widget (`/`) and the document viewer may be framed by the app itself and by the origins in
  RAG_EMBED_ORIGINS only; the console (`/personal`) and every API route by no one (`frame-ancestors 'none'`).
- Gradio's pages get a fresh nonce per response: the middleware adds it to each `<script>` tag of the page, so no
  other inline script runs (measured in Chromium by tests/browser/test_headers_and_a11y.py). Styles stay
  `'unsafe-inline'`: Gradio's components set style attributes, which no nonce can cover.
- The app's own small pages (sign-in, document viewer) allow exactly their one stylesheet, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.web.config import WebSettings
from rag.web.gradio_sv import SCRIPT_TAG
from rag.web.render import DOC_ROUTE, PAGE_CSS

CONSOLE_PREFIX = "/personal"
OWN_PAGES = (f"{CONSOLE_PREFIX}/logga-in", f"{CONSOLE_PREFIX}/logga-ut")
API_PREFIXES = ("/api/", "/v1/")
API_DOCS = "/api/docs"
MAX_REWRITE_BYTES = 4 * 1024 * 1024
HSTS = "max-age=31536000; includeSubDomains"
_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])(?![^>]*\snonce=)", re.IGNORECASE)
_HTML_LANG = re.compile(rb'<html([^>]*?)\slang="[^"]*"', re.IGNORECASE)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


PAGE_STYLE_HASH = _sha256(PAGE_CSS)


def frame_ancestors(origins: Iterable[str]) -> str:
    return " ".join(["'self'", *origins])


@dataclass(frozen=True)
class Policy:
    """The headers of one kind of route; `nonce`: the HTML gets the nonce added; `gradio`: a Gradio page."""

    csp: str
    frame_options: str | None
    nonce: bool = False
    gradio: bool = False


def gradio_csp(ancestors: str, nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "media-src 'self' data: blob:; "
        "worker-src 'self' blob:; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )


def own_page_csp(ancestors: str) -> str:
    return (
        f"default-src 'none'; style-src {PAGE_STYLE_HASH}; img-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )


API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's Swagger page loads its script and styles from jsDelivr and starts them with one inline script.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net 'nonce-{nonce}'; "
    "style-src https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def policy_for(path: str, web: WebSettings, nonce: str) -> Policy:
    widget_ancestors = frame_ancestors(web.embed_origins)
    if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
        if path in OWN_PAGES:
            return Policy(own_page_csp("'none'"), "DENY")
        return Policy(gradio_csp("'none'", nonce), "DENY", nonce=True, gradio=True)
    if path == API_DOCS:
        return Policy(DOCS_CSP.format(nonce=nonce), "DENY", nonce=True)
    if path.startswith(API_PREFIXES):
        return Policy(API_CSP, "DENY")
    # X-Frame-Options cannot name several origins; browsers that know frame-ancestors ignore it anyway
    frame_options = None if web.embed_origins else "SAMEORIGIN"
    if path.startswith(DOC_ROUTE + "/"):
        return Policy(own_page_csp(widget_ancestors), frame_options)
    return Policy(gradio_csp(widget_ancestors, nonce), frame_options, nonce=True, gradio=True)


_HEAD_OPEN = re.compile(rb"<head[^>]*>", re.IGNORECASE)


def prepare_page(html: bytes, nonce: str, *, gradio: bool) -> bytes:
    """Every <script> tag gets the nonce; a Gradio page is made Swedish (lang="sv" and Gradio's own strings)."""
    if gradio:
        html = _HEAD_OPEN.sub(lambda m: m.group(0) + SCRIPT_TAG, html, count=1)
        html = _HTML_LANG.sub(rb'<html\1 lang="sv"', html, count=1)
    return _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', html)


class SecurityHeaders:
    """ASGI middleware; the outermost layer, so refusals by the staff guard carry the same headers."""

    def __init__(self, app: ASGIApp, web: WebSettings) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        policy = policy_for(scope.get("path", ""), self.web, nonce)
        https = scope.get("scheme") == "https" or self.web.cookie_secure is True
        rewrite = False
        start: Message | None = None
        body = bytearray()

        def decorate(message: Message) -> MutableHeaders:
            headers = MutableHeaders(scope=message)
            headers["Content-Security-Policy"] = policy.csp
            headers["X-Content-Type-Options"] = "nosniff"
            headers["Referrer-Policy"] = "no-referrer"
            if policy.frame_options:
                headers["X-Frame-Options"] = policy.frame_options
            elif "x-frame-options" in headers:
                del headers["X-Frame-Options"]
            if https:
                headers["Strict-Transport-Security"] = HSTS
            return headers

        async def wrapped(message: Message) -> None:
            nonlocal rewrite, start
            if message["type"] == "http.response.start":
                headers = decorate(message)
                content_type = headers.get("content-type", "")
                encoded = headers.get("content-encoding", "identity") != "identity"
                rewrite = policy.nonce and content_type.startswith("text/html") and not encoded
                if rewrite:
                    start = message  # held until the whole page is read
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and rewrite:
                body.extend(message.get("body", b""))
                if message.get("more_body", False) and len(body) <= MAX_REWRITE_BYTES:
                    return
                assert start is not None
                page = prepare_page(bytes(body), nonce, gradio=policy.gradio)
                headers = MutableHeaders(scope=start)
                if "content-length" in headers:
                    headers["Content-Length"] = str(len(page))
                rewrite = False
                await send(start)
                await send(
                    {"type": "http.response.body", "body": page, "more_body": message.get("more_body", False)}
                )
                return
            await send(message)

        await self.app(scope, receive, wrapped)
