"""Splitting documents into passages with langchain-text-splitters, keeping character offsets.

Sizes: multilingual-e5-small reads at most 512 tokens, and Swedish runs at roughly 3 characters per
token in both the embedder's and the LLM's tokenizer, so a chunk of 500 characters (~170 tokens) stays
far inside the embedding window while holding a paragraph or one FAQ answer. The LLM reads prompts at
only 70-130 tokens/s on two cores: up to three such passages plus the question cost ~550 prompt tokens,
4-8 s before the first token (700-character chunks measured ~690 tokens). An overlap of 80 characters
keeps a sentence that straddles a boundary whole in at least one chunk.

A chunk does not end with a heading that the next chunk opens with: "… tar vi de steg som krävs.\n\nDen
sociala transformationen" matched questions about the social transformation with a chunk about the green
one. A byline ("Carina Leffler, Stadsdirektör Helsingborgs stad") stays: it says who said the quote above it.
Likewise a lead-in line that ends with a colon moves to the chunk holding what it introduces, where that
chunk has room: "Framöver kan mätningar som dessa tjäna som värdemätare på hur väl målbilden uppnås:" is
the question a list of indexes answers, and alone at the end of another chunk it answers nothing.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass

from langchain_core.documents import Document as LCDocument
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.types import Chunk, Document

_MAX_HEADING = 80  # characters: a longer last paragraph is text, not a heading
_MAX_LEAD_IN = 200  # characters: a longer paragraph ending in ":" is text that happens to end so
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkerSettings:
    chunk_size: int = 500
    chunk_overlap: int = 80
    # v2: no chunk ends with the heading the next one opens with; v3: a lead-in goes with what it introduces
    splitter: str = "recursive-character-v3"

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
        for piece, following in itertools.pairwise(pieces):
            piece.page_content = _without_trailing_heading(piece.page_content, following.page_content)
            self._carry_lead_in(doc.text, piece, following)
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
                    page=doc.page_at(start),
                    page_end=doc.page_at(start + len(text) - 1),
                )
            )
        return chunks

    def _carry_lead_in(self, text: str, piece: LCDocument, following: LCDocument) -> None:
        """Move piece's last paragraph to the start of following when it is a lead-in ending with ":"
        and following, grown back to where the lead-in starts, still fits the chunk size. Offsets are
        checked against the document: a piece the splitter could not place is left as it is."""
        head, sep, last = piece.page_content.rpartition("\n\n")
        lead_in = last.strip()
        if not (sep and head.strip() and lead_in.endswith(":") and len(lead_in) <= _MAX_LEAD_IN):
            return
        start, nxt = (
            int(piece.metadata.get("start_index", -1)),
            int(following.metadata.get("start_index", -1)),
        )
        if start < 0 or nxt < 0 or text[start : start + len(piece.page_content)] != piece.page_content:
            return
        if text[nxt : nxt + len(following.page_content)] != following.page_content:
            return
        lead_start = start + len(head) + len(sep) + (len(last) - len(last.lstrip()))
        end = nxt + len(following.page_content)
        if lead_start >= nxt or end - lead_start > self.settings.chunk_size:
            return
        piece.page_content = head.rstrip()
        following.page_content = text[lead_start:end]
        following.metadata["start_index"] = lead_start


def _without_trailing_heading(text: str, following: str) -> str:
    """text without its last paragraph when that is a heading the following chunk opens with: a short line
    with no sentence punctuation and no comma (which a byline has)."""
    head, sep, last = text.rpartition("\n\n")
    last = last.strip()
    heading = (
        0 < len(last) <= _MAX_HEADING and not last.endswith((".", "!", "?", ":", "…")) and "," not in last
    )
    if sep and head.strip() and heading and following.lstrip().startswith(last):
        return head.rstrip()
    return text
