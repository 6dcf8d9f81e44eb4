"""The HTTP API: POST /api/ask (the `rag ask --json` schema), an OpenAI-compatible /v1/chat/completions with
citations, /v1/models, feedback, health, and the document viewer (which reads only files inside the corpus).

Bad requests get clear 4xx JSON errors: {"error": {"message": <Swedish>, "detail": <English>, "code": ...}}.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from rag.errors import DocumentError, RagError
from rag.loaders import SUPPORTED_SUFFIXES, TEXT_SUFFIXES, load_document, load_metadata
from rag.types import Answer, AnswerDelta, Citation, Document, Turn
from rag.web.gate import BUSY_EN, BUSY_SV, QueueFull
from rag.web.render import DOC_ROUTE, FILE_ROUTE, document_page, document_url, page
from rag.web.runtime import Answered, AnswerStream, WebAssistant

log = logging.getLogger(__name__)

MODEL_ID = "helsingborg-assistent"
MAX_HISTORY = 50
MAX_FEEDBACK_COMMENT = 2000


class ApiError(Exception):
    def __init__(self, status: int, message_sv: str, detail_en: str, code: str) -> None:
        super().__init__(detail_en)
        self.status = status
        self.message_sv = message_sv
        self.detail_en = detail_en
        self.code = code

    def response(self) -> JSONResponse:
        headers = {"Retry-After": "10"} if self.status in (429, 503) else None
        return JSONResponse(
            {
                "error": {
                    "message": self.message_sv,
                    "detail": self.detail_en,
                    "code": self.code,
                    "type": "invalid_request_error"
                    if self.status < 500 and self.status != 429
                    else "server_error",
                }
            },
            status_code=self.status,
            headers=headers,
        )


def busy_error() -> ApiError:
    return ApiError(429, BUSY_SV, BUSY_EN, "busy")


def rag_error(exc: RagError) -> ApiError:
    log.error("service unavailable: %s", exc)
    return ApiError(
        503,
        "Tjänsten kan inte svara just nu. Ring kontaktcenter eller försök igen senare.",
        str(exc),
        "unavailable",
    )


async def read_json(request: Request, limit: int) -> Any:
    """The request body as JSON, refusing bodies over `limit` bytes before reading them whole."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise ApiError(400, "Ogiltig begäran.", "invalid Content-Length header", "bad_request") from None
        if too_big:
            raise _too_large(limit)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise _too_large(limit)
    if not body.strip():
        raise ApiError(
            400, "Begäran saknar innehåll. Skicka JSON.", "the request body is empty; send JSON", "empty_body"
        )
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(
            400, "Begäran är inte giltig UTF-8.", "the body is not valid UTF-8", "invalid_encoding"
        ) from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "Begäran är inte giltig JSON.",
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "invalid_json",
        ) from None


async def read_json_object(request: Request, limit: int, field: str) -> dict[str, Any]:
    """The request body as a JSON object; anything else is a 400 that names the field to send."""
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise ApiError(
            400,
            f"Skicka ett JSON-objekt med fältet {field}.",
            f"the body must be a JSON object, got {type(body).__name__}",
            "bad_request",
        )
    return body


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"Begäran är för stor (högst {limit // 1024} kB).",
        f"the body exceeds {limit} bytes",
        "too_large",
    )


def _field_error(sv: str, en: str) -> ApiError:
    return ApiError(422, sv, en, "invalid_field")


