"""Time to first token, tokens/s and total time for a few questions on the live index and default models.

    .venv/bin/python scripts/bench_answers.py                 # the three default questions
    .venv/bin/python scripts/bench_answers.py "Fråga 1" ...   # your own

The model is loaded (and its prompt prefix cached) by a warm-up question first, as in the running chat;
figures are per question and the median over them. The machine is shared and noisy: compare medians.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time

from rag.config import Settings
from rag.service import AssistantService

QUESTIONS = [
    "Vilket telefonnummer har kontaktcenter?",
    "Vad är Helsingborgs målbild för 2027 byggd på?",
    "När ska Helsingborg vara klimatneutralt?",
]


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    questions = argv or QUESTIONS
    service = AssistantService(Settings.from_env())
    t0 = time.perf_counter()
    service.generator.warm_up()
    print(f"model load: {time.perf_counter() - t0:.1f} s")
    service.ask("Vad gör en kommunvägledare?")  # warms llama.cpp's cache of the fixed prompt prefix
    rows = []
    for q in questions:
        a = service.ask(q)
        t = a.timings_ms
        gen_s = (t.get("generation", 0) - t.get("time_to_first_token", 0)) / 1000
        tps = (a.tokens_generated - 1) / gen_s if gen_s > 0 and a.tokens_generated > 1 else float("nan")
        rows.append((t.get("time_to_first_token", float("nan")), tps, t["total"]))
        print(f"\nQ: {q}\nA: {a.text}")
        print(
            f"   refused={a.refused} llm={a.llm_called} ttft={t.get('time_to_first_token', 0) / 1000:.2f} s "
            f"tokens={a.tokens_generated} tok/s={tps:.1f} retrieval={t.get('retrieval', 0):.0f} ms "
            f"total={t['total'] / 1000:.2f} s"
        )
    llm_rows = [r for r in rows if r[0] == r[0]]
    if llm_rows:
        print(
            f"\nmedian over {len(llm_rows)}: ttft {statistics.median(r[0] for r in llm_rows) / 1000:.2f} s, "
            f"{statistics.median(r[1] for r in llm_rows if r[1] == r[1]):.1f} tok/s, "
            f"total {statistics.median(r[2] for r in llm_rows) / 1000:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
