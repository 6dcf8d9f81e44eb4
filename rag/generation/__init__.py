"""The generator seam: one interface, a llama.cpp backend and a scripted fake, one factory."""

from rag.generation.base import Generator, make_generator

__all__ = ["Generator", "make_generator"]
