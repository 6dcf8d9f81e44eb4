"""Sign-in for the staff console: one secret from configuration, server-side sessions, throttled failures.

Without RAG_STAFF_PASSWORD the console refuses to open and says how to set it. Sessions live in memory (a restart
signs staff out); the cookie is HttpOnly, SameSite=Strict, limited to the console's path and Secure over https.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections import deque
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.web.config import PASSWORD_ENV, WebSettings
from rag.web.render import page

log = logging.getLogger(__name__)

CONSOLE_PATH = "/personal"
LOGIN_PATH = f"{CONSOLE_PATH}/logga-in"
LOGOUT_PATH = f"{CONSOLE_PATH}/logga-ut"
COOKIE = "rag_personal"

NOT_CONFIGURED_SV = (
    "Personalkonsolen är avstängd eftersom inget lösenord är inställt. Starta appen med miljövariabeln "
    f"{PASSWORD_ENV} satt till ett lösenord (minst 8 tecken), till exempel: "
    f"{PASSWORD_ENV}='välj-ett-långt-lösenord' .venv/bin/python app.py"
)
NOT_CONFIGURED_EN = (
    f"The staff console is disabled: no password is configured. Set {PASSWORD_ENV} and restart."
)


class StaffAuth:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._sessions: dict[str, float] = {}  # token -> expiry (monotonic seconds)
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.settings.staff_password)

    # --- throttling -------------------------------------------------------------------------------------
    def throttled(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._failures.get(client)
            if not q:
                return False
            while q and now - q[0] > self.settings.login_window_s:
                q.popleft()
            return len(q) >= self.settings.max_login_failures

    def _fail(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(time.monotonic())
            if len(self._failures) > 10_000:  # bounded memory under a spray of clients
                self._failures.pop(next(iter(self._failures)))

    # --- sessions ----------------------------------------------------------------------------------------
    def login(self, password: str, client: str) -> str | None:
        """A new session token when the password is right; None (and a counted failure) otherwise."""
        if not self.configured or self.throttled(client):
            return None
        expected = (self.settings.staff_password or "").encode()
        if not hmac.compare_digest(password.encode(), expected):
            self._fail(client)
            log.warning("staff sign-in failed")
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._sessions = {t: exp for t, exp in self._sessions.items() if exp > now}
            self._sessions[token] = now + self.settings.session_hours * 3600
            self._failures.pop(client, None)
        log.info("staff signed in")
        return token

    def valid(self, token: str | None) -> bool:
        if not token or not self.configured:
            return False
        with self._lock:
            exp = self._sessions.get(token)
            return exp is not None and exp > time.monotonic()

    def logout(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(token, None)

    def user_for(self, request: Request) -> str | None:
        """For Gradio's auth_dependency: the staff user name for a signed-in request, else None (401)."""
        return self.settings.staff_user if self.valid(request.cookies.get(COOKIE)) else None

    def cookie_secure(self, scheme: str) -> bool:
        if self.settings.cookie_secure is not None:
            return self.settings.cookie_secure
        return scheme == "https"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_form(message: str = "", *, error: bool = False) -> str:
    note = f'<p class="{"fel" if error else "info"}" role="alert">{escape(message)}</p>' if message else ""
    body = (
        "<h1>Personalkonsol – logga in</h1>"
        "<p>Konsolen är till för kontaktcenters medarbetare.</p>"
        f"{note}"
        f'<form method="post" action="{LOGIN_PATH}">'
        '<label for="losenord">Lösenord</label>'
        '<input id="losenord" name="losenord" type="password" autocomplete="current-password" required autofocus>'
        '<button type="submit">Logga in</button></form>'
        '<p><a href="/">Till invånarchatten</a></p>'
    )
    return page("Logga in – personalkonsol", body)


def not_configured_page() -> str:
    return page(
        "Personalkonsolen är avstängd",
        f"<h1>Personalkonsolen är avstängd</h1><p class='fel' role='alert'>{escape(NOT_CONFIGURED_SV)}</p>",
    )


def make_router(auth: StaffAuth) -> APIRouter:
    router = APIRouter()

    @router.get(LOGIN_PATH, response_class=HTMLResponse, include_in_schema=False)
    def login_page() -> Response:
        if not auth.configured:
            return HTMLResponse(not_configured_page(), status_code=503)
        return HTMLResponse(login_form())

    @router.post(LOGIN_PATH, include_in_schema=False)
    async def login(request: Request) -> Response:
        if not auth.configured:
            return HTMLResponse(not_configured_page(), status_code=503)
        client = _client(request)
        if auth.throttled(client):
            return HTMLResponse(
                login_form("För många misslyckade försök. Vänta några minuter och försök igen.", error=True),
                status_code=429,
            )
        form = await request.form()
        password = form.get("losenord")
        token = auth.login(password if isinstance(password, str) else "", client)
        if token is None:
            return HTMLResponse(login_form("Fel lösenord. Försök igen.", error=True), status_code=401)
        resp = RedirectResponse(f"{CONSOLE_PATH}/", status_code=303)
        resp.set_cookie(
            COOKIE,
            token,
            max_age=int(auth.settings.session_hours * 3600),
            path=CONSOLE_PATH,
            httponly=True,
            samesite="strict",
            secure=auth.cookie_secure(request.url.scheme),
        )
        return resp

    @router.api_route(LOGOUT_PATH, methods=["GET", "POST"], include_in_schema=False)
    def logout(request: Request) -> Response:
        auth.logout(request.cookies.get(COOKIE))
        resp = RedirectResponse(LOGIN_PATH, status_code=303)
        resp.delete_cookie(COOKIE, path=CONSOLE_PATH)
        return resp

    return router


class StaffGuard:
    """ASGI middleware: nothing under /personal (page, Gradio API, files) without a valid staff session."""

    def __init__(self, app: ASGIApp, auth: StaffAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        protected = path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")
        if not protected or path in (LOGIN_PATH, LOGOUT_PATH):
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)  # a websocket scope too (Request(scope) asserts 'http')
        if self.auth.valid(request.cookies.get(COOKIE)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response: Response
        wants_html = scope.get("method") == "GET" and "text/html" in request.headers.get("accept", "")
        if not self.auth.configured:
            if wants_html:
                response = HTMLResponse(not_configured_page(), status_code=503)
            else:
                response = _json(503, NOT_CONFIGURED_SV, NOT_CONFIGURED_EN, "console_disabled")
        elif wants_html:
            response = RedirectResponse(LOGIN_PATH, status_code=303)
        else:
            response = _json(
                401,
                "Logga in i personalkonsolen först.",
                "Sign in to the staff console first.",
                "not_signed_in",
            )
        await response(scope, receive, send)


def _json(status: int, sv: str, en: str, code: str) -> Response:
    from fastapi.responses import JSONResponse

    body: dict[str, Any] = {"error": {"message": sv, "detail": en, "code": code}}
    return JSONResponse(body, status_code=status)
