"""A ready service on the deterministic fakes (hash embedder, scripted generator) over a copy of a corpus.

For the web tests and the browser tests: real retrieval, attribution and hand-off code, no model files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.config import ROOT, Settings
from rag.embedders.fake import HashEmbedder
from rag.generation.fake import Script, ScriptedGenerator
from rag.ingest import Ingestor
from rag.service import AssistantService


def fake_service(
    workdir: Path,
    *,
    corpus: Path = ROOT / "corpus",
    script: Script | str | list[str] | None = None,
) -> AssistantService:
    """Copy `corpus` into workdir/corpus, index it with the HashEmbedder and return a service on fakes."""
    workdir = Path(workdir)
    dest = workdir / "corpus"
    if not dest.exists():
        shutil.copytree(corpus, dest)
    settings = Settings.from_env(
        environ={},
        corpus_dir=dest,
        index_dir=workdir / "embeddings",
        data_dir=workdir / "data",
        embedder="fake",
        generator="scripted",
    )
    embedder = HashEmbedder()
    Ingestor(embedder, index_root=settings.index_dir).run(dest, progress=None)
    return AssistantService(settings, embedder=embedder, generator=ScriptedGenerator(script))
