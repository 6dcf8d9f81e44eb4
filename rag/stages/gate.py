"""Stage 3, gate: whether the documents can answer at all, decided before any LLM call.

A fitted logistic classifier over what retrieval and the answer-sentence scorer measured (the best
unit's probability of answering and its margin over the next, weighted topic coverage, the heaviest
topic word no passage holds, the dense channel's top cosine and margin, a "hur många X" with no number of
X), trained on SweQUAD-MC questions against their own corpus (answerable) and against the city's
(cross-corpus negatives), the city questions against SweQUAD-MC's, and the resident `tune` split
(eval/fit.py). Its threshold was chosen on out-of-fold predictions for the resident targets; the curve is
in eval/fits/gate.md. Below it the assistant refuses with the hand-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.logistic import LogisticModel
from rag.scorer import Scored
from rag.types import Retrieval

PARAMS = Path(__file__).resolve().parent.parent / "params" / "gate.json"

GATE_FEATURES: tuple[str, ...] = (
    "p_best",
    "p_second",
    "p_margin",
    "best_cos",
    "best_cov",
    "best_kind_held",
    "best_kind_missing",
    "coverage_best",
    "coverage_top",
    "coverage_whole",
    "uncovered",
    "absent",
    "dense_top",
    "dense_margin",
    "count_missing",
    "terms_log",
)


@dataclass(frozen=True)
class GateVerdict:
    relevant: bool
    probability: float  # that the documents answer the question
    reason: str  # for staff and logs
    features: dict[str, float] = field(default_factory=dict)


def gate_features(retrieval: Retrieval, scored: Sequence[Scored]) -> dict[str, float]:
    best = scored[0] if scored else None
    p = [s.probability for s in scored[:2]] + [0.0, 0.0]
    values = {
        "p_best": p[0],
        "p_second": p[1],
        "p_margin": p[0] - p[1],
        "best_cos": best.features["cos_unit"] if best else 0.0,
        "best_cov": best.features["cov_context"] if best else 0.0,
        "best_kind_held": best.features["kind_held"] if best else 0.0,
        "best_kind_missing": best.features["kind_missing"] if best else 0.0,
    }
    values.update({k: float(retrieval.signals.get(k, 0.0)) for k in GATE_FEATURES if k not in values})
    return values


class GateStage:
    def __init__(self, model: LogisticModel, threshold: float | None = None) -> None:
        if model.features != GATE_FEATURES:
            raise ValueError(
                f"the gate's parameter file has features {model.features}, this code computes "
                f"{GATE_FEATURES}; refit it: python -m eval fit gate"
            )
        self.model = model
        self.threshold = model.threshold if threshold is None else threshold
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"the gate threshold must be in [0, 1], got {self.threshold}")

    @classmethod
    def load(cls, threshold: float | None = None, path: Path = PARAMS) -> GateStage:
        return cls(LogisticModel.load(path), threshold)

    def run(self, retrieval: Retrieval, scored: Sequence[Scored]) -> GateVerdict:
        if not retrieval.hits:
            return GateVerdict(False, 0.0, "no passages")
        values = gate_features(retrieval, scored)
        p = float(self.model.predict(self.model.row(values))[0])
        if values["count_missing"]:
            reason = "it asks how many, and no passage gives that number"
        else:
            reason = f"best unit p={values['p_best']:.2f}, coverage={values['coverage_best']:.2f}"
        return GateVerdict(p >= self.threshold, p, f"p(answerable)={p:.2f}: {reason}", values)


def lexical_gate_model() -> LogisticModel:
    """A hand-set gate over word coverage, for the tests on the fake embedder (see rag.scorer.lexical_model)."""
    weights = {"coverage_whole": 9.0, "uncovered": -6.0, "count_missing": -12.0, "p_best": 2.0}
    n = len(GATE_FEATURES)
    return LogisticModel(
        GATE_FEATURES,
        np.zeros(n),
        np.ones(n),
        np.array([weights.get(f, 0.0) for f in GATE_FEATURES]),
        -5.5,
        threshold=0.5,
    )
