"""The PostgreSQL index store and the migration layer, on a real PostgreSQL with pgvector."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import psycopg
import pytest

from rag import cli
from rag.config import Settings
from rag.db.postgres import Database, DatabaseUnavailableError, Migration, Schema
from rag.embedders.fake import HashEmbedder
from rag.errors import IndexMissingError, RagError
from rag.ingest import Ingestor
from rag.pgstore import INDEX_SCHEMA, KEEP_VERSIONS, PgIndexStore
from rag.retrieval import HybridRetriever
from rag.store import FileIndexStore, make_store
from tests.conftest import make_service

pytestmark = pytest.mark.postgres

QUERIES = [
    "Vilket telefonnummer har kontaktcenter?",
    "När har kontaktcenter öppet?",
    "Vad är Helsingborgs målbild för 2027?",
    "Vem var Leif Redestig?",
    "Hur blir staden klimatneutral?",
    "transformationsarena Almedalen",
]


def tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'rag_chunks_%'").fetchall()
    return sorted(r[0] for r in rows)


def pg_settings(settings: Settings, url: str) -> Settings:
    return settings.with_(store="postgres", database_url=url)


# --- migrations ----------------------------------------------------------------------------------------------

TOY = Schema(
    "toy",
    (
        Migration(1, "notes", "CREATE TABLE toy_notes (id serial PRIMARY KEY, body text NOT NULL);"),
        Migration(2, "note dates", "ALTER TABLE toy_notes ADD COLUMN created timestamptz DEFAULT now();"),
    ),
)


def test_migrations_run_once_in_order_and_are_recorded(pg_url: str) -> None:
    db = Database(pg_url)
    assert db.migrate(TOY) == [1, 2]
    assert db.migrate(TOY) == []  # up to date
    assert db.ensure(TOY) == 2 and db.schema_version("toy") == 2
    with db.connection(TOY) as conn:
        conn.execute("INSERT INTO toy_notes (body) VALUES ('hej')")
        assert conn.execute("SELECT body, created IS NOT NULL FROM toy_notes").fetchall() == [("hej", True)]
    db.close()


def test_replicas_starting_together_apply_each_migration_once(pg_url: str) -> None:
    applied: list[list[int]] = []
    dbs = [Database(pg_url) for _ in range(4)]
    threads = [threading.Thread(target=lambda d=d: applied.append(d.migrate(TOY))) for d in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(applied) == [[], [], [], [1, 2]]


def test_a_failing_migration_leaves_nothing_and_says_which(pg_url: str) -> None:
    bad = Schema(
        "toy",
        (*TOY.migrations, Migration(3, "broken", "ALTER TABLE toy_notes ADD COLUMN x int; SELECT 1/0;")),
    )
    db = Database(pg_url)
    with pytest.raises(
        DatabaseUnavailableError, match=r"Migration toy 3 \(broken\) failed.*division by zero"
    ):
        db.migrate(bad)
    assert db.schema_version("toy") == 2
    with db.connection() as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'toy_notes'"
        ).fetchall()
    assert ("x",) not in columns  # the migration's first statement was rolled back with the rest
    db.close()


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    db = Database(pg_url)
    db.migrate(TOY)
    older = Schema("toy", TOY.migrations[:1])
    with pytest.raises(DatabaseUnavailableError, match="at version 2; this program knows up to 1"):
        Database(pg_url).migrate(older)
    db.close()


# --- the index store -----------------------------------------------------------------------------------------


def test_ingest_into_postgres_matches_the_files_backend(fake_index: Settings, pg_url: str) -> None:
    settings = pg_settings(fake_index, pg_url)
    store = make_store(settings)
    assert isinstance(store, PgIndexStore) and store.read_manifest() is None
    report = Ingestor(HashEmbedder(), store=store).run(settings.corpus_dir, progress=None)
    files = FileIndexStore(fake_index.index_dir).load()
    data = store.load()
    assert report.chunks_total == len(files.chunks) == len(data.chunks) > 0
    assert data.chunks == files.chunks and np.array_equal(data.vectors, files.vectors)
    assert data.manifest.documents == files.manifest.documents
    assert data.lexical.docs_tokens == files.lexical.docs_tokens
    assert data.manifest.dense_kind.startswith("pgvector-hnsw")

    embedder = HashEmbedder()
    on_files, on_pg = HybridRetriever(files, embedder), HybridRetriever(data, embedder)
    for q in QUERIES:
        a, b = on_files.search(q), on_pg.search(q)
        assert [h.chunk.chunk_id for h in a.hits] == [h.chunk.chunk_id for h in b.hits], q
        assert a.confidence == pytest.approx(b.confidence)
        qvec = embedder.embed_query(q)
        dense_a, dense_b = files.dense.search(qvec, 10), data.dense.search(qvec, 10)
        # the same cosines rank by rank (positions may swap only where two cosines tie)
        assert [s for _, s in dense_a] == pytest.approx([s for _, s in dense_b], abs=1e-5)
        assert {p for p, _ in dense_a[:5]} == {p for p, _ in dense_b[:5]}


def test_service_answers_from_postgres(fake_index: Settings, pg_url: str) -> None:
    settings = pg_settings(fake_index, pg_url)
    Ingestor(HashEmbedder(), store=make_store(settings)).run(settings.corpus_dir, progress=None)
    service, _ = make_service(settings)
    for q in QUERIES[:3]:
        assert service.ask(q).text == make_service(fake_index)[0].ask(q).text  # as from the files backend
    assert str(service.index.path).endswith("version 1") and "index 'main'" in str(service.index.path)


def test_reingest_embeds_only_what_changed_and_keeps_two_versions(fake_index: Settings, pg_url: str) -> None:
    settings = pg_settings(fake_index, pg_url)
    store = make_store(settings)
    Ingestor(HashEmbedder(), store=store).run(settings.corpus_dir, progress=None)
    assert Ingestor(HashEmbedder(), store=store).run(settings.corpus_dir, progress=None).wrote_index is False
    doc = sorted(Path(settings.corpus_dir).glob("*.txt"))[0]
    for round_ in range(3):
        doc.write_text(
            doc.read_text(encoding="utf-8") + f"\n\nEtt nytt stycke, omgång {round_}.\n", encoding="utf-8"
        )
        report = Ingestor(HashEmbedder(), store=store).run(settings.corpus_dir, progress=None)
        assert report.changed == [doc.name] and 0 < report.chunks_embedded <= 3
    assert len(store.versions()) == KEEP_VERSIONS == len(tables(pg_url))
    assert "omgång 2" in " ".join(c.text for c in store.load().chunks if c.source == doc.name)


def test_readers_never_see_half_an_index_and_a_failed_write_changes_nothing(
    fake_index: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pg_settings(fake_index, pg_url)
    store = make_store(settings)
    assert isinstance(store, PgIndexStore)
    Ingestor(HashEmbedder(), store=store).run(settings.corpus_dir, progress=None)
    full = store.load()
    half = full.chunks[: len(full.chunks) // 2]
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        reader = PgIndexStore(Database(pg_url), settings.index_name)
        while not stop.is_set():
            seen.append(len(reader.load().chunks))  # load checks the chunk count against the manifest
        reader.db.close()

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(4):
        chunks = full.chunks if i % 2 else half
        manifest = type(full.manifest).from_dict(full.manifest.to_dict())
        store.write(manifest, chunks, full.vectors[: len(chunks)])
    stop.set()
    thread.join(timeout=60)
    assert seen and set(seen) <= {len(full.chunks), len(half)}

    live = store.versions()
    import rag.pgstore

    def broken(text: str) -> list[str]:
        raise RuntimeError("disk full (on purpose)")

    monkeypatch.setattr(rag.pgstore, "lexical_tokens", broken)
    with pytest.raises(RuntimeError, match="on purpose"):
        store.write(type(full.manifest).from_dict(full.manifest.to_dict()), half, full.vectors[: len(half)])
    assert store.versions() == live and len(tables(pg_url)) == KEEP_VERSIONS
    assert len(store.load().chunks) == len(full.chunks)  # the last good write still serves


def test_a_second_ingest_of_the_same_index_is_refused(fake_index: Settings, pg_url: str) -> None:
    store = make_store(pg_settings(fake_index, pg_url))
    other = PgIndexStore(Database(pg_url), "main")
    with (
        store.lock(),
        pytest.raises(RagError, match="another ingest is running on index 'main'"),
        other.lock(),
    ):
        pass
    with other.lock():  # free again
        pass
    other.db.close()


def test_no_index_yet_says_how_to_build_one(fake_index: Settings, pg_url: str) -> None:
    with pytest.raises(IndexMissingError, match=r"no index has been built yet.*rag ingest"):
        make_store(pg_settings(fake_index, pg_url)).load()


def test_rag_migrate_moves_the_embedded_index_without_embedding_again(
    fake_index: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_DATABASE_URL", pg_url)
    monkeypatch.setenv("RAG_INDEX_DIR", str(fake_index.index_dir))
    monkeypatch.setenv("RAG_INDEX_NAME", "flyttat")
    monkeypatch.setenv("RAG_DATA_DIR", str(fake_index.data_dir))  # not the checkout's data/web.sqlite3
    assert cli.main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "Schema index: version 1" in out and "nothing embedded again" in out
    files = FileIndexStore(fake_index.index_dir).load()
    settings = pg_settings(fake_index, pg_url).with_(index_name="flyttat")
    moved = make_store(settings).load()
    assert moved.chunks == files.chunks and np.array_equal(moved.vectors, files.vectors)
    question = "När har kontaktcenter öppet?"
    assert make_service(settings)[0].ask(question).text == make_service(fake_index)[0].ask(question).text


def test_rag_migrate_without_a_database_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RAG_DATABASE_URL", raising=False)
    assert cli.main(["migrate"]) == 2
    assert "RAG_DATABASE_URL" in capsys.readouterr().err


def test_index_schema_is_one_component_of_the_migration_layer(pg_url: str) -> None:
    db = Database(pg_url)
    assert db.migrate(INDEX_SCHEMA) == [1] and db.migrate(TOY) == [1, 2]
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT component, version, name FROM rag_schema_migrations ORDER BY 1, 2"
        ).fetchall()
    assert rows == [
        ("index", 1, "index versions with pgvector"),
        ("toy", 1, "notes"),
        ("toy", 2, "note dates"),
    ]
    db.close()
