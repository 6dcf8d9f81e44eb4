#!/usr/bin/env python
"""Retrieval parity of the postgres store, and PostgreSQL full-text search against BM25 for the lexical channel.

    .venv/bin/python scripts/bench_pg_parity.py                 # starts a local PostgreSQL (rag/localservers.py)
    RAG_DATABASE_URL=postgresql://... .venv/bin/python scripts/bench_pg_parity.py

On the project's dev set (eval/datasets/dev.jsonl, the live index in RAG_INDEX_DIR) and SweQUAD-MC dev (its
contexts as a corpus, embedded once), retrieval-only as `eval run --retrieval-only` scores it:

* files: FAISS + BM25 (the embedded default)
* postgres: pgvector HNSW + BM25 over the chunk table's tokens (what RAG_STORE=postgres serves)
* postgres + FTS: pgvector HNSW + PostgreSQL full-text search, to_tsvector('swedish', title + text), the query's
  words OR-ed, ranked by ts_rank / ts_rank_cd (the relevance gate keeps reading the BM25 vocabulary)

English questions are translated by the LLM once and the translation reused by every variant (greedy decoding
gives the same one each time), so all variants retrieve with the same queries. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.benchmarks import BENCHMARKS_DIR, load_swequad, write_corpus  # noqa: E402
from eval.dataset import Question, load_questions  # noqa: E402
from eval.parity import markdown_table, retrieval_figures  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.db.postgres import Database  # noqa: E402
from rag.embedders.base import Embedder, make_embedder  # noqa: E402
from rag.generation.base import Generator, Message, make_generator  # noqa: E402
from rag.index.lexical import BM25Index  # noqa: E402
from rag.ingest import Ingestor, default_chunker  # noqa: E402
from rag.pgstore import PgIndexStore, PgVectorIndex  # noqa: E402
from rag.service import AssistantService  # noqa: E402
from rag.store import FileIndexStore, IndexData, copy_index  # noqa: E402

log = logging.getLogger("bench_pg_parity")

RANKERS = {"ts_rank": "ts_rank(tsv, q, 1)", "ts_rank_cd": "ts_rank_cd(tsv, q, 1)"}


class MemoGenerator(Generator):
    """The wrapped generator's reply to each distinct prompt, produced once (translations of the questions)."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.name = inner.name
        self.memo: dict[str, str] = {}

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        key = json.dumps([messages, max_tokens], ensure_ascii=False)
        if key not in self.memo:
            self.memo[key] = "".join(self.inner.stream(messages, max_tokens=max_tokens))
        yield self.memo[key]


class FullTextRanked(BM25Index):
    """The BM25 index's vocabulary for the relevance gate; PostgreSQL full-text search for the ranking."""

    def __init__(self, base: BM25Index, db: Database, table: str, rank: str) -> None:
        self.__dict__.update(base.__dict__)
        self.db, self.table, self.rank = db, table, rank

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        with self.db.connection() as conn:
            rows = conn.execute(
                f"SELECT pos, {self.rank} AS r FROM {self.table}, "
                "(SELECT replace(plainto_tsquery('swedish', %s)::text, ' & ', ' | ')::tsquery AS q) x "
                "WHERE tsv @@ q ORDER BY r DESC, pos LIMIT %s",
                (query, k),
            ).fetchall()
        return [(int(p), float(r)) for p, r in rows]


def add_full_text(db: Database, table: str) -> None:
    with db.connection() as conn:
        conn.execute(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector('swedish', (chunk->>'title') || E'\\n' || (chunk->>'text'))) STORED"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)")


def variants(
    settings: Settings, files: FileIndexStore, db: Database, name: str
) -> dict[str, tuple[Settings, IndexData]]:
    pg = PgIndexStore(db, name)
    copy_index(files, pg)
    data = pg.load()
    assert isinstance(data.dense, PgVectorIndex)
    add_full_text(db, data.dense.table)
    pg_settings = settings.with_(store="postgres", database_url=db.url, index_name=name)
    out = {
        "files: FAISS + BM25": (settings, files.load()),
        "postgres: pgvector HNSW + BM25 (chunk table)": (pg_settings, data),
    }
    for label, rank in RANKERS.items():
        fts = FullTextRanked(data.lexical, db, data.dense.table, rank)
        out[f"postgres: pgvector HNSW + FTS swedish ({label})"] = (
            pg_settings,
            dataclasses.replace(data, lexical=fts),
        )
    return out


def measure(
    title: str,
    questions: list[Question],
    runs: dict[str, tuple[Settings, IndexData]],
    embedder: Embedder,
    generator: Generator,
) -> str:
    rows: dict[str, dict[str, float]] = {}
    for variant, (settings, data) in runs.items():
        t0 = time.perf_counter()
        service = AssistantService(settings, embedder=embedder, generator=generator, index=data)
        rows[variant] = retrieval_figures(service, questions)
        log.info("%s / %s: %s (%.0f s)", title, variant, rows[variant], time.perf_counter() - t0)
    baseline = next(iter(rows))
    return f"**{title}** ({len(questions)} questions)\n\n" + markdown_table(rows, baseline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="first N questions of each set (a quick look)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    embedder = make_embedder(settings)
    generator = MemoGenerator(make_generator(settings))
    server: Any = None
    url = os.environ.get("RAG_DATABASE_URL", "")
    if not url:
        from rag.localservers import start_postgres

        server = start_postgres()
        url = server.url
    db = Database(url)
    tables = []
    try:
        with tempfile.TemporaryDirectory(prefix="rag-parity-") as tmp:
            dev = FileIndexStore(settings.index_dir)
            if dev.read_manifest() is None:
                Ingestor(embedder, store=dev).run(settings.corpus_dir)
            questions = load_questions(ROOT / "eval" / "datasets" / "dev.jsonl")
            runs = variants(settings, dev, db, "parity-dev")
            tables.append(measure("Dev set", questions[: args.limit or None], runs, embedder, generator))

            contexts, squad = load_swequad(BENCHMARKS_DIR / "swequad-mc" / "original" / "dev.json")
            corpus = Path(tmp) / "corpus"
            write_corpus(contexts, corpus)
            files = FileIndexStore(Path(tmp) / "index")
            chunker = default_chunker(settings.chunk_size, settings.chunk_overlap)
            Ingestor(embedder, chunker, store=files).run(corpus)
            sq_settings = settings.with_(corpus_dir=corpus, index_dir=files.root)
            runs = variants(sq_settings, files, db, "parity-swequad")
            tables.append(measure("SweQUAD-MC dev", squad[: args.limit or None], runs, embedder, generator))
    finally:
        db.close()
        if server is not None:
            server.stop()
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
