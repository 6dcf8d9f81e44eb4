"""Reading corpus files (.txt, .md, .html) into normalised Documents; anything else fails with a reason."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

from rag.errors import DocumentError
from rag.text import normalize_text
from rag.types import Document

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm")
METADATA_FILE = "metadata.json"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def list_corpus_files(corpus_dir: Path) -> list[Path]:
    """Every regular file of the corpus, sorted, except the metadata file and hidden files."""
    if not corpus_dir.is_dir():
        raise DocumentError(str(corpus_dir), "the corpus folder does not exist")
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and p.name != METADATA_FILE and not any(part.startswith(".") for part in p.parts)
    )


def load_metadata(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring %s: %s (fix the JSON to get titles back)", path, exc)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


class _HTMLText(HTMLParser):
    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "section",
            "article",
            "header",
        }
    )
    _SKIP: ClassVar[frozenset[str]] = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        else:
            self.parts.append(data)


def html_to_text(raw: str) -> tuple[str, str]:
    """(title, text) of an HTML page; script and style dropped, block elements become paragraphs."""
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))
    return html.unescape(parser.title).strip(), text


_MD_MARKUP = re.compile(r"(\*\*|__|^#{1,6}\s+|^>\s?)", re.MULTILINE)


def _decode(raw: bytes, path: Path) -> str:
    if not raw.strip():
        raise DocumentError(str(path), "the file is empty")
    if b"\x00" in raw[:8192]:
        raise DocumentError(str(path), "the file looks binary (NUL bytes); save it as UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            str(path), f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
        ) from exc


def _first_line_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip(" #*")
        if len(line) >= 3:
            return line[:120]
    return ""


def load_document(
    path: Path, corpus_dir: Path, metadata: dict[str, dict[str, Any]] | None = None
) -> Document:
    """Read one file. Raises DocumentError (with the reason) for unsupported, empty, binary or mis-encoded files."""
    rel = path.relative_to(corpus_dir).as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            rel, f"unsupported format {suffix or '(no extension)'}; convert it to .txt, .md or .html"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(rel, f"cannot be read: {exc.strerror}") from exc
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentError(rel, f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; split it into parts")
    decoded = _decode(raw, Path(rel))
    html_title = ""
    if suffix in (".html", ".htm"):
        html_title, decoded = html_to_text(decoded)
    elif suffix == ".md":
        decoded = _MD_MARKUP.sub("", decoded)
    text = normalize_text(decoded)
    if len(text) < 2:
        raise DocumentError(rel, "no text left after reading the file")
    meta = (metadata or {}).get(rel, {})
    title = str(meta.get("title") or html_title or _first_line_title(text) or path.stem)
    return Document(
        doc_id=rel.rsplit(".", 1)[0],
        source=rel,
        title=normalize_text(title),
        text=text,
        sha256=hashlib.sha256(raw).hexdigest(),
        date=meta.get("date"),
        url=meta.get("url"),
    )
