"""Small OpenAI-compatible HTTP servers (stdlib http.server, one thread each) that misbehave on purpose, for
the openai generator's pool tests. Each counts its requests and the most it had in flight at once."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rag.generation.base import Message

Reply = Callable[[list[Message]], str]


class FakeLLMServer:
    """GET /v1/models and streaming POST /v1/chat/completions.

    mode: "ok" | "status" (answer ``status`` with an error body) | "hang" (say nothing for ``delay`` s, then
    answer) | "break" (send ``pieces_before_break`` pieces, then drop the connection)."""

    def __init__(
        self,
        reply: Reply | str = "Hej från servern.",
        *,
        mode: str = "ok",
        status: int = 503,
        delay: float = 0.0,
        piece_delay: float = 0.0,
        pieces_before_break: int = 2,
        model: str = "fake-model",
    ) -> None:
        self.reply = reply
        self.mode = mode
        self.status = status
        self.delay = delay
        self.piece_delay = piece_delay
        self.pieces_before_break = pieces_before_break
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _reply_for(self, messages: list[Message]) -> str:
        return self.reply if isinstance(self.reply, str) else self.reply(messages)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _json(self, status: int, data: object) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with server._lock:
                    server.requests.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, body: dict[str, Any]) -> None:
                if server.mode == "status":
                    self._json(server.status, {"error": {"message": f"status {server.status} on purpose"}})
                    return
                if server.mode == "hang":
                    time.sleep(server.delay)
                words = server._reply_for(body["messages"]).split(" ")
                pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for i, piece in enumerate(pieces):
                    if server.mode == "break" and i == server.pieces_before_break:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)  # the server died mid-reply
                        self.close_connection = True
                        return
                    event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(server.piece_delay)
                if server.mode == "break":  # every piece sent, then cut off before [DONE]
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def closed_port_url() -> str:
    """A URL where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class SilentListener:
    """A socket that listens but never accepts, its queue already full: a connect to it gets no answer, so
    the client's connect timeout runs out (a host that is up but whose server hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self._fillers = []
        for _ in range(3):  # fill the accept queue; further SYNs are dropped
            c = socket.socket()
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                c.connect(self.sock.getsockname())
            self._fillers.append(c)
        time.sleep(0.05)

    def close(self) -> None:
        for c in self._fillers:
            c.close()
        self.sock.close()
