"""`eval calibrate RUN_DIR`: how the pre-LLM relevance gate would refuse at other thresholds.

Reads the retrieval confidence every question got in a finished run (results.jsonl) and recomputes the
gate's refusal precision/recall per threshold. It only *shows* the trade-off; the threshold lives in
Settings.relevance_threshold. Calibrate on a development question set, never on a test split, and confirm
a new threshold on questions it was not chosen on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GatePoint:
    threshold: float
    tp: int  # unanswerable, refused
    fp: int  # answerable, refused
    fn: int  # unanswerable, let through
    answerable: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float:
        p, r = self.precision or 0.0, self.recall or 0.0
        return 2 * p * r / (p + r) if p + r else 0.0


def load_confidences(run_dir: Path) -> list[tuple[bool, float]]:
    path = Path(run_dir) / "results.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the --out folder of an `eval run`")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        conf = r["result"].get("confidence")
        if isinstance(conf, (int, float)):
            out.append((bool(r["gold"].get("answerable", True)), float(conf)))
    if not out:
        raise ValueError(f"{path} holds no retrieval confidences (was every question refused as empty?)")
    return out


def sweep(points: list[tuple[bool, float]], thresholds: list[float]) -> list[GatePoint]:
    n_answerable = sum(a for a, _ in points)
    rows = []
    for t in thresholds:
        tp = sum(1 for a, c in points if not a and c < t)
        fp = sum(1 for a, c in points if a and c < t)
        fn = sum(1 for a, c in points if not a and c >= t)
        rows.append(GatePoint(t, tp, fp, fn, n_answerable))
    return rows


def render(rows: list[GatePoint], current: float | None) -> str:
    lines = ["threshold  refused-answerable  passed-unanswerable  precision  recall   F1"]
    for p in rows:
        mark = "  <- current" if current is not None and abs(p.threshold - current) < 1e-9 else ""
        prec = "–" if p.precision is None else f"{p.precision:.3f}"
        rec = "–" if p.recall is None else f"{p.recall:.3f}"
        lines.append(
            f"{p.threshold:9.2f}  {p.fp:>10}/{p.answerable:<8} {p.fn:>12}          {prec:>9}  {rec:>6}  {p.f1:.3f}{mark}"
        )
    best = max(rows, key=lambda p: (p.f1, -p.fp))
    lines.append(
        f"\nbest F1 on this set: threshold {best.threshold:.2f} (F1 {best.f1:.3f}); "
        "confirm on questions it was not chosen on"
    )
    return "\n".join(lines)


def calibrate(run_dir: Path, step: float = 0.05) -> str:
    if not 0 < step <= 0.5:
        raise ValueError(f"step must be in (0, 0.5], got {step}")
    points = load_confidences(run_dir)
    summary_path = Path(run_dir) / "summary.json"
    current = None
    if summary_path.is_file():
        current = json.loads(summary_path.read_text(encoding="utf-8"))["run"].get("relevance_threshold")
    grid = sorted(
        {round(i * step, 4) for i in range(int(1 / step) + 1)} | ({current} if current is not None else set())
    )
    return render(sweep(points, grid), current)
