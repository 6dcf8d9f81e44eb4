"""Shared fixtures: a copy of the real corpus indexed with the deterministic fake embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedders.fake import HashEmbedder
from rag.generation.fake import ScriptedGenerator
from rag.ingest import Ingestor
from rag.service import AssistantService

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture
def fake_settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings.from_env(
        environ={},
        corpus_dir=corpus_copy,
        index_dir=tmp_path / "embeddings",
        data_dir=tmp_path / "data",
        embedder="fake",
        generator="scripted",
    )


@pytest.fixture
def fake_index(fake_settings: Settings) -> Settings:
    Ingestor(HashEmbedder(), index_root=fake_settings.index_dir).run(fake_settings.corpus_dir, progress=None)
    return fake_settings


def make_service(settings: Settings, script: object = None) -> tuple[AssistantService, ScriptedGenerator]:
    gen = ScriptedGenerator(script)  # type: ignore[arg-type]
    return AssistantService(settings, embedder=HashEmbedder(), generator=gen), gen