def _text_content(content: Any, where: str) -> str:
    """OpenAI message content: a string, or a list of parts of which the text parts count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise _field_error(
                    f"{where}: bara text stöds.", f"{where}: only text content parts are supported"
                )
        return "\n".join(texts)
    raise _field_error(
        f"{where}: innehållet måste vara text.",
        f"{where}.content must be a string, got {type(content).__name__}",
    )


def parse_history(raw: Any, where: str = "history") -> list[Turn]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _field_error(
            f"Fältet {where} måste vara en lista.", f"{where} must be a list, got {type(raw).__name__}"
        )
    if len(raw) > MAX_HISTORY:
        raise _field_error(
            f"Fältet {where} får ha högst {MAX_HISTORY} inlägg.",
            f"{where} may hold at most {MAX_HISTORY} items, got {len(raw)}",
        )
    turns = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _field_error(f"{where}[{i}] måste vara ett objekt.", f"{where}[{i}] must be an object")
        role = item.get("role")
        if role not in ("user", "assistant"):
            raise _field_error(
                f"{where}[{i}].role måste vara user eller assistant.",
                f"{where}[{i}].role must be 'user' or 'assistant', got {role!r}",
            )
        turns.append(Turn(role=role, content=_text_content(item.get("content"), f"{where}[{i}]")))
    return turns


def parse_question(raw: Any) -> str:
    if raw is None:
        raise _field_error("Fältet question saknas.", "the field 'question' is required")
    if not isinstance(raw, str):
        raise _field_error(
            "Fältet question måste vara text.", f"question must be a string, got {type(raw).__name__}"
        )
    if not raw.strip():
        raise _field_error("Frågan är tom. Skriv en fråga.", "question is empty")
    return raw


def sources_text(citations: list[Citation], language: str = "sv") -> str:
    if not citations:
        return ""
    head = "Sources:" if language == "en" else "Källor:"
    return (
        head
        + "\n"
        + "\n".join(
            f"[{c.n}] {c.chunk.title} ({', '.join(p for p in (c.chunk.source, c.chunk.page_label) if p)})"
            for c in citations
        )
    )


def citation_json(c: Citation, base_url: str) -> dict[str, Any]:
    data = c.to_dict()
    data["url"] = base_url.rstrip("/") + document_url(c.chunk.source, c.chunk.chunk_id)
    return data


def make_router(assistant: WebAssistant, *, max_body_bytes: int, corpus_dir: Path) -> APIRouter:
    router = APIRouter()

    def open_stream(question: str, history: list[Turn], channel: str) -> AnswerStream:
        try:
            return assistant.stream(question, history, channel=channel)
        except QueueFull as exc:
            log.info("told busy (%s): %s", channel, exc.reason)
            raise busy_error() from None

    def run_to_end(stream: AnswerStream) -> Answered:
        try:
            final = None
            for event in stream:
                if isinstance(event, Answered):
                    final = event
            assert final is not None
            return final
        except RagError as exc:
            raise rag_error(exc) from None
        finally:
            stream.close()

    @router.post(
        "/api/ask", tags=["api"], summary="Ställ en fråga (svar med källor, schemat från `rag ask --json`)"
    )
    async def api_ask(request: Request) -> JSONResponse:
        body = await read_json_object(request, max_body_bytes, "question")
        question = parse_question(body.get("question"))
        history = parse_history(body.get("history"))
        stream = await run_in_threadpool(open_stream, question, history, "api")
        final = await run_in_threadpool(run_to_end, stream)
        data = final.answer.to_json_dict()
        data["answer_id"] = final.answer_id
        return JSONResponse(data)

    @router.post("/api/feedback", tags=["api"], summary="Återkoppling på ett svar: 👍 (1) eller 👎 (-1)")
    async def api_feedback(request: Request) -> JSONResponse:
        body = await read_json_object(request, max_body_bytes, "answer_id")
        answer_id, rating, comment = body.get("answer_id"), body.get("rating"), body.get("comment", "")
        if not isinstance(answer_id, str) or not answer_id:
            raise _field_error("Fältet answer_id saknas.", "answer_id (from /api/ask) is required")
        if rating not in (1, -1) or isinstance(rating, bool):
            raise _field_error(
                "Fältet rating måste vara 1 eller -1.", f"rating must be 1 or -1, got {rating!r}"
            )
        if not isinstance(comment, str) or len(comment) > MAX_FEEDBACK_COMMENT:
            raise _field_error(
                "Kommentaren måste vara text (högst 2000 tecken).",
                "comment must be a string of at most 2000 characters",
            )
        try:
            fid = await run_in_threadpool(
                assistant.store.add_feedback, answer_id=answer_id, rating=rating, comment=comment
            )
        except KeyError:
            raise ApiError(
                404, "Svaret finns inte.", f"no answer with id {answer_id!r}", "not_found"
            ) from None
        return JSONResponse({"id": fid, "stored": True}, status_code=201)

    @router.get("/api/health", tags=["api"], summary="Läget: index och kö")
    def health() -> JSONResponse:
        queue = assistant.gate.health()
        try:
            index = assistant.service.index
        except RagError as exc:
            return JSONResponse({"status": "no_index", "detail": str(exc), "queue": queue}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "documents": len(index.manifest.documents),
                "chunks": len(index.chunks),
                "embedder": index.manifest.embedder_id,
                "queue": queue,
                "generator": assistant.service.generator.health(),
            }
        )

    # --- OpenAI-compatible ----------------------------------------------------------------------------
    @router.get("/v1/models", tags=["openai"])
    def models() -> JSONResponse:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "helsingborgs-stad"},
                ],
            }
        )

    @router.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-kompatibel chatt (svar med källor)")
    async def chat_completions(request: Request) -> Response:
        body = await read_json_object(request, max_body_bytes, "messages")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _field_error(
                "Fältet messages måste vara en lista med minst ett meddelande.",
                "messages must be a non-empty list",
            )
        stream_flag = body.get("stream", False)
        if not isinstance(stream_flag, bool):
            raise _field_error("Fältet stream måste vara true eller false.", "stream must be a boolean")
        turns: list[Turn] = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise _field_error(
                    f"messages[{i}] måste vara ett objekt.", f"messages[{i}] must be an object"
                )
            role = m.get("role")
            if role in ("system", "developer", "tool"):
                continue  # the assistant keeps its own instructions
            if role not in ("user", "assistant"):
                raise _field_error(
                    f"messages[{i}].role är ogiltig.", f"messages[{i}].role {role!r} is not supported"
                )
            turns.append(Turn(role=role, content=_text_content(m.get("content"), f"messages[{i}]")))
        if not turns or turns[-1].role != "user":
            raise _field_error(
                "Det sista meddelandet måste vara en fråga från user.",
                "the last non-system message must have role 'user'",
            )
        question = turns[-1].content
        if not question.strip():
            raise _field_error("Frågan är tom. Skriv en fråga.", "the last user message is empty")
        raw_model = body.get("model")
        model = raw_model if isinstance(raw_model, str) and raw_model else MODEL_ID
        base_url = str(request.base_url)
        stream = await run_in_threadpool(open_stream, question, turns[:-1], "openai")
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if not stream_flag:
            final = await run_in_threadpool(run_to_end, stream)
            return JSONResponse(_completion(final, cid, created, model, base_url))
        return StreamingResponse(
            _sse(stream, cid, created, model, base_url),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # --- document viewer --------------------------------------------------------------------------------
    @router.get(DOC_ROUTE + "/{source:path}", response_class=HTMLResponse, include_in_schema=False)
    def document(source: str, stycke: str | None = None) -> HTMLResponse:
        corpus = corpus_dir.resolve()
        path = safe_corpus_path(corpus, source)
        if path is None:
            log.warning("document viewer refused a path outside the corpus or not a document")
            return _not_found()
        rel = path.relative_to(corpus).as_posix()
        doc = indexed_document(rel, path, corpus)
        if doc is None:
            return _not_found()
        start = end = None
        if stycke:
            try:
                for c in assistant.service.index.chunks:
                    if c.chunk_id == stycke and c.source == rel:
                        start, end = c.start, c.end
                        break
            except RagError:
                pass
        return HTMLResponse(document_page(doc, start=start, end=end))  # headers: rag.web.headers

    def indexed_document(rel: str, path: Path, corpus: Path) -> Document | None:
        """The document as the index holds it (the text passages point into, å/ä/ö restored); a text file
        not indexed yet is read from disk, a PDF or a scan never is (no OCR on a page view)."""
        try:
            doc = assistant.service.index.documents.get(rel)
        except RagError:
            doc = None
        if doc is not None or path.suffix.lower() not in TEXT_SUFFIXES:
            return doc
        try:
            return load_document(path, corpus, load_metadata(corpus))
        except (DocumentError, RagError, OSError, ValueError):
            return None

    @router.get(FILE_ROUTE + "/{source:path}", include_in_schema=False)
    def original_file(source: str) -> Response:
        """The original file of an indexed document (a PDF opens in the browser, at #page=N)."""
        corpus = corpus_dir.resolve()
        path = safe_corpus_path(corpus, source)
        if path is None:
            return _not_found()
        media = {
            ".pdf": "application/pdf",
            ".txt": "text/plain; charset=utf-8",
            ".md": "text/plain; charset=utf-8",
        }
        kind = media.get(path.suffix.lower())
        headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        headers["Content-Disposition"] = "inline" if kind else "attachment"
        if kind != "application/pdf":  # the browser's PDF viewer needs its own scripts
            headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return FileResponse(path, media_type=kind or "application/octet-stream", headers=headers)

    # --- JSON 404 for unknown API paths (instead of the chat page) -------------------------------------
    @router.api_route(
        "/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
    )
    @router.api_route(
        "/v1/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
    )
    def unknown(rest: str) -> JSONResponse:
        return ApiError(
            404, "Det finns ingen sådan adress i API:t.", "no such API route", "not_found"
        ).response()

    return router


def safe_corpus_path(corpus: Path, source: str) -> Path | None:
    """The file `source` names inside the (resolved) corpus folder, or None for anything else."""
    if not source or "\x00" in source or source.startswith(("/", "\\")) or "\\" in source:
        return None
    try:
        path = (corpus / source).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    if not path.is_relative_to(corpus) or path == corpus or not path.is_file():
        return None
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return None
    return path


def _not_found() -> HTMLResponse:
    return HTMLResponse(
        page(
            "Dokumentet finns inte",
            "<h1>Dokumentet finns inte</h1><p>Det här dokumentet finns inte bland "
            "stadens dokument.</p><p><a href='/'>Till chatten</a></p>",
        ),
        status_code=404,
    )


def _content(answer: Answer) -> str:
    src = sources_text(answer.citations, answer.language)
    return answer.text + (f"\n\n{src}" if src else "")


def _usage(answer: Answer) -> dict[str, int]:
    prompt_tokens = len((answer.prompt or "").split())
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": answer.tokens_generated,
        "total_tokens": prompt_tokens + answer.tokens_generated,
    }


