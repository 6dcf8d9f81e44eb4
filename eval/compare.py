"""`eval compare RUN_A RUN_B`: what got better and what got worse, overall and question by question."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.report import HEADLINE, LATENCY, fmt

# per-question scores compared, higher is better
PER_QUESTION = (
    "hit@1",
    "mrr",
    "context_hit",
    "key_facts",
    "citation_precision",
    "citation_support",
    "language_match",
)


def load_run(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    path = Path(path)
    summary_path, results_path = path / "summary.json", path / "results.jsonl"
    for p in (summary_path, results_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: pass the --out folder of an `eval run`")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    records: dict[str, dict[str, Any]] = {}
    with results_path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                records[r["id"]] = r
    return summary, records


def _value(record: dict[str, Any], key: str) -> float | None:
    s = record["scores"]
    v = s.get("retrieval", {}).get(key) if key in ("hit@1", "hit@3", "mrr", "ndcg@10") else s.get(key)
    return float(v) if isinstance(v, (int, float)) else None


@dataclass
class QuestionChange:
    id: str
    question: str
    before_passed: bool | None
    after_passed: bool | None
    changes: list[str] = field(default_factory=list)  # "mrr 0.50 -> 1.00"
    better: int = 0
    worse: int = 0


@dataclass
class Comparison:
    a: str
    b: str
    metrics: list[tuple[str, Any, Any]]  # label, A, B (overall)
    improved: list[QuestionChange]
    regressed: list[QuestionChange]
    only_a: list[str]
    only_b: list[str]


def compare_runs(path_a: Path, path_b: Path) -> Comparison:
    sa, ra = load_run(path_a)
    sb, rb = load_run(path_b)
    oa, ob = sa["metrics"]["overall"], sb["metrics"]["overall"]
    rows = [
        (label, oa.get(k), ob.get(k))
        for k, label in HEADLINE + LATENCY
        if oa.get(k) is not None or ob.get(k) is not None
    ]
    improved, regressed = [], []
    for qid in [q for q in ra if q in rb]:
        a, b = ra[qid], rb[qid]
        ch = QuestionChange(qid, b["gold"]["question"], a["scores"]["passed"], b["scores"]["passed"])
        for key in PER_QUESTION:
            va, vb = _value(a, key), _value(b, key)
            if va is None or vb is None or abs(va - vb) < 1e-9:
                continue
            ch.changes.append(f"{key} {va:.2f} -> {vb:.2f}")
            if vb > va:
                ch.better += 1
            else:
                ch.worse += 1
        if a["scores"]["refusal_correct"] != b["scores"]["refusal_correct"]:
            good = b["scores"]["refusal_correct"]
            ch.changes.append("refusal now " + ("right" if good else "wrong"))
            ch.better += good
            ch.worse += not good
        before, after = bool(ch.before_passed), bool(ch.after_passed)
        passed_change = int(after and not before) - int(before and not after)
        if passed_change > 0 or (passed_change == 0 and ch.better > ch.worse):
            improved.append(ch)
        elif passed_change < 0 or ch.worse > ch.better:
            regressed.append(ch)
    return Comparison(
        a=str(path_a),
        b=str(path_b),
        metrics=rows,
        improved=improved,
        regressed=regressed,
        only_a=[q for q in ra if q not in rb],
        only_b=[q for q in rb if q not in ra],
    )


def render_comparison(c: Comparison) -> str:
    lines = [f"# {c.a}  ->  {c.b}", "", "| metric | A | B | change |", "|---|---|---|---|"]
    for label, a, b in c.metrics:
        delta = f"{b - a:+.3f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else ""
        lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | {delta} |")
    for title, items in (("Better", c.improved), ("Worse", c.regressed)):
        lines += ["", f"## {title} ({len(items)})", ""]
        for ch in items:
            status = {(False, True): "FAIL -> PASS", (True, False): "PASS -> FAIL"}.get(
                (bool(ch.before_passed), bool(ch.after_passed)), "PASS" if ch.after_passed else "FAIL"
            )
            lines.append(
                f"- `{ch.id}` [{status}] {ch.question[:90]}: " + (", ".join(ch.changes) or "status only")
            )
    if c.only_a or c.only_b:
        lines += ["", f"Only in A: {', '.join(c.only_a) or '-'}; only in B: {', '.join(c.only_b) or '-'}"]
    return "\n".join(lines) + "\n"
