"""The embeddings seam: one interface, three backends, one factory."""

from rag.embedders.base import Embedder, make_embedder

__all__ = ["Embedder", "make_embedder"]
