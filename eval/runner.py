"""Runs a question set through the same AssistantService the chat uses and writes the results."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.dataset import Question
from eval.scoring import QuestionScore, aggregate_groups, score_question
from rag.config import Settings
from rag.embedders.base import Embedder
from rag.service import AssistantService
from rag.types import Turn

log = logging.getLogger(__name__)


@dataclass
class RunConfig:
    questions_file: str
    out_dir: Path
    retrieval_only: bool = False
    corpus_dir: Path | None = None  # build a fresh index from this corpus under out_dir/index
    index_dir: Path | None = None  # use this existing index
    label: str = ""


@dataclass
class RunResult:
    config: RunConfig
    rows: list[tuple[Question, QuestionScore]]
    records: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)


def build_index(settings: Settings, corpus_dir: Path, index_root: Path) -> tuple[Settings, Embedder]:
    """Ingest corpus_dir into a separate index under index_root; the live index is never touched.

    Returns settings pointing at the new index and the embedder (already loaded) that built it."""
    from rag.embedders.base import make_embedder
    from rag.ingest import make_ingestor
    from rag.store import make_store

    if not corpus_dir.is_dir():
        raise FileNotFoundError(
            f"corpus folder not found: {corpus_dir} (pass --corpus DIR with the documents)"
        )
    # With RAG_STORE=postgres the evaluation index is another name in the same database.
    name = re.sub(r"[^A-Za-z0-9_.:-]", "-", f"eval-{index_root.resolve().parent.name}")[:60]
    built = settings.with_(index_dir=index_root, corpus_dir=corpus_dir, index_name=name)
    store, live = make_store(built), make_store(settings).location
    if store.location == live:
        raise ValueError(
            f"refusing to build the evaluation index into the live index {live}; choose another --out"
        )

    embedder = make_embedder(settings)
    report = make_ingestor(built, embedder).run(corpus_dir)
    log.info(
        "evaluation index: %d chunks in %s (%.1f s)", report.chunks_total, store.location, report.seconds
    )
    if report.skipped:
        log.warning("skipped while ingesting: %s", report.skipped)
    return built, embedder


def retrieval_answer(service: AssistantService, q: Question, history: Sequence[Turn]) -> dict[str, Any]:
    """What the service does before the LLM — the guards, retrieval and the relevance verdict — taken by
    the service itself (ask(generate=False)), so this mode can never drift from the real pipeline."""
    return service.ask(q.question, history, generate=False).to_json_dict()


def run_questions(
    service: AssistantService,
    questions: Sequence[Question],
    config: RunConfig,
    *,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    from tqdm import tqdm

    checker = service.checker
    phone = service.handoff.phone
    if not phone:
        log.warning("no kontaktcenter phone number found in the index: refusals cannot count as handed off")
    context_k = service.settings.context_k
    rows: list[tuple[Question, QuestionScore]] = []
    records: list[dict[str, Any]] = []
    bar = tqdm(questions, desc="Evaluating", unit="q", disable=not progress)
    for q in bar:
        history = list(q.history)
        try:
            if config.retrieval_only:
                result = retrieval_answer(service, q, history)
            else:
                result = service.ask(q.question, history).to_json_dict(debug=True)
            error = None
        except Exception as exc:  # one broken question must not lose the whole run
            log.exception("question %s failed", q.id)
            result = {"question": q.question, "answer": "", "refused": False, "passages": [], "citations": []}
            error = f"{type(exc).__name__}: {exc}"
        score = score_question(
            q,
            result,
            checker=checker,
            handoff_phone=phone,
            context_k=context_k,
            retrieval_only=config.retrieval_only,
        )
        if error:
            score.failures.insert(0, f"error: {error}")
        rows.append((q, score))
        record = {
            "id": q.id,
            "gold": q.to_dict(),
            "result": result,
            "scores": score.to_dict(),
            "error": error,
        }
        records.append(record)
        if on_result:
            on_result(record)
        bar.set_postfix(passed=f"{sum(s.passed for _, s in rows)}/{len(rows)}")
    return RunResult(config=config, rows=rows, records=records)


def execute(
    settings: Settings,
    questions: Sequence[Question],
    config: RunConfig,
    *,
    service: AssistantService | None = None,
    progress: bool = True,
) -> RunResult:
    """The whole `eval run`: index (if asked), questions, results.jsonl, summary.json, report.md/.html."""
    from eval.report import write_reports

    config.out_dir.mkdir(parents=True, exist_ok=True)
    if config.corpus_dir is not None and config.index_dir is not None:
        raise ValueError("pass either --corpus or --index, not both")
    if service is None:
        embedder = None
        if config.corpus_dir is not None:
            settings, embedder = build_index(settings, config.corpus_dir, config.out_dir / "index")
        elif config.index_dir is not None:
            settings = settings.with_(index_dir=config.index_dir)
        service = AssistantService(settings, embedder=embedder)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    t0 = time.perf_counter()
    results_path = config.out_dir / "results.jsonl"
    with results_path.open("w", encoding="utf-8") as fh:

        def write(record: dict[str, Any]) -> None:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()

        run = run_questions(service, questions, config, progress=progress, on_result=write)
    s = service.settings
    run.summary = {
        "run": {
            "label": config.label or config.out_dir.name,
            "started": started,
            "seconds": round(time.perf_counter() - t0, 1),
            "questions_file": config.questions_file,
            "questions": len(questions),
            "retrieval_only": config.retrieval_only,
            "index_dir": str(s.index_dir),
            "corpus_dir": str(config.corpus_dir) if config.corpus_dir else None,
            "embedder": s.embedder,
            "generator": "none (retrieval only)" if config.retrieval_only else s.generator,
            "llm_path": None if config.retrieval_only or s.generator != "llama-cpp" else str(s.llm_path),
            "top_k": s.top_k,
            "context_k": s.context_k,
            "relevance_threshold": s.relevance_threshold,
            "support_threshold": s.support_threshold,
            "handoff_phone": service.handoff.phone,
        },
        "metrics": aggregate_groups(run.rows),
    }
    (config.out_dir / "summary.json").write_text(
        json.dumps(run.summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    write_reports(run.summary, run.records, config.out_dir)
    return run


def rebuild(out_dir: Path, *, settings: Settings | None = None) -> dict[str, Any]:
    """Score the stored answers of a results.jsonl again with the current scorer and rewrite the summary
    and reports; nothing is asked again. Works on an interrupted run (results are written one by one)."""
    from eval.dataset import parse_question
    from eval.report import write_reports
    from rag.attribution import SupportChecker

    path = Path(out_dir) / "results.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the --out folder of an `eval run`")
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    old_path = Path(out_dir) / "summary.json"
    s = settings or Settings.from_env()
    run_info: dict[str, Any] = {
        "label": Path(out_dir).name,
        "started": "?",
        "seconds": 0,
        "questions_file": "?",
        "retrieval_only": all(not r["result"].get("llm_called") for r in records),
        "index_dir": str(s.index_dir),
        "corpus_dir": None,
        "embedder": s.embedder,
        "generator": s.generator,
        "llm_path": None,
        "top_k": s.top_k,
        "context_k": s.context_k,
        "relevance_threshold": s.relevance_threshold,
        "support_threshold": s.support_threshold,
        "handoff_phone": None,
    }
    if old_path.is_file():
        run_info.update(json.loads(old_path.read_text(encoding="utf-8"))["run"])
    if not run_info["handoff_phone"]:
        try:
            run_info["handoff_phone"] = AssistantService(s).handoff.phone
        except Exception as exc:  # no index here: refusals then cannot count as handed off
            log.warning("no hand-off phone known (%s); refusals will not count as handed off", exc)
    checker = SupportChecker(float(run_info["support_threshold"]))
    rows = []
    for i, r in enumerate(records, 1):
        q = parse_question(r["gold"], path=path, line_no=i)
        score = score_question(
            q,
            r["result"],
            checker=checker,
            handoff_phone=run_info["handoff_phone"],
            context_k=int(run_info["context_k"]),
            retrieval_only=bool(run_info["retrieval_only"]),
        )
        if r.get("error"):
            score.failures.insert(0, f"error: {r['error']}")
        r["scores"] = score.to_dict()
        rows.append((q, score))
    run_info = {**run_info, "questions": len(records), "rescored": True}
    summary = {"run": run_info, "metrics": aggregate_groups(rows)}
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    old_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_reports(summary, records, Path(out_dir))
    return summary
