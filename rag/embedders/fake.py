"""Deterministic fake embedders for fast, exact unit tests (first-class code, not test scaffolding)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from rag.embedders.base import Embedder
from rag.text import lexical_tokens


class HashEmbedder(Embedder):
    """Bag of hashed stemmed tokens: texts that share words get similar vectors, fully reproducible."""

    def __init__(self, dim: int = 256) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be greater than 0, got {dim}")
        self.dim = dim
        self.model_id = f"fake-hash-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for tok in lexical_tokens(text):
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        if not vec.any():
            vec[0] = 1e-3
        return vec

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts])

    _encode_passages = _encode_queries


class KeywordEmbedder(Embedder):
    """One-hot over a fixed keyword list: the right ranking for a query is known by construction."""

    def __init__(self, keywords: Sequence[str]) -> None:
        if not keywords:
            raise ValueError("keywords must not be empty")
        self.keywords = [k.lower() for k in keywords]
        self.dim = len(self.keywords) + 1
        self.model_id = "fake-keyword-" + hashlib.sha1("|".join(self.keywords).encode()).hexdigest()[:8]

    def _vector(self, text: str) -> np.ndarray:
        low = text.lower()
        vec = np.array([1.0 if k in low else 0.0 for k in self.keywords] + [1e-3], dtype=np.float32)
        return vec

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts])

    _encode_passages = _encode_queries
