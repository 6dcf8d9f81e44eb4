"""The generator seam: one interface; llama.cpp in-process, OpenAI-compatible servers, a scripted fake; one factory."""

from rag.generation.base import Generator, make_generator

__all__ = ["Generator", "make_generator"]
