"""Start the resident chat, the staff console and the HTTP API on http://RAG_HOST:RAG_PORT (127.0.0.1:7860).

Starts in seconds when the index exists: nothing heavy is imported or loaded here; the LLM warms up in a background
thread after the server is up.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("RAG_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from rag.config import Settings
    from rag.errors import RagError
    from rag.service import AssistantService
    from rag.web.app import create_app, warm_up_in_background
    from rag.web.config import WebSettings

    log = logging.getLogger("app")
    try:
        settings = Settings.from_env()
        web = WebSettings.from_env()
        service = AssistantService(settings)
        service.index  # fail fast, with the command that fixes it, when the index is missing  # noqa: B018
        app = create_app(service, settings, web)
    except RagError as exc:
        log.error("Fel: %s", exc)
        return 2
    if not app.state.staff.has_accounts():
        log.warning(
            "the staff console at /personal stays closed until a staff account exists: "
            ".venv/bin/rag staff add NAME --role admin"
        )
    if web.warm_up:
        warm_up_in_background(service)
    log.info(
        "serving on http://%s:%d (chat /, staff console /personal, API /api and /v1)", web.host, web.port
    )
    uvicorn.run(app, host=web.host, port=web.port, log_level="warning", proxy_headers=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
