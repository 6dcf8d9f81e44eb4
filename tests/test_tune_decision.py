"""Choosing the evidence thresholds on a stored run (eval/tune_decision.py): the written sentence's evidence is
its bound unit's probability, and the weight of a wrong shown answer decides between answering and handing off."""

from __future__ import annotations

from typing import Any

from eval import tune_decision as td
from rag.stages.evidence import DecisionSettings


def record(qid: str, answerable: bool, sentence: str, unit_p: float) -> dict[str, Any]:
    gold = {
        "id": qid,
        "question": f"Fråga {qid}?",
        "must_contain": [["042-10 50 00"]] if answerable else [],
        "sources": ["a.txt"] if answerable else [],
        "answerable": answerable,
    }
    check = {
        "text": sentence,
        "supported": True,
        "reason": "supported",
        "probability": 0.01,  # the model's own wording scores low …
        "unit": sentence,
    }
    result = {
        "llm_called": True,
        "refused": False,
        "answer": sentence,
        "confidence": 0.9,
        "raw_generation": sentence,
        "sentences": [check],
        "candidates": [{"text": sentence, "probability": unit_p}],  # … its unit does not
    }
    return {"gold": gold, "result": result}


RECORDS = [
    record("a", True, "Ring 042-10 50 00.", 0.25),
    record("b", False, "Bygglov söks hos kontaktcenter.", 0.25),
]


def test_a_verified_sentence_counts_with_its_bound_units_probability() -> None:
    shown = td.replay(RECORDS, DecisionSettings(answer=0.2, quote=0.9, margin=0.1, quote_unknown=1.0))
    assert shown.answered_right == 1 and shown.unanswerable_answered == 1
    refused = td.replay(RECORDS, DecisionSettings(answer=0.3, quote=0.9, margin=0.1, quote_unknown=1.0))
    assert refused.answerable_refused == 1 and refused.unanswerable_refused == 1


def test_the_weight_of_a_wrong_answer_moves_the_choice() -> None:
    strict = td.search(RECORDS, wrong_cost=2.0)[0]
    lenient = td.search(RECORDS, wrong_cost=0.5)[0]
    assert strict[3].answerable_refused == 1 and strict[0] == 1.0  # one refusal beats one wrong answer at 2
    assert lenient[3].answered_right == 1 and lenient[0] == 0.5  # and loses to it at 0.5
