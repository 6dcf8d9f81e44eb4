"""Stage 5, generate: the LLM's reply, handed on sentence by sentence as each is complete, with timings.

In the "choose" answer mode the LLM only picks, under a grammar, the number of the option that answers
(rag/generation/base.py ``choose``): it can select but never invent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.attribution import strip_markers
from rag.errors import GenerationUnavailableError
from rag.generation.base import Generator, Message, until_unavailable
from rag.text import split_sentences


@dataclass
class Generation:
    """What one generation produced; filled in while its sentences are consumed."""

    raw: str = ""
    tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    finished: float | None = None
    choice: int | None = None  # the chosen option (choose mode), 0 for none
    failed: GenerationUnavailableError | None = None  # no LLM server answered, or the reply broke off

    @property
    def time_to_first_token_ms(self) -> float:
        end = self.first_token or self.finished or time.perf_counter()
        return (end - self.started) * 1000

    @property
    def total_ms(self) -> float:
        return ((self.finished or time.perf_counter()) - self.started) * 1000


class GenerateStage:
    def __init__(self, generator: Generator, max_tokens: int) -> None:
        if max_tokens <= 0:
            raise ValueError(f"max_tokens must be greater than 0, got {max_tokens}")
        self.generator = generator
        self.max_tokens = max_tokens

    def sentences(self, messages: list[Message], gen: Generation) -> Iterator[str]:
        """Each complete sentence of the reply as soon as the next one has begun; the rest at the end."""
        emitted = 0
        failed: list[GenerationUnavailableError] = []
        for piece in until_unavailable(self.generator.stream(messages, max_tokens=self.max_tokens), failed):
            if gen.first_token is None:
                gen.first_token = time.perf_counter()
            gen.tokens += 1
            gen.raw += piece
            parts = split_sentences(strip_markers(gen.raw))
            while len(parts) - 1 > emitted:  # the last one may still be growing
                yield parts[emitted]
                emitted += 1
        gen.finished = time.perf_counter()
        gen.failed = failed[0] if failed else None
        yield from split_sentences(strip_markers(gen.raw))[emitted:]

    def choose(self, messages: list[Message], options: int, gen: Generation) -> int:
        try:
            gen.choice = self.generator.choose(messages, options)
        except GenerationUnavailableError as exc:
            gen.failed, gen.choice = exc, 0
        gen.first_token = gen.finished = time.perf_counter()
        gen.raw, gen.tokens = str(gen.choice), 1
        return gen.choice
