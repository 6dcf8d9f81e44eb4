"""Local GGUF models through llama-cpp-python: loaded once, lazily; the prompt prefix cache is kept warm."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import ModelMissingError
from rag.generation.base import Generator, Message

log = logging.getLogger(__name__)

ASSEMBLE_HINT = "Assemble the default model with: .venv/bin/rag models, or set RAG_LLM_PATH to a GGUF file."


class LlamaCppGenerator(Generator):
    def __init__(self, model_path: Path, *, n_ctx: int = 2048, threads: int = 2) -> None:
        if n_ctx < 256:
            raise ValueError(f"n_ctx must be at least 256, got {n_ctx}")
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.threads = threads
        self.name = f"llama-cpp:{self.model_path.name}"
        self.role = "answer"  # or "aux" (translations): named in the statistics below
        self._llm: Any = None
        self._lock = threading.Lock()  # one llama.cpp context serves one request at a time
        # per call: prompt tokens, those read anew (the rest came from the cached prefix), tokens generated
        self.history: deque[dict[str, Any]] = deque(maxlen=1000)
        self.last_stats: dict[str, Any] | None = None

    def _load(self) -> Any:
        if self._llm is None:
            if not self.model_path.is_file():
                raise ModelMissingError(str(self.model_path), ASSEMBLE_HINT)
            with open(self.model_path, "rb") as fh:
                if fh.read(4) != b"GGUF":
                    raise ModelMissingError(str(self.model_path), "It is not a GGUF file. " + ASSEMBLE_HINT)
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelMissingError(
                    "llama_cpp", "Install it with: .venv/bin/pip install llama-cpp-python"
                ) from exc
            log.info("loading %s (n_ctx=%d, threads=%d)", self.model_path, self.n_ctx, self.threads)
            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    n_batch=512,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelMissingError(
                    str(self.model_path), f"llama.cpp could not load it ({exc}). " + ASSEMBLE_HINT
                ) from exc
        return self._llm

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def choose(self, messages: list[Message], options: int) -> int:
        """One token under a GBNF grammar that allows only "0".."options": the model selects, never writes."""
        if not 1 <= options <= 9:
            raise ValueError(f"options must be 1..9, got {options}")
        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_string(f"root ::= [0-{options}]", verbose=False)
        with self._lock:
            llm = self._load()
            before = self._perf(llm)
            out = llm.create_chat_completion(
                messages=list(messages), max_tokens=2, temperature=0.0, top_k=1, grammar=grammar
            )
            self._record(llm, before, 1)
        text = str(out["choices"][0]["message"].get("content") or "0").strip()
        return int(text[0]) if text[:1].isdigit() and int(text[0]) <= options else 0

    def _perf(self, llm: Any) -> tuple[int, int]:
        import llama_cpp

        data = llama_cpp.llama_perf_context(llm._ctx.ctx)
        return int(data.n_p_eval), int(data.n_eval)

    def _record(self, llm: Any, before: tuple[int, int], generated: int) -> None:
        p_eval, n_eval = self._perf(llm)
        evaluated = p_eval - before[0] + max(0, n_eval - before[1] - generated)
        prompt = max(int(llm.n_tokens) - generated, evaluated)
        self.last_stats = {
            "role": self.role,
            "prompt": prompt,
            "evaluated": evaluated,
            "generated": generated,
        }
        self.history.append(self.last_stats)

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        with self._lock:
            llm = self._load()
            before = self._perf(llm)
            generated = 0
            for part in llm.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.05,
                stream=True,
            ):
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    generated += 1
                    yield delta
            self._record(llm, before, generated)
