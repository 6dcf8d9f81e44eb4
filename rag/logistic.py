"""A small L2-regularised logistic regression in numpy: fitted deterministically (Newton's method), stored as
JSON beside the code, read back with no dependency beyond numpy.

The answer-sentence scorer and the relevance gate are each one of these over a handful of measured
features (rag/scorer.py, rag/stages/gate.py); the scripts that fit them live in eval/fit.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float = 0.5  # the decision threshold chosen for it, where one is used
    info: dict[str, Any] | None = None  # how it was fitted (data, regularisation, date)

    def __post_init__(self) -> None:
        n = len(self.features)
        for name in ("mean", "scale", "weights"):
            if getattr(self, name).shape != (n,):
                raise ConfigError(f"{name} has shape {getattr(self, name).shape}, expected ({n},)")

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(y = 1) for each row of x (columns in the order of self.features)."""
        return _sigmoid(self.logits(x))

    def row(self, values: dict[str, float]) -> np.ndarray:
        """A feature row from named values; a missing feature is an error that names it."""
        missing = [f for f in self.features if f not in values]
        if missing:
            raise ValueError(f"feature values missing: {', '.join(missing)}")
        return np.array([values[f] for f in self.features], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 10) for v in self.mean],
            "scale": [round(float(v), 10) for v in self.scale],
            "weights": [round(float(v), 10) for v in self.weights],
            "bias": round(float(self.bias), 10),
            "threshold": round(float(self.threshold), 10),
            "info": self.info or {},
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LogisticModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                features=tuple(data["features"]),
                mean=np.array(data["mean"], dtype=np.float64),
                scale=np.array(data["scale"], dtype=np.float64),
                weights=np.array(data["weights"], dtype=np.float64),
                bias=float(data["bias"]),
                threshold=float(data.get("threshold", 0.5)),
                info=data.get("info") or {},
            )
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"cannot read the fitted model {path}: {exc}; restore it from git or refit it (eval/README.md)"
            ) from exc


def fit(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    *,
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
    iterations: int = 50,
    info: dict[str, Any] | None = None,
) -> LogisticModel:
    """Maximum a-posteriori logistic regression on standardised features (the bias is not regularised)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(features) or len(y) != len(x):
        raise ValueError(f"x must be (n, {len(features)}) and y (n,), got {x.shape} and {y.shape}")
    if not 0 < y.mean() < 1:
        raise ValueError("both classes are needed to fit a logistic model")
    w_s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mean = np.average(x, axis=0, weights=w_s)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w_s))
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = _sigmoid(z @ beta)
        grad = z.T @ (w_s * (p - y)) + penalty * beta
        hess = (z * (w_s * p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return LogisticModel(tuple(features), mean, scale, beta[:-1], float(beta[-1]), info=info)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    scores, labels = np.asarray(scores), np.asarray(labels).astype(bool)
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(allv):  # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, count) per probability bin: how well calibrated the model is."""
    probs, labels = np.asarray(probs), np.asarray(labels, dtype=np.float64)
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        sel = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if sel.any():
            out.append((float(probs[sel].mean()), float(labels[sel].mean()), int(sel.sum())))
    return out
