"""The fitted parts are reproducible: refitting from the committed feature tables gives the committed
parameters (eval/fit.py), and the parameter files belong to the features the code computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval import fit as ef
from rag.logistic import LogisticModel
from rag.scorer import FEATURES
from rag.stages.gate import GATE_FEATURES


@pytest.mark.parametrize(
    ("table", "params", "features", "fitter"),
    [
        ("scorer-features.npz", "answer_scorer.json", FEATURES, ef.fit_scorer),
        ("gate-features.npz", "gate.json", GATE_FEATURES, ef.fit_gate),
    ],
)
def test_refitting_from_the_committed_table_reproduces_the_committed_parameters(
    table: str, params: str, features: tuple[str, ...], fitter: object
) -> None:
    data = ef.Table.load(ef.FITS / table, features)
    committed = LogisticModel.load(ef.PARAMS / params)
    refit = fitter(data)  # type: ignore[operator]
    assert committed.features == refit.features == features
    assert np.allclose(committed.weights, refit.weights, atol=1e-6)
    assert committed.bias == pytest.approx(refit.bias, abs=1e-6)
    assert committed.info and committed.info["data"] == refit.info["data"]  # the same table, byte for byte


def test_the_gate_threshold_is_the_one_chosen_out_of_fold() -> None:
    data = ef.Table.load(ef.FITS / "gate-features.npz", GATE_FEATURES)
    oof = ef.out_of_fold(data, ef.fit_gate, ["tune"])
    own = np.array([g == "tune@own" for g in data.groups])
    threshold, curve = ef.choose_threshold(oof[own], data.y[own])
    assert LogisticModel.load(ef.PARAMS / "gate.json").threshold == pytest.approx(threshold)
    assert [t for t, _, _ in curve] == sorted(t for t, _, _ in curve)


def test_the_fitted_files_name_the_embedder_and_the_holdout_is_never_read() -> None:
    for name in ("answer_scorer.json", "gate.json"):
        info = json.loads((ef.PARAMS / name).read_text())["info"]
        assert info["embedder"] == ef.EMBEDDER_ID
    for table in ("scorer-features.npz", "gate-features.npz"):
        groups = ef.Table.load(ef.FITS / table, FEATURES if "scorer" in table else GATE_FEATURES).groups
        assert not any("holdout" in g for g in groups)


def test_choose_threshold_keeps_answerable_refusals_within_the_limit() -> None:
    p = np.array([0.05, 0.1, 0.2, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.6])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    threshold, _ = ef.choose_threshold(p, y)
    assert np.mean(p[y > 0] < threshold) <= ef.MAX_ANSWERABLE_REFUSED
    assert np.mean(p[y == 0] < threshold) == 1.0 and 0.2 < threshold <= 0.6
