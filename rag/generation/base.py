"""Generator interface. An OpenAI-compatible server backend can implement the same two methods later."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.config import Settings


class Message(TypedDict):
    role: str
    content: str


class Generator(ABC):
    name: str

    @abstractmethod
    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        """Yield the reply piece by piece (deterministic decoding: temperature 0)."""

    def choose(self, messages: list[Message], options: int) -> int:
        """The number (1..options) of the option the model picks, 0 for none. Backends that can constrain
        decoding (llama.cpp grammars) override this; the default reads the first digit of a short reply."""
        reply = "".join(self.stream(messages, max_tokens=3))
        digit = next((int(c) for c in reply if c.isdigit()), 0)
        return digit if digit <= options else 0

    def warm_up(self) -> None:  # noqa: B027 - optional hook
        """Load weights ahead of the first question (the chat calls it in the background at start)."""


def make_generator(settings: Settings) -> Generator:
    if settings.generator == "llama-cpp":
        from rag.generation.llama import LlamaCppGenerator

        return LlamaCppGenerator(settings.llm_path, n_ctx=settings.llm_ctx, threads=settings.threads)
    if settings.generator == "scripted":
        from rag.generation.fake import ScriptedGenerator

        return ScriptedGenerator()
    raise ConfigError(f"unknown generator {settings.generator!r}")
