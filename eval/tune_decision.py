"""Choosing the evidence decision's thresholds on a stored run: `python -m eval tune-decision RUN [RUN …]`.

An `eval run` stores, for every question the LLM answered, each verified written sentence with the scorer's
probability that it answers, the best-scored source units, the gate's probability and what the LLM said.
The decision (rag/stages/evidence.py ``decide``) is a pure function of those, so every setting of its
thresholds — and any gate threshold above the one the run used — can be replayed without asking the LLM
again. The cost counts what hurts residents: an answer shown without its key fact (answerable, or an
unanswerable question answered at all) weighs WRONG_COST, an answerable question refused weighs 1. WRONG_COST
= 2 follows the issue's own targets (at most 2 % wrong but shown against at most 4 % answerable refused); a city
that weighs the two differently chooses again with --wrong-cost, and the weight is stored beside the thresholds.

Run it on `tune` runs only; it writes the best setting to rag/params/decision.json with --write.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.dataset import parse_question
from eval.metrics import key_facts
from rag.stages.evidence import PARAMS, DecisionSettings, Option, decide, said_unknown, written_evidence

WRONG_COST = 2.0
GRID = {
    "answer": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6],
    "quote": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7],
    "margin": [0.1, 0.2, 0.3, 0.5, 1.0],
    "quote_unknown": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0],
}


@dataclass(frozen=True)
class Outcome:
    answered_right: int = 0
    answered_wrong: int = 0  # answerable, shown without its key fact
    answerable_refused: int = 0
    unanswerable_answered: int = 0
    unanswerable_refused: int = 0

    def cost(self, wrong_cost: float = WRONG_COST) -> float:
        return wrong_cost * (self.answered_wrong + self.unanswerable_answered) + self.answerable_refused


def replay(records: Sequence[dict[str, Any]], settings: DecisionSettings, gate: float = 0.0) -> Outcome:
    counts = dict.fromkeys(Outcome.__dataclass_fields__, 0)
    for rec in records:
        q = parse_question(rec["gold"], path=Path("results.jsonl"), line_no=0)
        r = rec["result"]
        refused, text = _replay_one(r, settings, gate)
        if q.answerable:
            if refused:
                counts["answerable_refused"] += 1
            elif key_facts(text, q.must_contain).all_found:
                counts["answered_right"] += 1
            else:
                counts["answered_wrong"] += 1
        else:
            counts["unanswerable_refused" if refused else "unanswerable_answered"] += 1
    return Outcome(**counts)


def _replay_one(r: dict[str, Any], settings: DecisionSettings, gate: float) -> tuple[bool, str]:
    if not r.get("llm_called"):
        return bool(r.get("refused")), str(r.get("answer") or "")
    if (r.get("confidence") or 0.0) < gate:
        return True, ""
    checks = r.get("sentences") or []
    cands = r.get("candidates") or []
    by_text = {c["text"]: float(c["probability"]) for c in cands}
    written = [
        Option(c["text"], _written_probability(c, by_text), True, i)
        for i, c in enumerate(checks)
        if c.get("supported")
        and c.get("probability") is not None
        and not c.get("reason", "").startswith("quoted")
    ]
    best = Option(cands[0]["text"], float(cands[0]["probability"]), False, 0) if cands else None
    invented = any(c.get("missing_facts") for c in checks)
    unknown = said_unknown(r.get("raw_generation") or "", bool(written), invented)
    d = decide(written, best, settings, unknown=unknown)
    if d.refuse:
        return True, ""
    return False, " ".join([w.text for w in d.show] + ([d.quote.text] if d.quote else []))


def _written_probability(check: dict[str, Any], candidates: dict[str, float]) -> float:
    """As the service does: the probability of the unit the sentence is bound to, else the sentence's own.
    Runs made before unit_probability was stored find the unit among the stored candidates."""
    unit_p = check.get("unit_probability")
    if unit_p is None:
        unit_p = candidates.get(check.get("unit") or "")
    return written_evidence(None if unit_p is None else float(unit_p), lambda: float(check["probability"]))


def load(run: Path) -> list[dict[str, Any]]:
    path = run / "results.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def search(
    records: Sequence[dict[str, Any]], gates: Sequence[float] = (0.0,), wrong_cost: float = WRONG_COST
) -> list[tuple[float, DecisionSettings, float, Outcome]]:
    out = []
    for a, q, m, u, g in itertools.product(
        GRID["answer"], GRID["quote"], GRID["margin"], GRID["quote_unknown"], gates
    ):
        s = DecisionSettings(a, q, m, u)
        o = replay(records, s, g)
        out.append((o.cost(wrong_cost), s, g, o))
    out.sort(key=lambda t: (t[0], -t[1].answer, -t[1].quote))
    return out


def render(
    results: Sequence[tuple[float, DecisionSettings, float, Outcome]],
    current: Outcome,
    n: int = 10,
    wrong_cost: float = WRONG_COST,
) -> str:
    lines = [
        "| cost | answer | quote | margin | quote_unknown | gate ≥ | right | wrong shown | answerable refused | unanswerable answered |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cost, s, g, o in results[:n]:
        lines.append(
            f"| {cost:.0f} | {s.answer} | {s.quote} | {s.margin} | {s.quote_unknown} | {g} | {o.answered_right} | "
            f"{o.answered_wrong} | {o.answerable_refused} | {o.unanswerable_answered} |"
        )
    lines.append(f"\nAs run: cost {current.cost(wrong_cost):.0f}, {asdict(current)}")
    return "\n".join(lines)


def write(settings: DecisionSettings, path: Path = PARAMS, wrong_cost: float = WRONG_COST) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, float] = {**asdict(settings), "wrong_cost": wrong_cost}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
