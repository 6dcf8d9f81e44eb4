"""Ingest: corpus files -> documents -> å/ä/ö repair -> chunks -> vectors -> a new index.

Only what changed is done again: a file whose bytes and metadata are as last time is not read again (its
document comes from the index, so a scanned PDF is not OCR'd twice), and an unchanged document keeps its
chunks and vectors. Documents whose å/ä/ö were lost in extraction are repaired with the words of the healthy
documents (rag/repair.py); the index keeps the original text beside the repaired one for staff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.chunking import Chunker, ChunkerSettings
from rag.config import Settings
from rag.embedders.base import Embedder
from rag.embedders.cache import FILE as UNIT_VECTORS
from rag.embedders.cache import VectorCache
from rag.errors import DocumentError, IndexCorruptError, RagError
from rag.loaders import LOADER_VERSION, file_sha256, list_corpus_files, load_document, load_metadata
from rag.ocr import OcrEngine
from rag.repair import AccentRepairer, corpus_vocabulary, repair_note
from rag.store import FORMAT_VERSION, FileIndexStore, IndexData, IndexStore, Manifest, make_store
from rag.types import Chunk, Document, IngestReport
from rag.units import source_units

log = logging.getLogger(__name__)

ProgressFactory = Callable[[int], Callable[[int], None]]


def passage_text(chunk: Chunk) -> str:
    """What the embedder sees of a chunk: the document title gives short passages their topic."""
    return f"{chunk.title}. {chunk.text}"


def _fingerprint(sha256: str, meta: dict[str, object]) -> dict[str, object]:
    """What decides whether a file must be read again: its bytes, its metadata entry and the readers' version."""
    return {
        "sha256": sha256,
        "title": meta.get("title"),
        "date": meta.get("date"),
        "url": meta.get("url"),
        "loader": LOADER_VERSION,
    }


def _same_document(a: Document, b: Document) -> bool:
    return (a.text, a.title, a.date, a.url, a.pages) == (b.text, b.title, b.date, b.url, b.pages)


def _as_extracted(doc: Document) -> Document:
    """A stored document as its reader returned it (before the å/ä/ö repair)."""
    return replace(doc, text=doc.original_text, original_text=None) if doc.original_text else doc


