"""Retrieval parity between index stores: one question set retrieved from two stores (FAISS + BM25 on files,
pgvector + BM25 in PostgreSQL), figures side by side. Used by tests/integration/test_pg_parity.py and
scripts/bench_pg_parity.py (the table in docs/deploy.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from eval.dataset import Question
from eval.runner import RunConfig, run_questions
from eval.scoring import aggregate_groups
from rag.service import AssistantService

FIGURES = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@10", "refusal_correct")


def retrieval_figures(service: AssistantService, questions: Sequence[Question]) -> dict[str, float]:
    """The overall retrieval-only figures of questions (what `eval run --retrieval-only` reports)."""
    config = RunConfig(questions_file="(parity)", out_dir=Path("."), retrieval_only=True)
    run = run_questions(service, questions, config, progress=False)
    failed = [r["error"] for r in run.records if r["error"]]
    if failed:
        raise RuntimeError(f"{len(failed)} questions failed, e.g. {failed[0]}")
    overall = aggregate_groups(run.rows)["overall"]
    return {k: float(overall[k]) for k in FIGURES if overall.get(k) is not None}


def largest_gap(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[str, float]:
    """The figure on which a and b differ most, and by how many points (percentage points)."""
    gaps = {k: abs(a[k] - b[k]) * 100 for k in a if k in b}
    name = max(gaps, key=lambda k: gaps[k])
    return name, gaps[name]


def markdown_table(rows: Mapping[str, Mapping[str, float]], baseline: str) -> str:
    """One row per variant, figures in percent, and each variant's largest gap to the baseline in points."""
    names = [k for k in FIGURES if all(k in r for r in rows.values())]
    head = "| variant | " + " | ".join(names) + " | largest gap (points) |"
    lines = [head, "|" + " --- |" * (len(names) + 2)]
    for variant, figures in rows.items():
        cells = " | ".join(f"{100 * figures[k]:.1f}" for k in names)
        gap = "–" if variant == baseline else "{} {:.1f}".format(*largest_gap(rows[baseline], figures))
        lines.append(f"| {variant} | {cells} | {gap} |")
    return "\n".join(lines)
