from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.embedders.base import ProgressFn
from rag.embedders.fake import HashEmbedder
from rag.errors import IndexCorruptError, IndexMissingError, RagError
from rag.ingest import Ingestor
from rag.store import FORMAT_VERSION, current_dir, load_index


class CountingEmbedder(HashEmbedder):
    def __init__(self, dim: int = 256) -> None:
        super().__init__(dim)
        self.embedded = 0

    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_passages(texts, progress)


def _ingest(corpus: Path, root: Path, embedder: HashEmbedder | None = None):  # type: ignore[no-untyped-def]
    emb = embedder or CountingEmbedder()
    return Ingestor(emb, index_root=root).run(corpus, progress=None), emb


def test_first_ingest_builds_a_complete_index(corpus_copy: Path, tmp_path: Path) -> None:
    report, emb = _ingest(corpus_copy, tmp_path / "emb")
    assert report.full_rebuild_reason == "no index yet"
    assert len(report.added) == 5 and report.chunks_embedded == report.chunks_total
    assert report.units_embedded > report.chunks_total  # every sentence, list item … of every chunk
    assert emb.embedded == report.chunks_embedded + report.units_embedded
    data = load_index(tmp_path / "emb")
    assert (
        len(data.chunks) == len(data.vectors) == len(data.dense) == len(data.lexical) == report.chunks_total
    )
    manifest = json.loads((data.path / "manifest.json").read_text())
    assert manifest["embedder_id"] == "fake-hash-256" and manifest["dim"] == 256
    assert manifest["chunker"]["chunk_size"] > 0
    assert all("sha256" in d["fingerprint"] for d in manifest["documents"].values())


def test_an_index_of_an_older_format_is_rebuilt_and_named_outdated_not_damaged(
    corpus_copy: Path, tmp_path: Path
) -> None:
    _ingest(corpus_copy, tmp_path / "emb")
    path = current_dir(tmp_path / "emb") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    path.write_text(json.dumps(manifest))
    report, emb = _ingest(corpus_copy, tmp_path / "emb")
    assert report.full_rebuild_reason == f"index format changed ({FORMAT_VERSION - 1} -> {FORMAT_VERSION})"
    assert (
        emb.embedded == report.chunks_total
    )  # nothing of the old format is reused (units are cached by text)
    assert load_index(tmp_path / "emb").manifest.format_version == FORMAT_VERSION


def test_unchanged_corpus_embeds_and_writes_nothing(corpus_copy: Path, tmp_path: Path) -> None:
    _ingest(corpus_copy, tmp_path / "emb")
    before = current_dir(tmp_path / "emb")
    report, emb = _ingest(corpus_copy, tmp_path / "emb")
    assert emb.embedded == 0 and not report.wrote_index
    assert current_dir(tmp_path / "emb") == before


def test_only_changed_documents_are_embedded_and_removed_ones_dropped(
    corpus_copy: Path, tmp_path: Path
) -> None:
    _ingest(corpus_copy, tmp_path / "emb")
    doc = corpus_copy / "tre-transformationer.txt"
    doc.write_text(doc.read_text() + "\n\nEn helt ny mening om cykelbanor i Helsingborg.\n")
    (corpus_copy / "valkomna-till-helsingborg.txt").unlink()
    report, _ = _ingest(corpus_copy, tmp_path / "emb")
    assert report.changed == ["tre-transformationer.txt"]
    assert report.removed == ["valkomna-till-helsingborg.txt"]
    # the unchanged chunks of the changed document keep their vectors; only the new sentence is a new unit
    assert 0 < report.chunks_embedded <= 3 and report.units_embedded == 1
    sources = {c.source for c in load_index(tmp_path / "emb").chunks}
    assert "valkomna-till-helsingborg.txt" not in sources
    old_dirs = [p for p in (tmp_path / "emb").iterdir() if p.name.startswith("index-")]
    assert len(old_dirs) == 1  # the replaced index was cleaned up


def test_embedder_change_forces_full_rebuild_with_reason(corpus_copy: Path, tmp_path: Path) -> None:
    _ingest(corpus_copy, tmp_path / "emb")
    report, emb = _ingest(corpus_copy, tmp_path / "emb", CountingEmbedder(dim=128))
    assert "embedder changed" in (report.full_rebuild_reason or "")
    assert report.chunks_embedded == report.chunks_total
    assert emb.embedded == report.chunks_total + report.units_embedded  # the unit cache is per embedder too


def test_the_unit_vectors_serve_the_scorer_without_embedding_at_question_time(
    corpus_copy: Path, tmp_path: Path
) -> None:
    from rag.embedders.cache import FILE, VectorCache
    from rag.units import source_units

    _ingest(corpus_copy, tmp_path / "emb")
    emb = CountingEmbedder()
    cache = VectorCache(emb, tmp_path / "emb" / FILE)
    units = [u.text for c in load_index(tmp_path / "emb").chunks for u in source_units(c.text, c.title)]
    assert cache.vectors(units).shape == (len(units), emb.dim) and emb.embedded == 0


def test_bad_files_are_skipped_with_reason_and_nothing_else_lost(corpus_copy: Path, tmp_path: Path) -> None:
    (corpus_copy / "scan.pdf").write_bytes(b"%PDF-1.7 ...")
    (corpus_copy / "tom.txt").write_text("")
    (corpus_copy / "trasig.txt").write_bytes("Åtta år".encode("latin-1"))
    report, _ = _ingest(corpus_copy, tmp_path / "emb")
    assert set(report.skipped) == {"scan.pdf", "tom.txt", "trasig.txt"}
    assert "damaged or not a PDF" in report.skipped["scan.pdf"]
    assert len(report.added) == 5


def test_a_crash_while_writing_leaves_the_old_index_serving(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(corpus_copy, tmp_path / "emb")
    before = load_index(tmp_path / "emb")
    (corpus_copy / "ny.txt").write_text("Nytt dokument om parkering vid Stortorget.")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("rag.store.BM25Index.save", boom)
    with pytest.raises(RagError, match="previous index is unchanged"):
        _ingest(corpus_copy, tmp_path / "emb")
    after = load_index(tmp_path / "emb")
    assert after.path == before.path and len(after.chunks) == len(before.chunks)
    assert not [p for p in (tmp_path / "emb").iterdir() if p.name.startswith(".building")]
    monkeypatch.undo()
    report, _ = _ingest(corpus_copy, tmp_path / "emb")
    assert report.added == ["ny.txt"]


def test_missing_and_corrupt_index_name_the_rebuild_command(corpus_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="rag ingest"):
        load_index(tmp_path / "nothing")
    _ingest(corpus_copy, tmp_path / "emb")
    live = current_dir(tmp_path / "emb")
    assert live is not None
    (live / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="rag ingest"):
        load_index(tmp_path / "emb")
    shutil.copy(live / "chunks.jsonl", live / "x")
    (live / "chunks.jsonl").write_text((live / "x").read_text().splitlines()[0] + "\n")
    with pytest.raises(IndexCorruptError):
        load_index(tmp_path / "emb")
    # a damaged index is rebuilt by the next ingest
    report, _ = _ingest(corpus_copy, tmp_path / "emb")
    assert "damaged" in (report.full_rebuild_reason or "") or report.wrote_index
    assert len(load_index(tmp_path / "emb").chunks) == report.chunks_total
