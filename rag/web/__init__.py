"""The web doors to the assistant: the resident chat widget, the staff console and the HTTP API.

Everything here is a thin adapter over :class:`rag.service.AssistantService`; build the whole thing with
:func:`rag.web.app.create_app`.
"""

from rag.web.app import create_app
from rag.web.config import WebSettings

__all__ = ["WebSettings", "create_app"]
