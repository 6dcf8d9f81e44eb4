"""The persisted index: manifest, chunk store, vectors, dense and lexical index, swapped in atomically.

The seam is :class:`IndexStore` (read the manifest, load, write a new version, lock for an ingest), with
:func:`make_store` choosing the backend from RAG_STORE: ``files`` (below, the embedded default) or
``postgres`` (rag/pgstore.py: PostgreSQL with pgvector).

Layout of the files backend under the index root (``embeddings/``)::

    current -> index-<timestamp>-<id>/      a symlink, replaced with one atomic rename
    index-<timestamp>-<id>/
        manifest.json   format version, embedder id and dimension, chunker settings, per-document hashes
        chunks.jsonl    one Chunk per line, in vector order
        vectors.npy     float32 (n, dim), kept so re-ingest reuses the vectors of unchanged documents
        dense.faiss     the FAISS index over vectors.npy
        lexical.json    the tokens of every chunk; BM25 statistics are rebuilt on load
        documents.jsonl one Document per line: the text passages point into, its page offsets, the text before
                        å/ä/ö were restored; the document viewer reads it, and ingest reuses it for files that
                        did not change (a scanned PDF is not read with OCR again)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import IndexCorruptError, IndexMissingError, RagError
from rag.index.dense import FaissIndex, VectorIndex
from rag.index.lexical import BM25Index
from rag.text import lexical_tokens
from rag.types import Chunk, Document

if TYPE_CHECKING:
    from rag.config import Settings

log = logging.getLogger(__name__)

# 2: genitive definite '-ans' stemmed like '-an'; 3: 'caféet'/'cafét' -> 'cafe'; 4: 'digitalt' -> 'digital'
# (each changed the lexical tokens); 5: documents.jsonl, pages in chunks, å/ä/ö restored at ingest
FORMAT_VERSION = 5
CURRENT = "current"
FILES = ("manifest.json", "chunks.jsonl", "vectors.npy", "dense.faiss", "lexical.json", "documents.jsonl")


@dataclass
class Manifest:
    embedder_id: str
    dim: int
    chunker: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # source -> {sha256, title, date, chunks}
    format_version: int = FORMAT_VERSION
    created_at: str = ""
    n_chunks: int = 0
    dense_kind: str = ""
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class IndexData:
    """Everything retrieval needs, loaded once."""

    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: VectorIndex
    lexical: BM25Index
    path: Path | str  # the version's folder (files), or where it lives in PostgreSQL
    documents: dict[str, Document] = field(default_factory=dict)  # source -> the document as indexed

    def doc_chunks(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            out.setdefault(c.source, []).append(i)
        return out


def current_dir(root: Path) -> Path | None:
    link = root / CURRENT
    if not link.exists():
        return None
    return link.resolve()


def read_manifest(root: Path) -> Manifest | None:
    """The live manifest, or None when there is no index (a damaged one raises IndexCorruptError)."""
    path = current_dir(root)
    if path is None:
        return None
    try:
        return Manifest.from_dict(json.loads((path / "manifest.json").read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise IndexCorruptError(str(path), "manifest.json is missing") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(str(path), f"manifest.json is unreadable ({exc})") from exc


def load_index(root: Path) -> IndexData:
    path = current_dir(root)
    if path is None:
        raise IndexMissingError(str(root), "no index has been built yet")
    manifest = read_manifest(root)
    assert manifest is not None
    if manifest.format_version != FORMAT_VERSION:
        raise IndexCorruptError(
            str(path), f"format version {manifest.format_version}, this program reads {FORMAT_VERSION}"
        )
    for name in FILES:
        if not (path / name).exists():
            raise IndexCorruptError(str(path), f"{name} is missing")
    try:
        chunks = [
            Chunk.from_dict(json.loads(line))
            for line in (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        documents = {
            d.source: d
            for d in (
                Document.from_dict(json.loads(line))
                for line in (path / "documents.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()
            )
        }
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(str(path), f"the chunk store is unreadable ({exc})") from exc
    dense = FaissIndex.load(path / "dense.faiss")
    lexical = BM25Index.load(path / "lexical.json")
    sizes = {"chunks": len(chunks), "vectors": len(vectors), "dense": len(dense), "lexical": len(lexical)}
    if len(set(sizes.values())) != 1 or len(chunks) != manifest.n_chunks:
        raise IndexCorruptError(
            str(path), f"its parts disagree in size {sizes}, manifest says {manifest.n_chunks}"
        )
    if vectors.size and vectors.shape[1] != manifest.dim:
        raise IndexCorruptError(
            str(path), f"vectors have dimension {vectors.shape[1]}, manifest says {manifest.dim}"
        )
    return IndexData(manifest, chunks, vectors, dense, lexical, path, documents)


def write_index(
    root: Path,
    manifest: Manifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    documents: list[Document] | None = None,
) -> Path:
    """Write a complete new index beside the live one, then swap the 'current' link to it atomically.

    A crash at any point leaves the previous index serving: the link only moves once every file of the
    new one is written and fsynced, and the old directory is removed only after the move.
    """
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    new = root / f"index-{stamp}-{uuid.uuid4().hex[:6]}"
    tmp = root / f".building-{new.name}"
    tmp.mkdir()
    try:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), manifest.dim)
        dense = FaissIndex.build(vectors)
        manifest.n_chunks = len(chunks)
        manifest.dense_kind = dense.kind
        manifest.created_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as fh:
            for d in documents or []:
                fh.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        dense.save(tmp / "dense.faiss")
        BM25Index([lexical_tokens(c.titled_text) for c in chunks]).save(tmp / "lexical.json")
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2))
        for name in FILES:
            _fsync(tmp / name)
        tmp.rename(new)
        _fsync_dir(root)
        link_tmp = root / f".{CURRENT}-{uuid.uuid4().hex[:6]}"
        link_tmp.symlink_to(new.name)
        os.replace(link_tmp, root / CURRENT)  # the atomic swap
        _fsync_dir(root)
    except OSError as exc:  # a full disk, a read-only folder: say so, and that the old index still serves
        shutil.rmtree(tmp, ignore_errors=True)
        raise RagError(
            f"Could not write the new index in {root} ({exc.strerror or exc}). The previous index is unchanged "
            "and still serves. Free disk space (or fix the folder's permissions) and run: .venv/bin/rag ingest"
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_stale(root)
    return new


def remove_stale(root: Path) -> None:
    """Delete index directories that 'current' no longer points at, and leftovers of interrupted builds."""
    live = current_dir(root)
    for p in root.iterdir():
        if (
            p.is_dir()
            and not p.is_symlink()
            and (p.name.startswith("index-") or p.name.startswith(".building-"))
        ):
            if live is None or p.resolve() != live:
                shutil.rmtree(p, ignore_errors=True)
        elif p.is_symlink() and p.name.startswith(f".{CURRENT}-"):
            p.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the store seam -------------------------------------------------------------------------------------------


class IndexStore(ABC):
    """Where the index lives. Readers load the live version whole; a writer adds a complete new version and
    makes it live in one step, so a reader never sees half an index."""

    location: str  # for messages and reports

    @abstractmethod
    def read_manifest(self) -> Manifest | None:
        """The live manifest, or None when there is no index (a damaged one raises IndexCorruptError)."""

    @abstractmethod
    def load(self) -> IndexData:
        """The live version, checked (IndexMissingError when there is none, IndexCorruptError when damaged)."""

    @abstractmethod
    def write(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        vectors: np.ndarray,
        documents: list[Document] | None = None,
    ) -> str:
        """Store a complete new version (with the documents as indexed, for the viewer and for re-ingest)
        and make it the live one at once; returns where it lives."""

    @abstractmethod
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held through a whole ingest: a second ingest of the same index fails at once with RagError."""


