"""Benchmark adapters on tiny files of the real formats, with a keyword one-hot encoder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.benchmarks import (
    BenchmarkFileError,
    load_swefaq,
    load_swequad,
    rank_rrf,
    render_swefaq,
    swefaq,
    write_corpus,
)
from rag.embedders.fake import KeywordEmbedder

ANSWERS = ["Om cykel: ta med den.", "Om buss: den går varje timme.", "Om tåg: köp biljett i appen."]


def _swefaq_file(tmp_path: Path) -> Path:
    rows = [
        {"question": "cykel?", "candidate_answers": ANSWERS, "label": 0, "category_id": 1},
        {"question": "buss?", "candidate_answers": [ANSWERS[2], ANSWERS[1], ANSWERS[0]], "label": 1},
        # the gold is the tåg answer, but the question says cykel: the gold ranks after the cykel answer
        {"question": "cykel", "candidate_answers": ANSWERS, "label": 2, "meta": {}},
        {"question": "tåg ja", "candidate_answers": ANSWERS, "label": 2},
    ]
    p = tmp_path / "swefaq_x.jsonl"
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return p


def test_load_swefaq_dedupes_the_corpus(tmp_path: Path) -> None:
    data = load_swefaq(_swefaq_file(tmp_path))
    assert data.corpus == ANSWERS
    assert data.gold == [0, 1, 2, 2]


def test_swefaq_dense_with_keyword_encoder(tmp_path: Path) -> None:
    emb = KeywordEmbedder(["cykel", "buss", "tåg"])
    res = swefaq(_swefaq_file(tmp_path), method="dense", embedder=emb, progress=False)
    # questions 1, 2, 4 rank their gold first; question 3 ("cykel", gold tåg) ranks it 2nd or 3rd (ties)
    assert res["queries"] == 4 and res["corpus"] == 3
    assert res["hit@1"] == 0.75
    assert res["recall@10"] == 1.0
    assert res["ndcg@10"] in (pytest.approx((3 + 1 / math.log2(3)) / 4), pytest.approx((3 + 0.5) / 4))
    text = render_swefaq(res)
    assert "multilingual-e5-small" in text and "0.687" in text


def test_swefaq_bm25_and_hybrid_run(tmp_path: Path) -> None:
    emb = KeywordEmbedder(["cykel", "buss", "tåg"])
    assert swefaq(_swefaq_file(tmp_path), method="bm25")["hit@1"] == 0.75
    assert swefaq(_swefaq_file(tmp_path), method="hybrid", embedder=emb, progress=False)["recall@10"] == 1.0
    with pytest.raises(ValueError, match="method must be one of"):
        swefaq(_swefaq_file(tmp_path), method="magic")


def test_rrf_fuses_rankings() -> None:
    assert rank_rrf([[[0, 1, 2]], [[1, 0, 2]]])[0][:2] in ([0, 1], [1, 0])
    assert rank_rrf([[[0, 1, 2]], [[2, 1, 0]]], k=1)[0] == [0, 2, 1]  # 0 and 2 tie (0.75): position decides
    assert rank_rrf([[[2, 0, 1]], [[2, 1, 0]]])[0][0] == 2


def test_swefaq_bad_file_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"question": "q", "candidate_answers": ["a"], "label": 3}\n', encoding="utf-8")
    with pytest.raises(BenchmarkFileError, match="line 1"):
        load_swefaq(p)
    with pytest.raises(BenchmarkFileError, match="not found"):
        load_swefaq(tmp_path / "missing.jsonl")


def test_swequad_loader_and_corpus(tmp_path: Path) -> None:
    ctx1 = "Rubrik ett\nAvgiften är 100 kr per ansökan."
    ctx2 = "Rubrik två\nTa med ditt pass när du hämtar beslutet."
    data = {
        "data": [
            {
                "context": ctx1,
                "question": "Vad kostar det?",
                "choices": [
                    {
                        "text": "100 kr",
                        "start": ctx1.index("100 kr"),
                        "end": ctx1.index("100 kr") + 6,
                        "type": "Correct answer",
                    },
                    {"text": "50 kr", "type": "Distractor"},
                ],
            },
            {
                "context": ctx2,
                "question": "Vad tar jag med?",
                "choices": [
                    {
                        "text": "ditt pass",
                        "start": ctx2.index("ditt pass"),
                        "end": ctx2.index("ditt pass") + 9,
                        "type": "Correct answer",
                    }
                ],
            },
            {"context": ctx1, "question": "Per vad?", "choices": [{"text": "x", "type": "Distractor"}]},
        ]
    }
    p = tmp_path / "dev.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    contexts, qs = load_swequad(p)
    assert contexts == [ctx1, ctx2]
    assert [q.must_contain for q in qs] == [[["100 kr"]], [["ditt pass"]]]
    assert [q.sources for q in qs] == [["context-0000.txt"], ["context-0001.txt"]]
    write_corpus(contexts, tmp_path / "corpus")
    assert (tmp_path / "corpus" / "context-0001.txt").read_text(encoding="utf-8").startswith("Rubrik två")


def test_swequad_end_to_end_with_fakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval.__main__ import main

    ctx = "Kontakta kontaktcenter\nRing telefon 042-10 50 00 om du har frågor om avgiften på 100 kr."
    data = {
        "data": [
            {
                "context": ctx,
                "question": "Hur mycket är avgiften?",
                "choices": [
                    {
                        "text": "100 kr",
                        "start": ctx.index("100 kr"),
                        "end": ctx.index("100 kr") + 6,
                        "type": "Correct answer",
                    }
                ],
            }
        ]
    }
    p = tmp_path / "mini.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    rc = main(
        [
            "swequad",
            "--file",
            str(p),
            "--out",
            str(tmp_path / "sq"),
            "--embedder",
            "fake",
            "--generator",
            "scripted",
            "--quiet",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "gold-context recall@1 1.000" in out and "answers containing the gold answer text" in out
    assert (tmp_path / "sq" / "report.html").is_file()
