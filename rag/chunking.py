"""Splitting documents into passages with langchain-text-splitters, keeping character offsets.

Sizes: multilingual-e5-small reads at most 512 tokens, and Swedish runs at roughly 3 characters per
token in both the embedder's and the LLM's tokenizer, so a chunk of 500 characters (~170 tokens) stays
far inside the embedding window while holding a paragraph or one FAQ answer. The LLM reads prompts at
only 70-130 tokens/s on two cores: up to three such passages plus the question cost ~550 prompt tokens,
4-8 s before the first token (700-character chunks measured ~690 tokens). An overlap of 80 characters
keeps a sentence that straddles a boundary whole in at least one chunk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.types import Chunk, Document

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkerSettings:
    chunk_size: int = 500
    chunk_overlap: int = 80
    splitter: str = "recursive-character-v1"

    def to_dict(self) -> dict[str, object]:
        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap, "splitter": self.splitter}


class Chunker:
    def __init__(self, settings: ChunkerSettings | None = None) -> None:
        self.settings = settings or ChunkerSettings()
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            separators=SEPARATORS,
            keep_separator="end",
            add_start_index=True,
            strip_whitespace=True,
        )

    def split(self, doc: Document) -> list[Chunk]:
        pieces = self._splitter.create_documents([doc.text])
        chunks: list[Chunk] = []
        seen: set[str] = set()
        cursor = 0
        for ordinal, piece in enumerate(pieces):
            text = piece.page_content
            start = int(piece.metadata.get("start_index", -1))
            if start < 0 or doc.text[start : start + len(text)] != text:
                start = doc.text.find(text, cursor)  # the splitter could not place it: search forward
            if start < 0:
                start = doc.text.find(text)
            cursor = max(start, 0)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            chunk_id = f"{doc.doc_id}#{digest[:10]}"
            if chunk_id in seen:  # the same text twice in one document
                chunk_id = f"{chunk_id}-{ordinal}"
            seen.add(chunk_id)
            chunks.append(
                Chunk(
                    chunk_id=chunk_id,
                    doc_id=doc.doc_id,
                    source=doc.source,
                    title=doc.title,
                    text=text,
                    start=start,
                    end=start + len(text),
                    sha256=digest,
                    ordinal=ordinal,
                    date=doc.date,
                    url=doc.url,
                )
            )
        return chunks
