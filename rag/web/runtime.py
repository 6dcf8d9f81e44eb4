"""What every web door shares: the service, the busy limit and the redacted store."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from rag.errors import RagError
from rag.service import AssistantService
from rag.types import Answer, AnswerDelta, Turn
from rag.web.feedback import FeedbackStore
from rag.web.gate import BusyLimit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answered:
    """The last event of a web answer stream: the service's Answer and the id it was logged under."""

    answer: Answer
    answer_id: str | None


class WebAssistant:
    def __init__(self, service: AssistantService, store: FeedbackStore, gate: BusyLimit) -> None:
        self.service = service
        self.store = store
        self.gate = gate

    def stream(
        self, question: str, history: Sequence[Turn] = (), *, channel: str, session: str | None = None
    ) -> AnswerStream:
        """Verified answer text as it is produced, then Answered. Raises QueueFull at once when busy."""
        return AnswerStream(self, question, history, channel=channel, session=session)

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, channel: str, session: str | None = None
    ) -> Answered:
        stream = self.stream(question, history, channel=channel, session=session)
        final: Answered | None = None
        try:
            for event in stream:
                if isinstance(event, Answered):
                    final = event
        finally:
            stream.close()
        assert final is not None
        return final

    def log(self, answer: Answer, channel: str, session: str | None) -> str | None:
        try:
            return self.store.log_answer(answer, channel=channel, session=session)
        except (sqlite3.Error, RagError) as exc:  # an answer is worth more than its log line
            log.error("could not log the answer: %s", exc)
            return None


class AnswerStream:
    """An answer stream that already holds its generation slot, so "busy" is told before any output.

    Iterate it for AnswerDelta events and a final Answered; the slot is released when the stream ends, is closed,
    or is garbage-collected unstarted.
    """

    def __init__(
        self,
        assistant: WebAssistant,
        question: str,
        history: Sequence[Turn],
        *,
        channel: str,
        session: str | None,
    ) -> None:
        slot = assistant.gate.slot()
        slot.__enter__()  # raises QueueFull
        self._slot = slot
        self._released = False
        self._assistant = assistant
        self._events: Generator[AnswerDelta | Answer, None, None] = assistant.service.ask_stream(  # type: ignore[assignment]
            question, history
        )
        self._channel = channel
        self._session = session

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> AnswerDelta | Answered:
        if self._released:
            raise StopIteration
        try:
            event = next(self._events)
        except BaseException:
            self.close()
            raise
        if isinstance(event, Answer):
            return Answered(event, self._assistant.log(event, self._channel, self._session))
        return event

    def close(self) -> None:
        if getattr(self, "_released", True):
            return
        self._released = True
        try:
            self._events.close()
        finally:
            self._slot.__exit__(None, None, None)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finaliser
            self.close()
