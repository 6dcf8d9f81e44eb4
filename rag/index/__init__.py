"""The index seams: a dense vector index and a lexical index, each behind a small interface."""

from rag.index.dense import FaissIndex, VectorIndex
from rag.index.lexical import BM25Index, LexicalIndex

__all__ = ["BM25Index", "FaissIndex", "LexicalIndex", "VectorIndex"]
