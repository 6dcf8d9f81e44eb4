from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import ConfigError, ModelMissingError
from rag.generation.llama import LlamaCppGenerator
from rag.models import DEFAULT_LLM_NAME, verify_model


def test_environment_overrides_and_validation() -> None:
    s = Settings.from_env({"RAG_TOP_K": "12", "RAG_EMBEDDER": "fake", "RAG_INDEX_DIR": "/tmp/x"})
    assert (s.top_k, s.embedder, s.index_dir) == (12, "fake", Path("/tmp/x"))
    with pytest.raises(ConfigError, match="RAG_EMBEDDER"):
        Settings.from_env({"RAG_EMBEDDER": "word2vec"})
    with pytest.raises(ConfigError, match="RAG_TOP_K='many'"):
        Settings.from_env({"RAG_TOP_K": "many"})
    with pytest.raises(ConfigError, match="top_k must be greater than 0"):
        Settings(top_k=0)


def test_missing_truncated_or_foreign_model_files_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="rag models"):
        verify_model(tmp_path / DEFAULT_LLM_NAME)
    truncated = tmp_path / DEFAULT_LLM_NAME
    truncated.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ModelMissingError, match="checksum"):
        verify_model(truncated)
    not_gguf = tmp_path / "other.gguf"
    not_gguf.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelMissingError, match="not a GGUF file"):
        list(LlamaCppGenerator(not_gguf).stream([{"role": "user", "content": "hej"}], max_tokens=1))
    with pytest.raises(ModelMissingError, match="rag models"):
        list(LlamaCppGenerator(tmp_path / "none.gguf").stream([], max_tokens=1))
