"""Sign-in for the staff console: named accounts (rag.web.staff), server-side sessions, throttled failures.

Until the first account exists the console refuses to open and says how to create one (``rag staff add``). Sessions
live in the web database, so a restart keeps staff signed in and every replica sees them; the cookie holds only a
random token (the database keeps its hash), is HttpOnly, SameSite=Strict, limited to the console's path and Secure
over https.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.web.config import WebSettings
from rag.web.render import page
from rag.web.staff import StaffDirectory, StaffUser

log = logging.getLogger(__name__)

CONSOLE_PATH = "/personal"
LOGIN_PATH = f"{CONSOLE_PATH}/logga-in"
LOGOUT_PATH = f"{CONSOLE_PATH}/logga-ut"
COOKIE = "rag_personal"
MAX_FIELD_CHARS = 1024

NO_ACCOUNTS_SV = (
    "Personalkonsolen är stängd eftersom det inte finns något personalkonto ännu. Skapa det första kontot på "
    "servern med: .venv/bin/rag staff add DITT-NAMN --role admin (kommandot frågar efter ett lösenord), och "
    "ladda sedan om sidan."
)
NO_ACCOUNTS_EN = (
    "The staff console is closed: no staff account exists. Create one with `rag staff add NAME --role admin`."
)
WRONG_SV = "Fel användarnamn eller lösenord. Försök igen."
THROTTLED_SV = "För många misslyckade försök. Vänta några minuter och försök igen."


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def session_user(directory: StaffDirectory, conn: HTTPConnection) -> StaffUser | None:
    """The signed-in staff user of a request (its cookie's session), or None."""
    return directory.user_for_token(conn.cookies.get(COOKIE))


def login_form(message: str = "", *, error: bool = False, name: str = "") -> str:
    note = f'<p class="{"fel" if error else "info"}" role="alert">{escape(message)}</p>' if message else ""
    body = (
        "<h1>Personalkonsol – logga in</h1>"
        "<p>Konsolen är till för kontaktcenters medarbetare. Logga in med ditt eget konto.</p>"
        f"{note}"
        f'<form method="post" action="{LOGIN_PATH}">'
        '<label for="namn">Användarnamn</label>'
        f'<input id="namn" name="namn" type="text" autocomplete="username" autocapitalize="none" '
        f'spellcheck="false" required value="{escape(name)}"{"" if name else " autofocus"}>'
        '<label for="losenord">Lösenord</label>'
        '<input id="losenord" name="losenord" type="password" autocomplete="current-password" required'
        f"{' autofocus' if name else ''}>"
        '<button type="submit">Logga in</button></form>'
        '<p><a href="/">Till invånarchatten</a></p>'
    )
    return page("Logga in – personalkonsol", body)


def closed_page() -> str:
    return page(
        "Personalkonsolen är stängd",
        f"<h1>Personalkonsolen är stängd</h1><p class='fel' role='alert'>{escape(NO_ACCOUNTS_SV)}</p>",
    )


def cookie_secure(web: WebSettings, scheme: str) -> bool:
    return web.cookie_secure if web.cookie_secure is not None else scheme == "https"


def make_router(directory: StaffDirectory, web: WebSettings) -> APIRouter:
    router = APIRouter()

    @router.get(LOGIN_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def login_page() -> Response:
        if not await run_in_threadpool(directory.has_accounts):
            return HTMLResponse(closed_page(), status_code=503)
        return HTMLResponse(login_form())

    @router.post(LOGIN_PATH, include_in_schema=False)
    async def login(request: Request) -> Response:
        if not await run_in_threadpool(directory.has_accounts):
            return HTMLResponse(closed_page(), status_code=503)
        form = await request.form()
        name, password = form.get("namn"), form.get("losenord")
        name = name[:MAX_FIELD_CHARS] if isinstance(name, str) else ""
        password = password[:MAX_FIELD_CHARS] if isinstance(password, str) else ""
        result = await run_in_threadpool(directory.sign_in, name, password, client_address(request))
        if result.refused == "throttled":
            return HTMLResponse(login_form(THROTTLED_SV, error=True), status_code=429)
        if result.token is None:
            return HTMLResponse(login_form(WRONG_SV, error=True, name=name), status_code=401)
        resp = RedirectResponse(f"{CONSOLE_PATH}/", status_code=303)
        resp.set_cookie(
            COOKIE,
            result.token,
            max_age=int(directory.session_hours * 3600),
            path=CONSOLE_PATH,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(web, request.url.scheme),
        )
        return resp

    @router.api_route(LOGOUT_PATH, methods=["GET", "POST"], include_in_schema=False)
    async def logout(request: Request) -> Response:
        await run_in_threadpool(directory.sign_out, request.cookies.get(COOKIE))
        resp = RedirectResponse(LOGIN_PATH, status_code=303)
        resp.delete_cookie(COOKIE, path=CONSOLE_PATH)
        return resp

    return router


class StaffGuard:
    """ASGI middleware: nothing under /personal (page, Gradio API, files, export) without a valid staff session."""

    def __init__(self, app: ASGIApp, directory: StaffDirectory) -> None:
        self.app = app
        self.directory = directory

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
        if await run_in_threadpool(session_user, self.directory, request) is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response: Response
        wants_html = scope.get("method") == "GET" and "text/html" in request.headers.get("accept", "")
        if not await run_in_threadpool(self.directory.has_accounts):
            if wants_html:
                response = HTMLResponse(closed_page(), status_code=503)
            else:
                response = _json(503, NO_ACCOUNTS_SV, NO_ACCOUNTS_EN, "console_closed")
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
    body: dict[str, Any] = {"error": {"message": sv, "detail": en, "code": code}}
    return JSONResponse(body, status_code=status)