class FileIndexStore(IndexStore):
    """The index in a folder (RAG_INDEX_DIR), swapped by an atomic symlink rename."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def read_manifest(self) -> Manifest | None:
        return read_manifest(self.root)

    def load(self) -> IndexData:
        return load_index(self.root)

    def write(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        vectors: np.ndarray,
        documents: list[Document] | None = None,
    ) -> str:
        return str(write_index(self.root, manifest, chunks, vectors, documents))

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".ingest.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise RagError("another ingest is running on this index; wait for it to finish") from exc
            yield


def copy_index(source: IndexStore, target: IndexStore) -> str:
    """Make source's live version the target's new live version, vectors as they are (nothing is embedded
    again), and read it back to check; returns where it now lives. Holds the target's ingest lock."""
    data = source.load()
    with target.lock():
        where = target.write(Manifest.from_dict(data.manifest.to_dict()), data.chunks, data.vectors)
    copied = target.load()
    if copied.chunks != data.chunks or not np.array_equal(copied.vectors, data.vectors):
        raise RagError(f"the index read back from {where} differs from {source.location}; it was not copied")
    return where


def make_store(settings: Settings) -> IndexStore:
    """The index store RAG_STORE names: files in RAG_INDEX_DIR, or RAG_INDEX_NAME in RAG_DATABASE_URL."""
    if settings.store == "postgres":
        from rag.db.postgres import database
        from rag.pgstore import PgIndexStore

        return PgIndexStore(database(settings.database_url), settings.index_name)
    return FileIndexStore(settings.index_dir)
