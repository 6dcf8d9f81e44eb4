"""OpenAI-compatible chat servers (llama.cpp's llama-server, llama-cpp-python's server, vLLM, Ollama) as the
generator: streamed replies from a pool of servers (rag/generation/pool.py).

The server applies its model's chat template; the model name is the first one the server lists at
``GET /v1/models`` unless RAG_LLM_MODEL names one. Decoding is greedy (temperature 0), as in-process.

Failures and what follows:

* a connection error before the server answered (refused, reset, connect timeout, 502/503/504): the server
  cools down and the request goes to another server after a short back-off, at most ``retries`` times;
* a read timeout, another error status or a broken stream: the server cools down and the request fails
  with :class:`GenerationUnavailableError` (the server may still be working on it, or has written part of
  the reply: a second server would only add load or write a different reply);
* no server left to try: :class:`GenerationUnavailableError`, which the service turns into the hand-off.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import httpx

from rag.errors import GenerationUnavailableError
from rag.generation.base import Generator, Message
from rag.generation.pool import Server, ServerPool

log = logging.getLogger(__name__)

RETRY_STATUS = (502, 503, 504)  # the server (or a proxy before it) did not take the request
BACKOFF_S = 0.25  # before retry n: BACKOFF_S * 2**(n-1)


class _NotTaken(Exception):
    """The server did not take the request (a connection error): safe to send it elsewhere."""


class _Rejected(GenerationUnavailableError):
    """The server refused this request (HTTP 4xx: too long, unknown model); the server itself is fine."""


class OpenAIGenerator(Generator):
    def __init__(
        self,
        urls: list[str],
        *,
        slots: int = 1,
        model: str = "",
        api_key: str = "",
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 120.0,
        retries: int = 2,
        cooldown_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.pool = ServerPool(urls, slots=slots, cooldown_s=cooldown_s, wait_s=read_timeout_s, clock=clock)
        self.model = model
        self.retries = retries
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = httpx.Timeout(
            connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=connect_timeout_s
        )
        self._sleep = sleep
        self._models: dict[str, str] = {}  # server URL -> the model name it serves
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self.name = f"openai:{model or ','.join(urls)}"  # the served model's name once a server told it

    @property
    def capacity(self) -> int:
        return self.pool.capacity

    def health(self) -> dict[str, object]:
        return {"name": self.name, "servers": [asdict(st) for st in self.pool.status()]}

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout,
                    headers=self._headers,
                    limits=httpx.Limits(max_connections=max(4, self.pool.capacity * 2)),
                )
            return self._client

    def warm_up(self) -> None:
        """Ask every server for its model, so the first resident does not wait for it; log who is down."""
        for server in self.pool.servers:
            try:
                self._model_for(server.url)
            except _NotTaken as exc:
                log.warning("LLM server %s does not answer: %s", server.url, exc)

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        tried: list[str] = []
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(BACKOFF_S * 2 ** (attempt - 1))
            server = self.pool.acquire(avoid=tried)
            tried.append(server.url)
            failure: str | None = None
            try:
                yield from self._stream_from(server, messages, max_tokens)
                return
            except _NotTaken as exc:
                failure = str(exc)
                log.warning(
                    "LLM server %s did not take the request (%s); %s",
                    server.url,
                    exc,
                    "trying again" if attempt < self.retries else "no tries left",
                )
            except _Rejected:
                raise  # the request's fault, not the server's: no cool-down
            except GenerationUnavailableError as exc:
                failure = exc.detail
                raise
            finally:
                self.pool.release(server, error=failure)
        raise GenerationUnavailableError(f"{len(tried)} tries failed ({self.pool.describe()})")

    def _model_for(self, url: str) -> str:
        if self.model:
            return self.model
        if url not in self._models:
            try:
                resp = self._http().get(f"{url}/models")
            except httpx.TransportError as exc:
                raise _NotTaken(_describe(exc)) from exc
            if resp.status_code in RETRY_STATUS:
                raise _NotTaken(f"HTTP {resp.status_code} from /models")
            try:
                resp.raise_for_status()
                self._models[url] = str(resp.json()["data"][0]["id"])
            except (httpx.HTTPStatusError, ValueError, KeyError, IndexError, TypeError) as exc:
                raise GenerationUnavailableError(
                    f"{url}/models did not name a model ({_describe(exc)}); set RAG_LLM_MODEL"
                ) from exc
            log.info("LLM server %s serves %s", url, self._models[url])
            self.name = f"openai:{self._models[url]}"
        return self._models[url]

    def _stream_from(self, server: Server, messages: list[Message], max_tokens: int) -> Iterator[str]:
        body: dict[str, Any] = {
            "model": self._model_for(server.url),
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "top_k": 1,  # llama.cpp and vLLM read these two; other servers ignore them
            "repeat_penalty": 1.05,
            "stream": True,
        }
        url = f"{server.url}/chat/completions"
        written = False
        try:
            with self._http().stream("POST", url, json=body) as resp:
                if resp.status_code in RETRY_STATUS:
                    raise _NotTaken(f"HTTP {resp.status_code}")
                if resp.status_code != 200:
                    text = resp.read().decode("utf-8", "replace")[:300]
                    error = _Rejected if 400 <= resp.status_code < 500 else GenerationUnavailableError
                    raise error(f"{url} answered HTTP {resp.status_code}: {text}")
                for line in resp.iter_lines():
                    piece = _sse_piece(line, url)
                    if piece is None:
                        return
                    if piece:
                        written = True
                        yield piece
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _NotTaken(_describe(exc)) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if not written:
                # Dropped before a word arrived (a kept-alive connection the server had closed, a server
                # that died): nothing reached the resident, so another server may write the reply.
                raise _NotTaken(_describe(exc)) from exc
            raise GenerationUnavailableError(f"{url}: {_describe(exc)}", partial=True) from exc
        except httpx.TimeoutException as exc:
            raise GenerationUnavailableError(
                f"{url} sent nothing for {self._timeout.read:.0f} s (RAG_LLM_READ_TIMEOUT_S)", partial=written
            ) from exc
        raise GenerationUnavailableError(f"{url} ended the reply without [DONE]", partial=written)


def _sse_piece(line: str, url: str) -> str | None:
    """The text of one server-sent-events line: "" for a line without text, None at the end ([DONE])."""
    if not line.startswith("data:"):
        return ""  # blank separators, comments (": ping") and event names
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise GenerationUnavailableError(f"{url} sent a line that is not JSON: {data[:120]!r}") from exc
    if "error" in event:
        raise GenerationUnavailableError(f"{url} reported an error: {str(event['error'])[:300]}")
    choices = event.get("choices") or [{}]
    return str((choices[0].get("delta") or {}).get("content") or "")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