def _bar(desc: str, unit: str) -> ProgressFactory:
    def factory(total: int) -> Callable[[int], None]:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit, leave=False)

        def advance(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return advance

    return factory


tqdm_ocr_progress = _bar("Läser skannade sidor (OCR)", "sida")


def tqdm_progress(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="Bäddar in textstycken", unit="st", leave=False)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


class Ingestor:
    """Brings an index store in line with a corpus folder. Pass the store, or (files backend) its folder."""

    def __init__(
        self,
        embedder: Embedder,
        chunker: Chunker | None = None,
        *,
        index_root: Path | None = None,
        store: IndexStore | None = None,
        unit_cache: Path | None = None,
        ocr: OcrEngine | None = None,
        repair: bool = True,
    ) -> None:
        if (index_root is None) == (store is None):
            raise ValueError("pass either index_root (a folder) or store, not both")
        self.embedder = embedder
        self.chunker = chunker or Chunker()
        self.store: IndexStore = store or FileIndexStore(index_root)  # type: ignore[arg-type]
        # where the unit vectors are kept: beside a files index, or where the caller says (unit_cache_path)
        if unit_cache is None and isinstance(self.store, FileIndexStore):
            unit_cache = self.store.root / UNIT_VECTORS
        self.unit_cache = unit_cache
        self.ocr = ocr  # None: Tesseract, looked for when the first scan needs it
        self.repair = repair

    def run(
        self,
        corpus_dir: Path,
        *,
        progress: ProgressFactory | None = tqdm_progress,
        ocr_progress: ProgressFactory | None = tqdm_ocr_progress,
    ) -> IngestReport:
        """Bring the index in line with corpus_dir. Holds a lock so two ingests never interleave.
        `progress` counts passages embedded, `ocr_progress` pages read with OCR (per document)."""
        with self.store.lock():
            return self._run(corpus_dir, progress, ocr_progress)

    def _repaired(self, docs: list[Document]) -> list[Document]:
        """The documents with lost å/ä/ö restored (the original text kept), the others as they are."""
        if not self.repair or not docs:
            return docs
        probe = AccentRepairer()
        damaged = {d.source for d in docs if probe.damage(d.text).is_damaged}
        if not damaged:
            return docs
        repairer = AccentRepairer(
            corpus_vocabulary(d.text for d in docs if d.source not in damaged), lexicon=probe.lexicon
        )
        out = []
        for d in docs:
            if d.source in damaged:
                fixed = repairer.repair(d.text)
                log.info("%s: å/ä/ö restored in %d words", d.source, len(fixed.changes))
                d = replace(d, text=fixed.text, original_text=d.text) if fixed.changes else d
            out.append(d)
        return out

    def _run(
        self, corpus_dir: Path, progress: ProgressFactory | None, ocr_progress: ProgressFactory | None
    ) -> IngestReport:
        t0 = time.perf_counter()
        corpus_dir = corpus_dir.resolve()
        metadata = load_metadata(corpus_dir)

        chunker_settings = self.chunker.settings.to_dict()
        rebuild_reason: str | None = None
        try:
            old_manifest = self.store.read_manifest()
        except IndexCorruptError as exc:
            old_manifest, rebuild_reason = None, f"the previous index is damaged ({exc})"
        old_data: IndexData | None = None
        if old_manifest is not None and 0 < old_manifest.format_version < FORMAT_VERSION:
            rebuild_reason = f"index format changed ({old_manifest.format_version} -> {FORMAT_VERSION})"
            old_manifest = None  # an older format is outdated, not damaged (a newer one is): not loaded
        if old_manifest is not None:
            try:  # a manifest alone proves little: the other files must load and agree with it
                old_data = self.store.load()
            except RagError as exc:
                old_manifest, rebuild_reason = None, f"the previous index is damaged ({exc})"
        if old_manifest is None and rebuild_reason is None:
            rebuild_reason = "no index yet"
        elif old_manifest is not None:
            if old_manifest.embedder_id != self.embedder.model_id:
                rebuild_reason = f"embedder changed ({old_manifest.embedder_id} -> {self.embedder.model_id})"
            elif old_manifest.chunker != chunker_settings:
                rebuild_reason = f"chunker settings changed ({old_manifest.chunker} -> {chunker_settings})"

        old_docs = old_manifest.documents if (old_manifest and not rebuild_reason) else {}
        stored = old_data.documents if (old_data is not None and old_docs) else {}

        extracted: list[Document] = []
        skipped: dict[str, str] = {}
        reread = False
        for path in list_corpus_files(corpus_dir):
            rel = path.relative_to(corpus_dir).as_posix()
            try:
                fingerprint = _fingerprint(file_sha256(path), metadata.get(rel, {}))
            except OSError as exc:
                skipped[rel] = f"cannot be read: {exc.strerror}"
                continue
            old = old_docs.get(rel)
            if old is not None and old.get("fingerprint") == fingerprint and rel in stored:
                extracted.append(_as_extracted(stored[rel]))
                continue
            reread = True
            try:
                extracted.append(
                    load_document(path, corpus_dir, metadata, ocr=self.ocr, progress=ocr_progress)
                )
            except DocumentError as exc:
                skipped[exc.path] = exc.reason
                log.warning("skipped %s: %s", exc.path, exc.reason)
        current = {d.source: d for d in extracted}
        removed = sorted(s for s in old_docs if s not in current)

        if not (reread or removed or rebuild_reason) and old_manifest is not None:
            if old_manifest.skipped != skipped:
                log.info("skipped files changed but no document did; the index stays as it is")
            units = self._embed_units(old_data.chunks if old_data else [], progress)
            return IngestReport(
                unchanged=sorted(current),
                skipped=skipped,
                notes=_notes(stored.values()),
                chunks_total=old_manifest.n_chunks,
                units_embedded=units,
                index_dir=self.store.location,
                seconds=time.perf_counter() - t0,
            )

        docs = self._repaired(extracted)
        unchanged = sorted(
            d.source
            for d in docs
            if d.source in old_docs and d.source in stored and _same_document(d, stored[d.source])
        )
        added = sorted(d.source for d in docs if d.source not in old_docs)
        changed = sorted(d.source for d in docs if d.source in old_docs and d.source not in unchanged)
        if not (added or changed or removed or rebuild_reason) and old_manifest is not None:
            units = self._embed_units(old_data.chunks if old_data else [], progress)
            return IngestReport(
                unchanged=unchanged,
                skipped=skipped,
                notes=_notes(docs),
                chunks_total=old_manifest.n_chunks,
                units_embedded=units,
                index_dir=self.store.location,
                seconds=time.perf_counter() - t0,
            )
        if rebuild_reason:
            log.info("full rebuild: %s", rebuild_reason)

        # Reuse vectors of unchanged documents and of identical chunk texts from the old index.
        reuse: dict[str, np.ndarray] = {}
        old_by_source: dict[str, list[tuple[Chunk, np.ndarray]]] = {}
        if old_docs and old_data is not None:
            for chunk, vec in zip(old_data.chunks, old_data.vectors, strict=True):
                old_by_source.setdefault(chunk.source, []).append((chunk, vec))
                reuse[chunk.sha256 + "|" + chunk.title] = vec

        chunks: list[Chunk] = []
        vectors: list[np.ndarray | None] = []
        manifest_docs: dict[str, dict[str, object]] = {}
        for doc in docs:
            if doc.source in unchanged and doc.source in old_by_source:
                pairs = old_by_source[doc.source]
            else:
                pairs = [(c, reuse.get(c.sha256 + "|" + c.title)) for c in self.chunker.split(doc)]  # type: ignore[misc]
            for c, v in pairs:
                chunks.append(c)
                vectors.append(v)
            manifest_docs[doc.source] = {
                "doc_id": doc.doc_id,
                "title": doc.title,
                "fingerprint": _fingerprint(doc.sha256, metadata.get(doc.source, {})),
                "chunks": len(pairs),
                "pages": len(doc.pages) if doc.pages else None,
                "repaired": doc.original_text is not None,
            }

        todo = [i for i, v in enumerate(vectors) if v is None]
        if todo:
            advance = progress(len(todo)) if progress else None
            fresh = self.embedder.embed_passages([passage_text(chunks[i]) for i in todo], progress=advance)
            for i, v in zip(todo, fresh, strict=True):
                vectors[i] = v
        dim = self.embedder.dim
        matrix = np.vstack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)  # type: ignore[arg-type]
        manifest = Manifest(
            embedder_id=self.embedder.model_id,
            dim=dim,
            chunker=chunker_settings,
            documents=manifest_docs,
            skipped=skipped,
        )
        written = self.store.write(manifest, chunks, matrix, docs)
        units = self._embed_units(chunks, progress)
        report = IngestReport(
            added=added,
            changed=changed,
            removed=removed,
            unchanged=unchanged,
            skipped=skipped,
            notes=_notes(docs),
            chunks_embedded=len(todo),
            chunks_total=len(chunks),
            units_embedded=units,
            full_rebuild_reason=rebuild_reason,
            index_dir=written,
            seconds=time.perf_counter() - t0,
        )
        log.info(
            "ingest: %d added, %d changed, %d removed, %d unchanged, %d skipped; embedded %d of %d chunks",
            len(added),
            len(changed),
            len(removed),
            len(unchanged),
            len(skipped),
            len(todo),
            len(chunks),
        )
        return report

    def _embed_units(self, chunks: list[Chunk], progress: ProgressFactory | None) -> int:
        """Embed every unit (sentence, list item …) of the chunks that the unit-vector cache lacks, so the
        answer-sentence scorer never embeds at question time; units no chunk has any more are dropped."""
        cache = VectorCache(self.embedder, self.unit_cache)
        texts = [u.text for c in chunks for u in source_units(c.text, c.title)]
        todo = cache.missing(texts)
        advance = progress(len(todo)) if progress and todo else None
        n = cache.fill(texts, advance, only=True)
        cache.save()
        return n


def _notes(docs: object) -> dict[str, list[str]]:
    """What staff should know per document: its reader's notes (OCR confidence) and the repair."""
    out: dict[str, list[str]] = {}
    for d in docs:  # type: ignore[attr-defined]
        notes = list(d.notes)
        if d.original_text:
            notes.append(repair_note(d.original_text, d.text))
        if notes:
            out[d.source] = notes
    return out


def default_chunker(chunk_size: int, chunk_overlap: int) -> Chunker:
    return Chunker(ChunkerSettings(chunk_size=chunk_size, chunk_overlap=chunk_overlap))


def make_ingestor(settings: Settings, embedder: Embedder) -> Ingestor:
    """The ingest the settings describe: chunk sizes, OCR engine and languages, the index store and where
    its unit vectors are kept."""
    from rag.embedders.cache import unit_cache_path
    from rag.ocr import make_ocr

    return Ingestor(
        embedder,
        default_chunker(settings.chunk_size, settings.chunk_overlap),
        store=make_store(settings),
        unit_cache=unit_cache_path(settings),
        ocr=make_ocr(settings),
    )
