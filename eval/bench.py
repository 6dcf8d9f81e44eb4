"""`python -m eval bench`: how fast the assistant starts to answer, against a plain RAG prompt on the same model.

One process, one model, one set of settings; the question set runs twice:

* **assistant** — the service as residents meet it (guard, retrieval, scorer, gate, the scorer's units in the
  prompt, verification, streaming of the first verified sentence);
* **plain** — what a LangChain or LlamaIndex starter sends: a short Swedish system line, the same retrieval's
  top three passages, the question; streamed as it comes.

Per question it records the time from the question to the first token the LLM wrote, to the first text
a resident sees, and to the end; the prompt tokens the LLM read anew and those it took from its cache (so
that the fixed system prompt is seen to be read once); tokens per second. It prints the medians and p95s and
the ratio of the medians assistant/plain, and writes them with the machine's load to docs/performance.md.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.dataset import Question
from rag.generation.base import Message
from rag.service import AssistantService
from rag.types import Answer, AnswerDelta

PLAIN_SYSTEM = "Du är en hjälpsam assistent. Svara på frågan utifrån källorna."


@dataclass
class Sample:
    question: str
    language: str
    first_token_ms: float | None = None  # the LLM's first token, from the question
    first_shown_ms: float | None = None  # the first text a resident sees, from the question
    total_ms: float = 0.0
    prompt_tokens: int | None = None
    evaluated_tokens: int | None = None  # read anew (not from the prefix cache)
    generated: int = 0
    generation_ms: float = 0.0
    refused: bool = False
    llm_calls: list[dict[str, int]] = field(default_factory=list)


def _stats(generator: Any) -> dict[str, int] | None:
    stats = getattr(generator, "last_stats", None)
    return dict(stats) if stats else None


def run_assistant(service: AssistantService, q: Question) -> Sample:
    s = Sample(q.question, q.lang or "sv")
    t0 = time.perf_counter()
    seen = {id(c) for c in getattr(service.generator, "history", ())}  # a bounded deque: count by identity
    answer: Answer | None = None
    for event in service.ask_stream(q.question, q.history):
        now = (time.perf_counter() - t0) * 1000
        if isinstance(event, AnswerDelta) and s.first_shown_ms is None:
            s.first_shown_ms = now
        if isinstance(event, Answer):
            answer = event
    s.total_ms = (time.perf_counter() - t0) * 1000
    assert answer is not None
    s.refused = answer.refused
    if answer.llm_called:
        t = answer.timings_ms
        before_llm = t.get("guard", 0) + t.get("retrieval", 0) + t.get("score_units", 0) + t.get("gate", 0)
        s.first_token_ms = before_llm + t.get("time_to_first_token", 0)
        s.generated = answer.tokens_generated
        s.generation_ms = t.get("generation", 0) - t.get("time_to_first_token", 0)
    s.llm_calls = [dict(c) for c in getattr(service.generator, "history", ()) if id(c) not in seen]
    main = [c for c in s.llm_calls if c.get("role") == "answer"]
    if main:
        s.prompt_tokens, s.evaluated_tokens = main[-1]["prompt"], main[-1]["evaluated"]
    return s


def run_plain(service: AssistantService, q: Question) -> Sample:
    from rag.ingest import passage_text

    s = Sample(q.question, q.lang or "sv")
    t0 = time.perf_counter()
    hits = service.retriever.search(q.question).hits[:3]
    sources = "\n\n".join(f"[{i}] {passage_text(h.chunk)}" for i, h in enumerate(hits, 1))
    messages: list[Message] = [
        {"role": "system", "content": PLAIN_SYSTEM},
        {"role": "user", "content": f"Källor:\n{sources}\n\nFråga: {q.question}"},
    ]
    first: float | None = None
    n = 0
    for _ in service.generator.stream(messages, max_tokens=service.settings.llm_max_tokens):
        if first is None:
            first = time.perf_counter()
            s.first_token_ms = s.first_shown_ms = (first - t0) * 1000
        n += 1
    end = time.perf_counter()
    s.total_ms = (end - t0) * 1000
    s.generated = n
    s.generation_ms = (end - (first or end)) * 1000
    stats = _stats(service.generator)
    if stats:
        s.prompt_tokens, s.evaluated_tokens = stats["prompt"], stats["evaluated"]
    return s


def percentile(values: Sequence[float], p: float) -> float | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    k = (len(vals) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def summary(samples: Sequence[Sample]) -> dict[str, float | None]:
    answered = [s for s in samples if s.first_token_ms is not None]

    def pick(attr: str) -> list[float]:
        return [getattr(s, attr) for s in answered if getattr(s, attr) is not None]

    gen_ms = sum(s.generation_ms for s in answered)
    tokens = sum(max(s.generated - 1, 0) for s in answered)
    return {
        "questions": len(samples),
        "llm_answers": len(answered),
        "first_token_p50": percentile(pick("first_token_ms"), 50),
        "first_token_p95": percentile(pick("first_token_ms"), 95),
        "first_shown_p50": percentile(pick("first_shown_ms"), 50),
        "first_shown_p95": percentile(pick("first_shown_ms"), 95),
        "total_p50": percentile(pick("total_ms"), 50),
        "total_p95": percentile(pick("total_ms"), 95),
        "prompt_tokens_p50": percentile(pick("prompt_tokens"), 50),
        "evaluated_tokens_p50": percentile(pick("evaluated_tokens"), 50),
        "evaluated_tokens_p95": percentile(pick("evaluated_tokens"), 95),
        "tokens_per_s": tokens / (gen_ms / 1000) if gen_ms > 0 else None,
    }


def machine() -> dict[str, str]:
    load = os.getloadavg()
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": str(len(os.sched_getaffinity(0))),
        "load average (1, 5, 15 min) at the end": ", ".join(f"{x:.2f}" for x in load),
        "python": platform.python_version(),
    }


def render(
    label: str,
    sets: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    env: dict[str, str],
    notes: Sequence[str],
) -> str:
    def f(v: Any, scale: float = 1000.0, digits: int = 2) -> str:
        return "–" if v is None else f"{v / scale:.{digits}f}"

    lines = [f"## {label}", "", "| | " + " | ".join(env) + " |", "|---|" + "---|" * len(env)]
    lines.append("| machine | " + " | ".join(env.values()) + " |")
    for name, (a, p) in sets.items():
        lines += [
            "",
            f"### {name}",
            "",
            "| | assistant | plain RAG prompt | ratio (medians) |",
            "|---|---|---|---|",
        ]
        for key, what in (
            ("first_token", "time to first token"),
            ("first_shown", "time to first text shown"),
            ("total", "total"),
        ):
            for pct in ("p50", "p95"):
                av, pv = a.get(f"{key}_{pct}"), p.get(f"{key}_{pct}")
                ratio = f"{av / pv:.2f}" if pct == "p50" and av and pv else ""
                lines.append(f"| {what} {pct} (s) | {f(av)} | {f(pv)} | {ratio} |")
        for key, what in (
            ("prompt_tokens_p50", "prompt tokens p50"),
            ("evaluated_tokens_p50", "prompt tokens read anew p50 (not from the cache)"),
            ("evaluated_tokens_p95", "prompt tokens read anew p95"),
        ):
            lines.append(f"| {what} | {f(a.get(key), 1, 0)} | {f(p.get(key), 1, 0)} | |")
        lines.append(
            f"| generation tokens/s | {f(a.get('tokens_per_s'), 1, 1)} | {f(p.get('tokens_per_s'), 1, 1)} | |"
        )
        lines.append(
            f"| questions (answered by the LLM) | {a['questions']} ({a['llm_answers']}) | {p['questions']} ({p['llm_answers']}) | |"
        )
    lines += ["", *notes, ""]
    return "\n".join(lines)


def write_page(path: Path, section: str) -> None:
    """Replace the bench section of docs/performance.md (other sections, written by other scripts, stay)."""
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Performance\n\n"
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
