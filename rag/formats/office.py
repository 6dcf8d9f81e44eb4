"""Word (.docx) and OpenDocument (.odt) text, read from their XML with the standard library.

Headings become paragraphs of their own, list items get their bullet ("•") or number ("1."), table rows become
one line each with the cells separated by " | ". Headers, footers, comments, footnotes and deleted text
(tracked changes) are left out.

Word and OpenDocument files are not paginated here: their pages depend on the program, fonts and printer that lay
them out. The page breaks a file records from its last layout were measured against LibreOffice's own PDF of the
same file and disagreed (tre-transformationer.odt: page 2 at character 4631 by its soft page breaks, 2809 in the
PDF), so a citation of a Word file names the file and the passage, not a page it cannot know.

A password-protected file is refused with that reason: Word stores it as an encrypted OLE container, an
OpenDocument file marks its encrypted parts in its manifest.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from rag.errors import DocumentError

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAX_XML_BYTES = 200 * 1024 * 1024  # uncompressed: a "zip bomb" is refused, not unpacked

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DC = "{http://purl.org/dc/elements/1.1/}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"


@dataclass(frozen=True)
class OfficeText:
    text: str
    title: str


def _open_zip(data: bytes, name: str, kind: str) -> zipfile.ZipFile:
    if not data.strip():
        raise DocumentError(name, "the file is empty")
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise DocumentError(
                name, f"the {kind} file is password-protected; save a copy without a password"
            )
        raise DocumentError(name, f"this is an old binary Office file, not {kind}; save it as .docx or .odt")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        archive.testzip()
        return archive
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DocumentError(
            name, f"the {kind} file is damaged ({exc}); save it again from its program"
        ) from exc


def _xml(archive: zipfile.ZipFile, member: str, name: str, *, required: bool = True) -> ET.Element | None:
    try:
        info = archive.getinfo(member)
    except KeyError:
        if required:
            raise DocumentError(name, f"the file lacks {member}; it is not a valid document") from None
        return None
    if info.file_size > _MAX_XML_BYTES:
        raise DocumentError(
            name, f"{member} unpacks to more than {_MAX_XML_BYTES // 2**20} MB; split the document"
        )
    try:
        return ET.fromstring(archive.read(member))
    except (ET.ParseError, zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(name, f"{member} cannot be read ({exc}); save the document again") from exc


def _core_title(archive: zipfile.ZipFile, member: str, name: str) -> str:
    root = _xml(archive, member, name, required=False)
    if root is None:
        return ""
    el = root.find(f".//{DC}title")
    return " ".join((el.text or "").split()) if el is not None else ""


# --- Word -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WordStyle:
    heading: bool
    based_on: str | None


def _word_styles(root: ET.Element | None) -> dict[str, _WordStyle]:
    styles: dict[str, _WordStyle] = {}
    if root is None:
        return styles
    for st in root.iter(f"{W}style"):
        sid = st.get(f"{W}styleId") or ""
        name_el = st.find(f"{W}name")
        name = (name_el.get(f"{W}val") or "").lower() if name_el is not None else ""
        outline = st.find(f"{W}pPr/{W}outlineLvl")
        heading = bool(re.match(r"(heading|rubrik|title|titel)\b", name)) or outline is not None
        based = st.find(f"{W}basedOn")
        styles[sid] = _WordStyle(heading, based.get(f"{W}val") if based is not None else None)
    return styles


def _is_heading_style(sid: str | None, styles: dict[str, _WordStyle]) -> bool:
    seen: set[str] = set()
    while sid and sid not in seen:
        seen.add(sid)
        style = styles.get(sid)
        if style is None:
            return bool(re.match(r"(heading|rubrik|title|titel)", sid, re.IGNORECASE))
        if style.heading:
            return True
        sid = style.based_on
    return False


def _word_numbering(root: ET.Element | None) -> dict[tuple[str, str], str]:
    """(numId, ilvl) -> numFmt ('bullet', 'decimal', ...)."""
    if root is None:
        return {}
    abstract: dict[str, dict[str, str]] = {}
    for ab in root.iter(f"{W}abstractNum"):
        levels = {}
        for lvl in ab.iter(f"{W}lvl"):
            fmt = lvl.find(f"{W}numFmt")
            levels[lvl.get(f"{W}ilvl") or "0"] = (
                (fmt.get(f"{W}val") or "bullet") if fmt is not None else "bullet"
            )
        abstract[ab.get(f"{W}abstractNumId") or ""] = levels
    out: dict[tuple[str, str], str] = {}
    for num in root.iter(f"{W}num"):
        ref = num.find(f"{W}abstractNumId")
        ref_id = (ref.get(f"{W}val") or "") if ref is not None else ""
        for ilvl, num_fmt in abstract.get(ref_id, {}).items():
            out[(num.get(f"{W}numId") or "", ilvl)] = num_fmt
    return out


def _word_runs(p: ET.Element) -> str:
    parts: list[str] = []
    for el in p.iter():
        tag = el.tag
        if tag == f"{W}t":
            parts.append(el.text or "")
        elif tag in (f"{W}tab", f"{W}ptab"):
            parts.append(" ")
        elif tag == f"{W}br":
            parts.append(" " if el.get(f"{W}type") == "page" else "\n")
        elif tag == f"{W}cr":
            parts.append("\n")
        elif tag == f"{W}noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def _word_blocks(body: ET.Element) -> Iterator[ET.Element]:
    for child in body:
        if child.tag == f"{W}sdt":
            content = child.find(f"{W}sdtContent")
            if content is not None:
                yield from _word_blocks(content)
        else:
            yield child


def read_docx(data: bytes, name: str) -> OfficeText:
    archive = _open_zip(data, name, "Word")
    with archive:
        root = _xml(archive, "word/document.xml", name)
        assert root is not None
        styles = _word_styles(_xml(archive, "word/styles.xml", name, required=False))
        numbering = _word_numbering(_xml(archive, "word/numbering.xml", name, required=False))
        title = _core_title(archive, "docProps/core.xml", name)
    body = root.find(f"{W}body")
    if body is None:
        raise DocumentError(name, "the Word file has no body; it is not a valid document")
    out = _Collector()
    counters: dict[tuple[str, str], int] = {}
    for block in _word_blocks(body):
        if block.tag == f"{W}p":
            ppr = block.find(f"{W}pPr")
            style_el = ppr.find(f"{W}pStyle") if ppr is not None else None
            sid = style_el.get(f"{W}val") if style_el is not None else None
            text = _word_runs(block)
            heading = _is_heading_style(sid, styles) or (
                ppr is not None and ppr.find(f"{W}outlineLvl") is not None
            )
            num = ppr.find(f"{W}numPr") if ppr is not None else None
            prefix = ""
            if num is not None and not heading and text.strip():
                num_id = num.find(f"{W}numId")
                ilvl = num.find(f"{W}ilvl")
                key = (
                    num_id.get(f"{W}val") or "" if num_id is not None else "",
                    ilvl.get(f"{W}val") or "0" if ilvl is not None else "0",
                )
                fmt = numbering.get(key, "bullet")
                if key[0] == "0":  # numId 0 switches numbering off
                    prefix = ""
                elif fmt in ("bullet", "none"):
                    prefix = "• "
                else:
                    counters[key] = counters.get(key, 0) + 1
                    for deeper in [k for k in counters if k[0] == key[0] and k[1] > key[1]]:
                        counters.pop(deeper)
                    prefix = f"{counters[key]}. "
            out.paragraph(text, prefix=prefix, heading=heading)
        elif block.tag == f"{W}tbl":
            for row in block.iter(f"{W}tr"):
                cells = [
                    " ".join(" ".join(_word_runs(p).split()) for p in tc.iter(f"{W}p"))
                    for tc in row.iter(f"{W}tc")
                ]
                out.paragraph(" | ".join(c for c in cells if c))
    return out.result(title, name)


# --- OpenDocument ------------------------------------------------------------------------------------------


def _odf_text(el: ET.Element, parts: list[str]) -> None:
    """The text of a paragraph element in order: spans, links, spaces (text:s), tabs, line breaks; notes and
    frames are left out."""
    if el.text:
        parts.append(el.text)
    for child in el:
        tag = child.tag
        if tag == f"{TEXT}s":
            parts.append(" " * int(child.get(f"{TEXT}c") or 1))
        elif tag == f"{TEXT}tab":
            parts.append(" ")
        elif tag == f"{TEXT}line-break":
            parts.append("\n")
        elif tag in (f"{TEXT}note", f"{DRAW}frame", f"{OFFICE}annotation", f"{TEXT}bookmark-ref"):
            pass
        else:
            _odf_text(child, parts)
        if child.tail:
            parts.append(child.tail)


def _odf_list_styles(root: ET.Element) -> dict[str, dict[int, bool]]:
    """list style name -> {level: numbered?}."""
    out: dict[str, dict[int, bool]] = {}
    for ls in root.iter(f"{TEXT}list-style"):
        levels = {}
        for lvl in ls:
            level = int(lvl.get(f"{TEXT}level") or 1)
            levels[level] = lvl.tag == f"{TEXT}list-level-style-number"
        out[ls.get(f"{STYLE}name") or ""] = levels
    return out


def read_odt(data: bytes, name: str) -> OfficeText:
    archive = _open_zip(data, name, "OpenDocument")
    with archive:
        manifest = _xml(archive, "META-INF/manifest.xml", name, required=False)
        if manifest is not None and any(el.tag.endswith("encryption-data") for el in manifest.iter()):
            raise DocumentError(
                name, "the OpenDocument file is password-protected; save a copy without a password"
            )
        root = _xml(archive, "content.xml", name)
        styles_root = _xml(archive, "styles.xml", name, required=False)
        title = _core_title(archive, "meta.xml", name)
    assert root is not None
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        raise DocumentError(name, "the file holds no text document (is it a spreadsheet or a presentation?)")
    list_styles = _odf_list_styles(root)
    if styles_root is not None:
        list_styles.update(_odf_list_styles(styles_root))
    out = _Collector()

    def walk(container: ET.Element, list_style: str = "", level: int = 0) -> None:
        counter = 0
        for el in container:
            tag = el.tag
            if tag in (f"{TEXT}p", f"{TEXT}h"):
                parts: list[str] = []
                _odf_text(el, parts)
                out.paragraph("".join(parts), heading=tag == f"{TEXT}h")
            elif tag == f"{TEXT}list":
                walk(el, el.get(f"{TEXT}style-name") or list_style, level + 1)
            elif tag in (f"{TEXT}list-item", f"{TEXT}list-header"):
                counter += 1
                numbered = list_styles.get(list_style, {}).get(level, False)
                out.next_prefix = f"{counter}. " if numbered else "• "
                walk(el, list_style, level)
                out.next_prefix = ""
            elif tag == f"{TABLE}table":
                for row in el.iter(f"{TABLE}table-row"):
                    cells = []
                    for cell in row.iter(f"{TABLE}table-cell"):
                        parts = []
                        for p in cell.iter():
                            if p.tag in (f"{TEXT}p", f"{TEXT}h"):
                                _odf_text(p, parts)
                                parts.append(" ")
                        cells.append(" ".join("".join(parts).split()))
                    out.paragraph(" | ".join(c for c in cells if c))
            elif tag in (f"{TEXT}section", f"{TEXT}index-body", f"{TABLE}table-header-rows"):
                walk(el, list_style, level)
            elif tag.endswith("index") or tag.endswith("table-of-content"):
                body_el = el.find(f"{TEXT}index-body")
                if body_el is not None:
                    walk(body_el, list_style, level)

    walk(body)
    return out.result(title, name)


class _Collector:
    """Paragraphs in document order, list items with their bullet or number."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.next_prefix = ""

    def paragraph(self, raw: str, *, prefix: str = "", heading: bool = False) -> None:
        clean = "\n".join(" ".join(line.split()) for line in raw.split("\n")).strip()
        if clean:
            self.paragraphs.append((prefix or self.next_prefix) + clean)

    def result(self, title: str, name: str) -> OfficeText:
        text = "\n\n".join(self.paragraphs)
        if not text.strip():
            raise DocumentError(name, "the document has no text")
        return OfficeText(text, title)
