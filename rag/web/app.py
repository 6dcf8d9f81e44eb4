"""create_app: the FastAPI process that serves the resident chat (/), the staff console (/personal), the HTTP API
(/api, /v1) and the document viewer (/dokument), all over one AssistantService."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse

from rag.config import Settings
from rag.errors import RagError
from rag.service import AssistantService
from rag.web import api, auth, chat, console
from rag.web.config import WebSettings
from rag.web.console_actions import ConsoleActions
from rag.web.database import DB_NAME, describe_web_database, migrate_web_database, open_web_database
from rag.web.feedback import FeedbackStore, make_web_store
from rag.web.gate import BusyLimit, make_generation_queue
from rag.web.gradio_sv import I18N, SCRIPT_FILE, SCRIPT_ROUTE
from rag.web.headers import SecurityHeaders
from rag.web.maintenance import RetentionTimer
from rag.web.runtime import WebAssistant
from rag.web.staff import StaffDirectory
from rag.web.staff_repository import make_staff_repository

log = logging.getLogger(__name__)

__all__ = ["DB_NAME", "create_app", "warm_up_in_background"]


def create_app(
    service: AssistantService,
    settings: Settings | None = None,
    web: WebSettings | None = None,
    *,
    store: FeedbackStore | None = None,
    gate: BusyLimit | None = None,
    staff: StaffDirectory | None = None,
) -> FastAPI:
    """Build the whole web app over a ready service (tests pass one with fakes). Loads no model.

    Migrates the web database — PostgreSQL when RAG_DATABASE_URL is set (state shared by every replica), else
    RAG_DATA_DIR/web.sqlite3 — and purges what is past its retention; while the app runs (its lifespan) a timer
    purges again every `web.purge_interval_s`.
    """
    settings = settings or service.settings
    web = web or WebSettings.from_env()
    if store is not None:
        db = store.db  # type: ignore[attr-defined]  # both implementations keep their database here
        migrate_web_database(db)
    else:
        db = open_web_database(settings)
    log.info("feedback, log and staff sessions in %s", describe_web_database(db))
    store = store or make_web_store(db, retention_days=web.retention_days)
    staff = staff or StaffDirectory(
        make_staff_repository(db),
        session_hours=web.session_hours,
        max_sign_in_failures=web.max_login_failures,
        sign_in_window_s=web.login_window_s,
        audit_retention_days=web.audit_retention_days,
    )
    gate = gate or make_generation_queue(
        db,
        settings,
        workers=service.generator.capacity,
        max_waiting=web.queue_size,
        wait_s=web.queue_wait_s,
        lease_s=web.slot_lease_s,
    )
    assistant = WebAssistant(service, store, gate)
    actions = ConsoleActions(assistant, settings, staff)
    retention = RetentionTimer(store, staff, web.purge_interval_s)
    retention.run_once()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        retention.start()
        try:
            yield
        finally:
            retention.stop()

    app = FastAPI(
        title="Fråga Helsingborgs stad – API",
        description="Svar med källor ur Helsingborgs stads dokument. Se docs/api.md.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.assistant = assistant
    app.state.staff = staff
    app.state.web_settings = web
    app.state.retention = retention
    api.install_error_handlers(app)
    app.include_router(auth.make_router(staff, web))
    app.include_router(console.make_export_router(actions))
    app.include_router(
        api.make_router(assistant, max_body_bytes=web.max_body_bytes, corpus_dir=settings.corpus_dir)
    )
    app.add_middleware(auth.StaffGuard, directory=staff)

    @app.get(SCRIPT_ROUTE, include_in_schema=False)
    def gradio_in_swedish() -> FileResponse:
        return FileResponse(
            SCRIPT_FILE, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
        )

    def gradio_user(request: Request) -> str | None:
        user = auth.session_user(staff, request)
        return user.name if user else None

    app = gr.mount_gradio_app(
        app,
        console.build_console(actions),
        path=auth.CONSOLE_PATH,
        auth_dependency=gradio_user,
        footer_links=[],
        run_history=False,
        css=console.CSS,
        i18n=I18N,
        theme=chat.THEME,
        show_error=False,
    )
    app = gr.mount_gradio_app(
        app,
        chat.build_chat(assistant),
        path="/",
        footer_links=[],
        run_history=False,
        css=chat.CSS,
        i18n=I18N,
        theme=chat.THEME,
        show_error=False,
    )
    app.add_middleware(SecurityHeaders, web=web)  # outermost: the guard's refusals get the headers too
    return app


def warm_up_in_background(service: AssistantService) -> threading.Thread:
    """Load the index, the embedder and the LLM after start so the first resident does not wait for them."""

    def run() -> None:
        try:
            service.retriever.search("kontaktcenter öppettider")
            service.generator.warm_up()
            log.info("warm-up done")
        except RagError as exc:
            log.error("warm-up failed: %s", exc)
        except Exception:
            log.exception("warm-up failed")

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread
