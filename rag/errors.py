"""Domain errors. Each names the bad value and the fix; the edges (CLI, UI, API) turn them into messages."""

from __future__ import annotations


class RagError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(RagError, ValueError):
    pass


class InputError(RagError, ValueError):
    """A question or request the service cannot take as it is."""


class IndexMissingError(RagError):
    def __init__(self, path: str, detail: str = "") -> None:
        msg = (
            f"No usable index at {path}{': ' + detail if detail else ''}. Build it with: .venv/bin/rag ingest"
        )
        super().__init__(msg)
        self.path = path


class IndexCorruptError(IndexMissingError):
    pass


class ModelMissingError(RagError):
    def __init__(self, path: str, fix: str) -> None:
        super().__init__(f"Model file missing or damaged: {path}. {fix}")
        self.path = path


class DocumentError(RagError):
    """A document that cannot be ingested; ingest skips it and reports the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class GenerationUnavailableError(RagError):
    """No LLM server gave a reply: every server is down, failing or busy, or a reply broke off.

    The service answers the resident with the hand-off (phone, chat, visit) and logs this message for staff;
    ``partial`` tells that part of the reply had already arrived (it is never retried: a second server
    would write another reply)."""

    def __init__(self, detail: str, *, partial: bool = False) -> None:
        what = "The LLM server's reply broke off" if partial else "No LLM server answered"
        super().__init__(
            f"{what}: {detail}. Check that the servers in RAG_LLM_URLS run (GET <url>/models must answer)."
        )
        self.detail = detail
        self.partial = partial
