"""The resident question sets are frozen: `tune` is for choosing, `holdout` for reporting (eval/README.md).
A change to either file changes every figure reported on it, so it must be deliberate: update the checksum
here in the same commit and say why."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[1] / "eval" / "datasets"
FROZEN = {
    "residents-tune.jsonl": "78584ebf431c9cc8d2e5c7bb879ea3dc3c3d21ed7408d5d03e907ad70eb38f67",
    "residents-holdout.jsonl": "199bc1b5ec4c667e78520c9dab4cb54ee25a3483d42672fb72dd6ceac2de9f4f",
}


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_the_resident_splits_are_frozen(name: str) -> None:
    digest = hashlib.sha256((DATASETS / name).read_bytes()).hexdigest()
    assert digest == FROZEN[name], f"{name} changed: the split is frozen (eval/README.md)"


def test_no_question_is_in_both_splits() -> None:
    def questions(name: str) -> set[str]:
        lines = (DATASETS / name).read_text(encoding="utf-8").splitlines()
        return {json.loads(x)["question"].strip().lower() for x in lines if x.strip()}

    ids = [
        json.loads(x)["id"]
        for n in FROZEN
        for x in (DATASETS / n).read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    assert len(ids) == len(set(ids))
    assert not questions("residents-tune.jsonl") & questions("residents-holdout.jsonl")
