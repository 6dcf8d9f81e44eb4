"""Any local sentence-transformers model folder (EmbeddingGemma, MiniLM, ...). Never downloads."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedders.base import Embedder
from rag.errors import ModelMissingError

log = logging.getLogger(__name__)


DTYPES = ("float32", "bfloat16")


class SentenceTransformerEmbedder(Embedder):
    """dtype="bfloat16" halves EmbeddingGemma's time on CPU with the same ranks (docs/retrieval.md); it
    is part of model_id, so switching it rebuilds the index. threads: torch intra-op threads (None: as is)."""

    def __init__(
        self,
        model_path: str | Path,
        batch_size: int = 16,
        *,
        dtype: str = "float32",
        threads: int | None = None,
    ) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if threads is not None and threads <= 0:
            raise ValueError(f"threads must be greater than 0, got {threads}")
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.dtype = dtype
        self.threads = threads
        self.model_id = f"sentence-transformers/{self.model_path.name}" + (
            "" if dtype == "float32" else f"-{dtype}"
        )
        self._model: Any = None
        self._dim: int | None = None

    @property
    def dim(self) -> int:  # type: ignore[override]
        if self._dim is None:
            model = self._load()
            get_dim = (
                getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            )
            self._dim = int(get_dim())
        return self._dim

    def _load(self) -> Any:
        if self._model is None:
            if (
                not (self.model_path / "config.json").exists()
                and not (self.model_path / "modules.json").exists()
            ):
                raise ModelMissingError(
                    str(self.model_path),
                    "Point RAG_EMBEDDER_MODEL at a local sentence-transformers model folder.",
                )
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads is not None:
                torch.set_num_threads(self.threads)
            kwargs: dict[str, Any] = {}
            if self.dtype != "float32":
                kwargs["model_kwargs"] = {"torch_dtype": getattr(torch, self.dtype)}
            log.info("loading sentence-transformers model from %s (%s)", self.model_path, self.dtype)
            self._model = SentenceTransformer(
                str(self.model_path), device="cpu", local_files_only=True, **kwargs
            )
        return self._model

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        model = self._load()
        method = getattr(
            model, f"encode_{kind}", None
        )  # sentence-transformers >= 5 has encode_query/document
        if method is None:
            method = model.encode
        out = method(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        if hasattr(out, "float"):  # a bf16 tensor (convert_to_tensor paths): numpy has no bf16
            out = out.float().numpy()
        return np.asarray(out, dtype=np.float32)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "document")
