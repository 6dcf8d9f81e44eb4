#!/usr/bin/env python
"""Prompt-reading and writing speed of the default model under llama.cpp's CPU kernels: Q4_K_M as shipped,
re-quantised to Q4_0 (whose weights llama.cpp repacks for AVX2/AVX-512), with and without flash attention.

    .venv/bin/python scripts/bench_kernels.py [--reps 5] [--threads 2]

Each variant reads the same ~300-token prompt (a system line and corpus text, the size of the assistant's
uncached prompt) from an empty cache and writes 24 tokens; it prints medians of prompt tokens/s, time to first
token and generation tokens/s, and each variant's ratio to Q4_K_M measured in the same run. The Q4_0 file is
written once to models/ (llama.cpp's quantize, --allow-requantize: from Q4_K_M, not from the original weights).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402

log = logging.getLogger("bench_kernels")


def requantize(src: Path, dst: Path, ftype: int) -> Path:
    import llama_cpp

    if dst.is_file():
        return dst
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 2
    t = time.perf_counter()
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0:
        raise RuntimeError(f"quantize {src} -> {dst} failed with {rc}")
    log.warning("wrote %s in %.0f s", dst.name, time.perf_counter() - t)
    return dst


def prompt_text() -> str:
    corpus = sorted((ROOT / "corpus").glob("*.txt"))
    text = corpus[0].read_text(encoding="utf-8")[:1100] if corpus else "Helsingborg " * 200
    return (
        "<|im_start|>system\nDu är kommunvägledare på Helsingborgs stads kontaktcenter. Svara kort på svenska.<|im_end|>\n"
        f"<|im_start|>user\nKällor:\n{text}\n\nFråga: Vad handlar texten om?<|im_end|>\n<|im_start|>assistant\n"
    )


def measure(path: Path, *, flash: bool, threads: int, reps: int) -> dict[str, float]:
    from llama_cpp import Llama

    llm = Llama(
        str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, flash_attn=flash, verbose=False
    )
    tokens = llm.tokenize(prompt_text().encode(), special=True)
    read, first, write = [], [], []
    for _ in range(reps + 1):  # the first rep warms up and is dropped
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        t1 = time.perf_counter()
        tok = llm.sample(temp=0.0)
        t2 = time.perf_counter()
        n = 1
        while n < 24 and tok != llm.token_eos():
            llm.eval([tok])
            tok = llm.sample(temp=0.0)
            n += 1
        t3 = time.perf_counter()
        read.append(len(tokens) / (t1 - t0))
        first.append(t2 - t0)
        write.append((n - 1) / max(t3 - t2, 1e-9))
    del llm
    return {
        "prompt_tokens": len(tokens),
        "read_tps": statistics.median(read[1:]),
        "ttft_s": statistics.median(first[1:]),
        "write_tps": statistics.median(write[1:]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import llama_cpp

    base = Settings.from_env().llm_path
    q40 = requantize(
        base, base.with_name(base.stem.replace("q4_k_m", "q4_0") + ".gguf"), llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0
    )
    variants = [
        ("Q4_K_M", base, False),
        ("Q4_K_M + flash attention", base, True),
        ("Q4_0 (requantised)", q40, False),
        ("Q4_0 + flash attention", q40, True),
    ]
    load = os.getloadavg()[0]
    rows = [
        (name, measure(path, flash=flash, threads=args.threads, reps=args.reps))
        for name, path, flash in variants
    ]
    ref = rows[0][1]
    print(
        f"threads {args.threads}, {args.reps} reps, load average before {load:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    print(
        "| variant | prompt tokens | prompt tokens/s | time to first token (s) | ratio to Q4_K_M | writes tokens/s |"
    )
    print("|---|---|---|---|---|---|")
    for name, m in rows:
        print(
            f"| {name} | {m['prompt_tokens']:.0f} | {m['read_tps']:.0f} | {m['ttft_s']:.2f} | "
            f"{m['ttft_s'] / ref['ttft_s']:.2f} | {m['write_tps']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
