"""The web doors to the assistant: the resident chat widget, the staff console and the HTTP API.

Everything here is a thin adapter over :class:`rag.service.AssistantService`; build the whole thing with
:func:`rag.web.app.create_app`. `create_app` is imported lazily, so the command line's `rag staff` and `rag logs`
(which use rag.web.staff and rag.web.feedback) do not load Gradio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.web.config import WebSettings

if TYPE_CHECKING:
    from rag.web.app import create_app

__all__ = ["WebSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from rag.web.app import create_app

        return create_app
    raise AttributeError(f"module 'rag.web' has no attribute {name!r}")
