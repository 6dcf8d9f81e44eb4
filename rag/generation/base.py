"""Generator interface: llama.cpp in-process, a pool of OpenAI-compatible servers, or a scripted fake."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

from rag.errors import ConfigError, GenerationUnavailableError

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

    def health(self) -> dict[str, object]:
        """What staff see of it at GET /api/health."""
        return {"name": self.name}

    @property
    def capacity(self) -> int:
        """Replies it writes at once (the web queue lets this many questions through together)."""
        return 1


def until_unavailable(pieces: Iterator[str], failed: list[GenerationUnavailableError]) -> Iterator[str]:
    """The pieces of a reply, ended early (not raised) when the generator reports that no server gave one or
    that it broke off: the error is appended to ``failed`` for the caller to hand over or keep what came."""
    try:
        yield from pieces
    except GenerationUnavailableError as exc:
        failed.append(exc)


def make_generator(settings: Settings) -> Generator:
    if settings.generator == "llama-cpp":
        from rag.generation.llama import LlamaCppGenerator

        return LlamaCppGenerator(settings.llm_path, n_ctx=settings.llm_ctx, threads=settings.threads)
    if settings.generator == "openai":
        from rag.config import llm_server_urls
        from rag.generation.openai import OpenAIGenerator

        return OpenAIGenerator(
            llm_server_urls(settings.llm_urls),
            slots=settings.llm_slots,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            connect_timeout_s=settings.llm_connect_timeout_s,
            read_timeout_s=settings.llm_read_timeout_s,
            retries=settings.llm_retries,
            cooldown_s=settings.llm_cooldown_s,
        )
    if settings.generator == "scripted":
        from rag.generation.fake import ScriptedGenerator

        return ScriptedGenerator()
    raise ConfigError(f"unknown generator {settings.generator!r}")
