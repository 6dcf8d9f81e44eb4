"""create_app: the FastAPI process that serves the resident chat (/), the staff console (/personal), the HTTP API
(/api, /v1) and the document viewer (/dokument), all over one AssistantService."""

from __future__ import annotations

import logging
import threading

import gradio as gr
from fastapi import FastAPI

from rag.config import Settings
from rag.errors import RagError
from rag.service import AssistantService
from rag.web import api, auth, chat, console
from rag.web.config import WebSettings
from rag.web.feedback import WebStore
from rag.web.gate import GenerationQueue
from rag.web.runtime import WebAssistant

log = logging.getLogger(__name__)

DB_NAME = "web.sqlite3"


def create_app(
    service: AssistantService,
    settings: Settings | None = None,
    web: WebSettings | None = None,
    *,
    store: WebStore | None = None,
    gate: GenerationQueue | None = None,
) -> FastAPI:
    """Build the whole web app over a ready service (tests pass one with fakes). Loads no model."""
    settings = settings or service.settings
    web = web or WebSettings.from_env()
    store = store or WebStore(settings.data_dir / DB_NAME, retention_days=web.retention_days)
    gate = gate or GenerationQueue(
        max_waiting=web.queue_size, wait_s=web.queue_wait_s, workers=service.generator.capacity
    )
    assistant = WebAssistant(service, store, gate)
    staff = auth.StaffAuth(web)

    app = FastAPI(
        title="Fråga Helsingborgs stad – API",
        description="Svar med källor ur Helsingborgs stads dokument. Se docs/api.md.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.assistant = assistant
    app.state.staff = staff
    app.state.web_settings = web
    api.install_error_handlers(app)
    app.include_router(auth.make_router(staff))
    app.include_router(
        api.make_router(assistant, max_body_bytes=web.max_body_bytes, corpus_dir=settings.corpus_dir)
    )
    app.add_middleware(auth.StaffGuard, auth=staff)

    app = gr.mount_gradio_app(
        app,
        console.build_console(assistant, settings),
        path=auth.CONSOLE_PATH,
        auth_dependency=staff.user_for,
        footer_links=[],
        run_history=False,
        css=console.CSS,
        js=chat.JS,
        head=chat.HEAD,
        show_error=False,
    )
    app = gr.mount_gradio_app(
        app,
        chat.build_chat(assistant),
        path="/",
        footer_links=[],
        run_history=False,
        css=chat.CSS,
        js=chat.JS,
        head=chat.HEAD,
        show_error=False,
    )
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
