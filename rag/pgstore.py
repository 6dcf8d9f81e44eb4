"""The index in PostgreSQL (RAG_STORE=postgres): chunks with their metadata, vectors in pgvector with an HNSW
index (cosine), the manifest, and the lexical tokens.

Tables (the "index" schema, rag/db/postgres.py runs its migrations)::

    rag_index_versions   id, name, manifest (jsonb), dim, n_chunks, created_at: one row per written version
    rag_index_current    name -> version_id: the live version of each index (RAG_INDEX_NAME)
    rag_chunks_<id>      one table per version: pos, chunk_id, source, chunk (jsonb), tokens (text[]),
                         embedding vector(dim), with an HNSW index (vector_cosine_ops)

A write builds the new version's table, fills it (COPY), builds its HNSW index and moves the name's pointer
in ONE transaction: readers see the old version until the commit and the whole new one after it, never
part of one; a failed write leaves nothing behind. The previous version is kept for replicas that loaded it
and have not reloaded yet; older ones are dropped in the same transaction.

Retrieval finds the dense candidates in PostgreSQL (HNSW) and ranks them by their float32 cosines. The lexical channel is BM25 over the stored tokens,
built in memory at load as with the files backend: PostgreSQL's own full-text search with the swedish
configuration was measured against it and lost (docs/deploy.md, "Retrieval parity"). Each replica also keeps
the chunk texts and vectors in memory (about 2 KB per chunk): the relevance gate, the hand-off and the
cosine of a passage only the lexical channel found read them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from rag.db.postgres import Database, DatabaseUnavailableError, Migration, Schema
from rag.errors import IndexCorruptError, IndexMissingError, RagError
from rag.index.dense import VectorIndex
from rag.index.lexical import BM25Index
from rag.store import FORMAT_VERSION, IndexData, IndexStore, Manifest
from rag.text import lexical_tokens
from rag.types import Chunk, Document

log = logging.getLogger(__name__)

HNSW_M = 16  # pgvector's defaults; recall on the dev sets in docs/deploy.md
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 100  # search depth; never below the candidates retrieval asks for
RESCORE_MARGIN = 16  # candidates fetched beyond k, so a near-tie at the cut-off is decided in float32 too
KEEP_VERSIONS = 2  # the live one and the one before it

INDEX_SCHEMA = Schema(
    "index",
    (
        Migration(
            1,
            "index versions with pgvector",
            """
            CREATE EXTENSION IF NOT EXISTS vector;
            CREATE TABLE rag_index_versions (
                id bigserial PRIMARY KEY,
                name text NOT NULL,
                manifest jsonb NOT NULL,
                dim integer NOT NULL,
                n_chunks integer NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX rag_index_versions_name ON rag_index_versions (name, id);
            CREATE TABLE rag_index_current (
                name text PRIMARY KEY,
                version_id bigint NOT NULL REFERENCES rag_index_versions (id),
                switched_at timestamptz NOT NULL DEFAULT now()
            );
            """,
        ),
    ),
)


def chunk_table(version_id: int) -> str:
    return f"rag_chunks_{int(version_id)}"


def docs_table(version_id: int) -> str:
    return f"rag_documents_{int(version_id)}"


def _lock_key(name: str) -> str:
    return f"rag-ingest:{name}"


class PgVectorIndex(VectorIndex):
    """Dense search in one version's table: the HNSW index (cosine) finds the candidates; their cosines are
    then computed from the vectors in memory, in float32 as FAISS and the rest of retrieval do, so near-ties
    order the same way in both stores and every cosine staff see comes from one computation."""

    def __init__(self, db: Database, version_id: int, vectors: np.ndarray, location: str) -> None:
        self.db = db
        self.table = chunk_table(version_id)
        self.vectors = vectors
        self.kind = f"pgvector-hnsw{HNSW_M}"
        self.location = location

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        import psycopg

        n = len(self)
        if n == 0 or k <= 0:
            return []
        literal = _vector_literal(query)
        with self.db.connection() as conn:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(HNSW_EF_SEARCH, k)),))
            try:
                rows = conn.execute(
                    f"SELECT pos FROM {self.table} ORDER BY embedding <=> %s::vector LIMIT %s",
                    (literal, min(k + RESCORE_MARGIN, n)),
                ).fetchall()
            except psycopg.errors.UndefinedTable as exc:
                raise IndexMissingError(
                    self.location, "this version was replaced twice since it was loaded; reload the service"
                ) from exc
        positions = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = self.vectors[positions] @ np.asarray(query, dtype=np.float32).ravel()
        order = sorted(range(len(positions)), key=lambda i: (-scores[i], positions[i]))[:k]
        return [(int(positions[i]), float(scores[i])) for i in order]

    def __len__(self) -> int:
        return len(self.vectors)


class PgIndexStore(IndexStore):
    """One named index (RAG_INDEX_NAME) in a PostgreSQL database. Construction only stores."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.location = f"{db.display_url} (index {name!r})"

    def read_manifest(self) -> Manifest | None:
        with self.db.connection(INDEX_SCHEMA) as conn:
            row = self._current(conn)
        return None if row is None else _manifest(row[1], self.location)

    def _current(self, conn: Any) -> tuple[int, Any] | None:
        row = conn.execute(
            "SELECT v.id, v.manifest FROM rag_index_current c JOIN rag_index_versions v ON v.id = c.version_id "
            "WHERE c.name = %s",
            (self.name,),
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def load(self) -> IndexData:
        from pgvector.psycopg import register_vector

        t0 = time.perf_counter()
        with self.db.connection(INDEX_SCHEMA) as conn:
            current = self._current(conn)
            if current is None:
                raise IndexMissingError(self.location, "no index has been built yet")
            version_id, raw_manifest = current
            manifest = _manifest(raw_manifest, self.location)
            if manifest.format_version != FORMAT_VERSION:
                raise IndexCorruptError(
                    self.location,
                    f"format version {manifest.format_version}, this program reads {FORMAT_VERSION}",
                )
            register_vector(conn)
            rows = conn.execute(
                f"SELECT pos, chunk, tokens, embedding FROM {chunk_table(version_id)} ORDER BY pos"
            ).fetchall()
            has_docs = conn.execute("SELECT to_regclass(%s)", (docs_table(version_id),)).fetchone()[0]
            doc_rows = (
                conn.execute(f"SELECT document FROM {docs_table(version_id)}").fetchall() if has_docs else []
            )
        where = f"{self.location} version {version_id}"
        if [r[0] for r in rows] != list(range(len(rows))) or len(rows) != manifest.n_chunks:
            raise IndexCorruptError(
                where, f"it holds {len(rows)} chunks, the manifest says {manifest.n_chunks}"
            )
        try:
            chunks = [Chunk.from_dict(r[1]) for r in rows]
        except TypeError as exc:
            raise IndexCorruptError(where, f"a chunk is unreadable ({exc})") from exc
        dim = manifest.dim
        vectors = (
            np.vstack([np.asarray(_array(r[3]), dtype=np.float32) for r in rows])
            if rows
            else np.zeros((0, dim), dtype=np.float32)
        )
        if vectors.shape[1] != dim:
            raise IndexCorruptError(where, f"vectors have dimension {vectors.shape[1]}, manifest says {dim}")
        lexical = BM25Index([list(r[2]) for r in rows])
        log.info("loaded %s: %d chunks in %.0f ms", where, len(chunks), (time.perf_counter() - t0) * 1000)
        dense = PgVectorIndex(self.db, version_id, vectors, where)
        documents = {d.source: d for d in (Document.from_dict(r[0]) for r in doc_rows)}
        return IndexData(manifest, chunks, vectors, dense, lexical, where, documents)

    def write(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        vectors: np.ndarray,
        documents: list[Document] | None = None,
    ) -> str:
        from pgvector.psycopg import register_vector
        from psycopg.types.json import Jsonb

        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), manifest.dim)
        manifest.n_chunks = len(chunks)
        manifest.dense_kind = f"pgvector-hnsw{HNSW_M}"
        manifest.created_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        t0 = time.perf_counter()
        import psycopg

        try:
            with self.db.connection(INDEX_SCHEMA) as conn:  # one transaction: build, fill, index, switch
                register_vector(conn)
                version_id = conn.execute(
                    "INSERT INTO rag_index_versions (name, manifest, dim, n_chunks) VALUES (%s, %s, %s, %s) "
                    "RETURNING id",
                    (self.name, Jsonb(manifest.to_dict()), manifest.dim, len(chunks)),
                ).fetchone()[0]
                table = chunk_table(version_id)
                conn.execute(
                    f"CREATE TABLE {table} (pos integer PRIMARY KEY, chunk_id text NOT NULL, "
                    f"source text NOT NULL, chunk jsonb NOT NULL, tokens text[] NOT NULL, "
                    f"embedding vector({int(manifest.dim)}) NOT NULL)"
                )
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        f"COPY {table} (pos, chunk_id, source, chunk, tokens, embedding) FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(["integer", "text", "text", "jsonb", "text[]", "vector"])
                    for pos, (chunk, vec) in enumerate(zip(chunks, vectors, strict=True)):
                        tokens = lexical_tokens(chunk.titled_text)
                        copy.write_row(
                            [pos, chunk.chunk_id, chunk.source, Jsonb(chunk.to_dict()), tokens, vec]
                        )
                docs = docs_table(version_id)
                conn.execute(f"CREATE TABLE {docs} (source text PRIMARY KEY, document jsonb NOT NULL)")
                for d in documents or []:
                    conn.execute(
                        f"INSERT INTO {docs} (source, document) VALUES (%s, %s)",
                        (d.source, Jsonb(d.to_dict())),
                    )
                conn.execute(
                    f"CREATE INDEX ON {table} USING hnsw (embedding vector_cosine_ops) "
                    f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
                )
                conn.execute(
                    "INSERT INTO rag_index_current (name, version_id) VALUES (%s, %s) ON CONFLICT (name) "
                    "DO UPDATE SET version_id = EXCLUDED.version_id, switched_at = now()",
                    (self.name, version_id),
                )
                self._retire(conn)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise RagError(
                f"Could not write the new index to {self.location} ({first}). The previous index is unchanged "
                "and still serves."
            ) from exc
        log.info(
            "wrote %s version %d: %d chunks in %.1f s",
            self.location,
            version_id,
            len(chunks),
            time.perf_counter() - t0,
        )
        return f"{self.location} version {version_id}"

    def _retire(self, conn: Any) -> None:
        """Drop this name's versions older than the KEEP_VERSIONS newest (inside the switching transaction)."""
        old = conn.execute(
            "SELECT id FROM rag_index_versions WHERE name = %s ORDER BY id DESC OFFSET %s",
            (self.name, KEEP_VERSIONS),
        ).fetchall()
        for (version_id,) in old:
            conn.execute(f"DROP TABLE IF EXISTS {chunk_table(version_id)}")
            conn.execute(f"DROP TABLE IF EXISTS {docs_table(version_id)}")
            conn.execute("DELETE FROM rag_index_versions WHERE id = %s", (version_id,))

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.db.ensure(INDEX_SCHEMA)
        conn = self.db.connect(autocommit=True)
        try:
            key = _lock_key(self.name)
            got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]
            if not got:
                raise RagError(
                    f"another ingest is running on index {self.name!r} in {self.db.display_url}; "
                    "wait for it to finish"
                )
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
        finally:
            conn.close()

    def versions(self) -> list[int]:
        """This name's stored versions, oldest first (the live one and those kept for slow replicas)."""
        with self.db.connection(INDEX_SCHEMA) as conn:
            rows = conn.execute(
                "SELECT id FROM rag_index_versions WHERE name = %s ORDER BY id", (self.name,)
            ).fetchall()
        return [int(r[0]) for r in rows]


def _manifest(raw: Any, where: str) -> Manifest:
    try:
        return Manifest.from_dict(dict(raw))
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(where, f"the manifest is unreadable ({exc})") from exc


def _array(value: Any) -> Any:
    """pgvector's Vector (pgvector 0.4+) or a plain array, as numpy."""
    return value.to_numpy() if hasattr(value, "to_numpy") else value


def _vector_literal(vec: np.ndarray) -> str:
    """pgvector's text form; repr of each float32 value round-trips exactly."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vec, dtype=np.float32).ravel()) + "]"


__all__ = ["INDEX_SCHEMA", "DatabaseUnavailableError", "PgIndexStore", "PgVectorIndex"]