def _completion(final: Answered, cid: str, created: int, model: str, base_url: str) -> dict[str, Any]:
    a = final.answer
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": _content(a)}, "finish_reason": "stop"}
        ],
        "usage": _usage(a),
        "citations": [citation_json(c, base_url) for c in a.citations],
        "refused": a.refused,
        "answer_id": final.answer_id,
    }


def _sse(stream: AnswerStream, cid: str, created: int, model: str, base_url: str) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        first = True
        for event in stream:
            if isinstance(event, AnswerDelta):
                yield chunk({"content": ("" if first else " ") + event.text})
                first = False
            elif isinstance(event, Answered):
                a = event.answer
                src = sources_text(a.citations, a.language)
                if src:
                    yield chunk({"content": "\n\n" + src})
                yield chunk(
                    {},
                    "stop",
                    citations=[citation_json(c, base_url) for c in a.citations],
                    refused=a.refused,
                    answer_id=event.answer_id,
                )
    except RagError as exc:
        err = rag_error(exc)
        yield f"data: {json.dumps({'error': {'message': err.message_sv, 'detail': err.detail_en}})}\n\n"
    finally:
        stream.close()
    yield "data: [DONE]\n\n"


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return ApiError(422, "Begäran har fel format.", str(exc.errors())[:500], "invalid_field").response()
