"""A scripted generator: deterministic replies for unit tests, and a record of every prompt it was given."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

from rag.generation.base import Generator, Message

Script = Callable[[list[Message]], str]


def echo_first_passage(messages: list[Message]) -> str:
    """Default script: answer with the first sentence of the first passage in the prompt."""
    user = messages[-1]["content"]
    m = re.search(r"\[1\][^\n]*\n(.+?)(?:\n\[\d\]|\nFråga:|\Z)", user, re.S)
    text = (m.group(1) if m else user).strip()
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first


class ScriptedGenerator(Generator):
    name = "scripted"

    def __init__(self, script: Script | str | list[str] | None = None) -> None:
        self._replies: list[str] | None = None
        self._script: Script = echo_first_passage
        if isinstance(script, str):
            self._replies = [script]
        elif isinstance(script, list):
            self._replies = list(script)
        elif script is not None:
            self._script = script
        self.calls: list[list[Message]] = []
        self._busy = threading.Lock()

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        # Like llama.cpp, one context serves one request at a time: a second stream opened while one is
        # still being read would block forever there, so here it fails loudly.
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("ScriptedGenerator: a second stream was opened while one is still running")
        try:
            yield from self._stream(messages, max_tokens=max_tokens)
        finally:
            self._busy.release()

    def _stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        self.calls.append(list(messages))
        if self._replies is not None:
            reply = self._replies[min(len(self.calls), len(self._replies)) - 1]
        else:
            reply = self._script(messages)
        words = reply.split(" ")
        for i, w in enumerate(words[:max_tokens]):
            yield w if i == 0 else " " + w
