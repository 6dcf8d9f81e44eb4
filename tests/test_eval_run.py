"""`eval run` end to end on a tiny corpus with fake models, `eval compare`, and the retrieval metrics
through the real retriever with a keyword one-hot encoder (where the right ranking is known)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.compare import compare_runs, render_comparison
from eval.dataset import Question
from eval.runner import RunConfig, execute
from rag.config import Settings
from rag.embedders.fake import KeywordEmbedder
from rag.generation.fake import ScriptedGenerator
from rag.ingest import Ingestor
from rag.service import AssistantService

DOCS = {
    # one-hot keywords: cykel / buss / telefon. "a" is all cykel, "b" half cykel half buss, "c" the contact page
    "a-cykel.txt": "Cykelverkstaden\n\nI cykelverkstaden lagar vi cykel efter cykel. Verkstaden är öppen för alla.",
    "b-buss.txt": "Bussar och cyklar\n\nBussen går varje timme och du får ta med cykel på bussen om det finns plats.",
    "c-kontakt.txt": "Kontakta kontaktcenter\n\nPrata med en kommunvägledare på telefon 042-10 50 00.\n\n"
    "Besök oss på Helsingborg Kontaktcenter på Stortorget 17.",
}
KEYWORDS = ["cykel", "buss", "telefon"]


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Settings, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings.from_env(
        environ={},
        corpus_dir=corpus,
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        embedder="fake",
        generator="scripted",
        top_k=3,
        context_k=2,
    )
    return settings, corpus


def _keyword_service(settings: Settings, corpus: Path, script: object = None) -> AssistantService:
    emb = KeywordEmbedder(KEYWORDS)
    Ingestor(emb, index_root=settings.index_dir).run(corpus, progress=None)
    return AssistantService(settings, embedder=emb, generator=ScriptedGenerator(script))  # type: ignore[arg-type]


def _questions() -> list[Question]:
    return [
        Question(id="first", question="Var lagar man cykel?", sources=["a-cykel"], must_contain=[["cykel"]]),
        Question(id="second", question="Var lagar man cykel?", sources=["b-buss.txt"]),
        Question(id="third", question="Var lagar man cykel?", sources=["c-kontakt"]),
        Question(id="both", question="Var lagar man cykel?", sources=["a-cykel", "c-kontakt"]),
        Question(id="oos", question="Hur ansöker jag om bygglov?", answerable=False),
    ]


def test_retrieval_metrics_with_keyword_encoder(tiny: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, corpus = tiny
    service = _keyword_service(settings, corpus)
    run = execute(
        settings,
        _questions(),
        RunConfig("mem", tmp_path / "out", retrieval_only=True),
        service=service,
        progress=False,
    )
    by_id = {q.id: s for q, s in run.rows}
    # "cykel" query: a (cos 1, shortest BM25 doc) before b (cos 0.71) before c (cos ~0): ranking a, b, c
    ranked = [p["doc_id"] for p in run.records[0]["result"]["passages"]]
    assert ranked == ["a-cykel", "b-buss", "c-kontakt"]
    assert by_id["first"].retrieval == {
        "hit@1": 1.0,
        "recall@1": 1.0,
        "hit@3": 1.0,
        "recall@3": 1.0,
        "hit@5": 1.0,
        "recall@5": 1.0,
        "mrr": 1.0,
        "ndcg@10": 1.0,
    }
    assert by_id["second"].retrieval["hit@1"] == 0.0
    assert by_id["second"].retrieval["mrr"] == pytest.approx(0.5)
    assert by_id["second"].retrieval["ndcg@10"] == pytest.approx(1 / math.log2(3))
    assert by_id["third"].retrieval["hit@3"] == 1.0 and by_id["third"].retrieval["mrr"] == pytest.approx(
        1 / 3
    )
    assert (
        by_id["third"].context_hit == 0.0 and not by_id["third"].passed
    )  # context_k=2: c never reaches the LLM
    assert by_id["both"].retrieval["recall@1"] == 0.5
    assert by_id["both"].retrieval["ndcg@10"] == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    # the relevance gate refuses the out-of-scope question with the hand-off from the corpus
    assert by_id["oos"].refused and by_id["oos"].handoff and by_id["oos"].refusal_kind == "tp"
    assert run.summary["metrics"]["overall"]["refusal_recall"] == 1.0
    gen = service.generator
    assert isinstance(gen, ScriptedGenerator) and not gen.calls  # nothing generated in retrieval-only mode


def test_full_run_writes_results_and_reports(tiny: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, corpus = tiny
    service = _keyword_service(settings, corpus, script="Du får ta med cykel på bussen om det finns plats.")
    out = tmp_path / "run"
    qs = [
        Question(
            id="bus", question="Får jag ta med cykel på bussen?", sources=["b-buss"], must_contain=[["cykel"]]
        ),
        Question(
            id="miss",
            question="Får jag ta med cykel på bussen?",
            sources=["b-buss"],
            must_contain=[["tåget"]],
        ),
        Question(id="oos", question="Hur ansöker jag om bygglov?", answerable=False),
    ]
    run = execute(settings, qs, RunConfig("mem", out), service=service, progress=False)
    for name in ("results.jsonl", "summary.json", "report.md", "report.html"):
        assert (out / name).is_file(), name
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == ["bus", "miss", "oos"]
    bus = lines[0]
    assert bus["result"]["citations"][0]["source"] == "b-buss.txt"
    assert bus["scores"]["passed"], bus["scores"]["failures"]
    assert bus["scores"]["citation_support"] == 1.0 and bus["scores"]["ttft_ms"] is not None
    assert lines[1]["scores"]["failures"] == ["missing fact: tåget"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    overall = summary["metrics"]["overall"]
    assert overall["n"] == 3 and overall["passed"] == 2 and overall["key_facts"] == 0.5
    assert overall["llm_calls"] == 2 and overall["tokens_per_s"] > 0
    assert summary["run"]["handoff_phone"] == "042-10 50 00"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and "missing fact: tåget" in html and "<script" not in html
    assert "Failures (1 of 3)" in (out / "report.md").read_text(encoding="utf-8")
    assert run.summary == summary


def test_cli_run_builds_separate_index_and_compare(
    tiny: tuple[Settings, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, corpus = tiny
    live = tmp_path / "live-index"
    monkeypatch.setenv("RAG_INDEX_DIR", str(live))
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        "\n".join(
            json.dumps(q, ensure_ascii=False)
            for q in [
                {
                    "id": "kc",
                    "question": "Vilket telefonnummer har kontaktcenter?",
                    "must_contain": [["042-10 50 00"]],
                    "sources": ["c-kontakt.txt"],
                    "lang": "sv",
                    "reviewer": "ignored",
                },
                {"id": "oos", "question": "Hur ansöker jag om bygglov?", "answerable": False},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    args = [
        "run",
        "--questions",
        str(qfile),
        "--corpus",
        str(corpus),
        "--embedder",
        "fake",
        "--generator",
        "scripted",
        "--quiet",
    ]
    assert main([*args, "--out", str(tmp_path / "A")]) == 0
    assert main([*args, "--out", str(tmp_path / "B"), "--retrieval-only"]) == 0
    assert (tmp_path / "A" / "index" / "current").exists()
    assert not live.exists()  # the live index was never touched
    out = capsys.readouterr().out
    assert "Retrieval hit@1" in out and "Wrote" in out

    cmp = compare_runs(tmp_path / "A", tmp_path / "B")
    assert {label for label, _, _ in cmp.metrics} >= {"Retrieval hit@1", "Questions passed"}
    text = render_comparison(cmp)
    assert "| Retrieval hit@1 |" in text and "## Better" in text and "## Worse" in text
    assert main(["compare", str(tmp_path / "A"), str(tmp_path / "B")]) == 0


def test_compare_reports_question_level_changes(tmp_path: Path) -> None:
    def write(run: Path, passed: bool, mrr: float) -> None:
        run.mkdir()
        (run / "summary.json").write_text(
            json.dumps({"metrics": {"overall": {"mrr": mrr}}}), encoding="utf-8"
        )
        rec = {
            "id": "q1",
            "gold": {"question": "Fråga?"},
            "scores": {"passed": passed, "retrieval": {"mrr": mrr}, "refusal_correct": True},
        }
        (run / "results.jsonl").write_text(json.dumps(rec) + "\n", encoding="utf-8")

    write(tmp_path / "old", passed=False, mrr=0.5)
    write(tmp_path / "new", passed=True, mrr=1.0)
    cmp = compare_runs(tmp_path / "old", tmp_path / "new")
    assert [c.id for c in cmp.improved] == ["q1"] and not cmp.regressed
    assert cmp.improved[0].changes == ["mrr 0.50 -> 1.00"]
    back = compare_runs(tmp_path / "new", tmp_path / "old")
    assert [c.id for c in back.regressed] == ["q1"]
    assert "FAIL -> PASS" in render_comparison(cmp)


def test_cli_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{oops\n', encoding="utf-8")
    assert main(["run", "--questions", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "line 2: not valid JSON" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "x"), str(tmp_path / "y")]) == 2
    assert "pass the --out folder" in capsys.readouterr().err


def test_calibrate_sweeps_the_gate(tmp_path: Path) -> None:
    from eval.calibrate import calibrate, sweep

    run = tmp_path / "r"
    run.mkdir()
    recs = [(True, 0.9), (True, 0.4), (False, 0.2), (False, 0.7)]
    (run / "results.jsonl").write_text(
        "\n".join(json.dumps({"gold": {"answerable": a}, "result": {"confidence": c}}) for a, c in recs)
        + "\n",
        encoding="utf-8",
    )
    (run / "summary.json").write_text(json.dumps({"run": {"relevance_threshold": 0.5}}), encoding="utf-8")
    (p,) = sweep([(a, c) for a, c in recs], [0.5])
    assert (p.tp, p.fp, p.fn) == (1, 1, 1) and p.precision == 0.5 and p.recall == 0.5
    text = calibrate(run, step=0.25)
    assert "<- current" in text and "best F1" in text


def test_report_rebuilds_from_results(tiny: tuple[Settings, Path], tmp_path: Path) -> None:
    from eval.runner import rebuild

    settings, corpus = tiny
    service = _keyword_service(settings, corpus)
    out = tmp_path / "r"
    run = execute(
        settings, _questions(), RunConfig("mem", out, retrieval_only=True), service=service, progress=False
    )
    (out / "summary.json").unlink()
    (out / "report.html").unlink()
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "results.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")  # an interrupted run
    summary = rebuild(out, settings=settings.with_(embedder="fake"))
    assert summary["metrics"]["overall"]["n"] == 3 and summary["run"]["rescored"]
    assert (out / "report.html").is_file()
    assert summary["metrics"]["overall"]["hit@1"] == pytest.approx(
        sum(s.retrieval["hit@1"] for _, s in run.rows[:3]) / 3
    )
