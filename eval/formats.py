"""Corpus variants in the formats a city hands over, made from corpus/ with the real tools, and the figures on them.

From each plain-text document a Flat OpenDocument file (.fodt) is written: its paragraphs reflowed, short lines
without end punctuation as headings, bullet lines as a list, Swedish hyphenation on, and on every page a running
header ("Helsingborgs stad · <title>") and a footer ("Sida N av M"). LibreOffice (Debian
`libreoffice-writer-nogui`, headless) turns it into .pdf, .docx and .odt; Poppler's `pdftoppm` and `img2pdf` turn
the PDF into an image-only scan; and a saved web page is written around the same text with a cookie banner,
navigation, breadcrumbs, a related-pages box and a footer. Every variant is a corpus folder with its own
metadata.json (the same titles and dates), so `python -m eval run --corpus DIR` and the tests ingest it as is.

`source_text` is what went into a document (the reference for character error rates).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

FORMATS = ("txt", "pdf", "scan", "docx", "odt", "html")
_MAX_HEADING = 80
_BULLET = re.compile(r"^\s*[•▪◦]\s*")
_END_PUNCT = (".", "!", "?", ":", "…", ",", ";")


class ToolMissing(RuntimeError):
    """A program the variants need is not installed; the message says which Debian package brings it."""


@dataclass(frozen=True)
class Block:
    kind: str  # "heading" | "paragraph" | "item"
    text: str


def blocks_from_text(text: str) -> list[Block]:
    """The structure of a corpus .txt: paragraphs (blank-line separated, lines reflowed), headings (one short
    line without end punctuation, or a numbered question), and bullet items ("• ...")."""
    blocks: list[Block] = []
    text = text.replace("**", "")  # Markdown bold in the corpus: a real document shows bold, not asterisks
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
        if not lines:
            continue
        if any(_BULLET.match(ln) for ln in lines):
            items: list[str] = []
            for ln in lines:
                if _BULLET.match(ln) or not items:
                    items.append(_BULLET.sub("", ln))
                else:
                    items[-1] += " " + ln
            blocks.extend(Block("item", it) for it in items if it)
            continue
        joined = " ".join(" ".join(lines).split())
        numbered_question = bool(re.match(r"^\d{1,2}\.\s", joined)) and joined.endswith("?")
        heading = len(lines) == 1 and len(joined) <= _MAX_HEADING and not joined.endswith(_END_PUNCT)
        if (heading and any(c.isalpha() for c in joined)) or (numbered_question and len(joined) <= 120):
            blocks.append(Block("heading", joined))
        else:
            blocks.append(Block("paragraph", joined))
    return blocks


def source_text(blocks: Sequence[Block]) -> str:
    """The text the blocks hold, one block a paragraph: what a perfect reader of any variant returns."""
    return "\n\n".join(b.text for b in blocks)


# --- writers ---------------------------------------------------------------------------------------------

_FODT_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:meta><dc:title>{title}</dc:title><dc:language>sv-SE</dc:language></office:meta>
<office:styles>
<style:default-style style:family="paragraph"><style:text-properties fo:language="sv" fo:country="SE"
 fo:hyphenate="true" fo:hyphenation-remain-char-count="3" fo:hyphenation-push-char-count="3" fo:font-size="11pt"/>
</style:default-style>
<style:style style:name="Standard" style:family="paragraph" style:class="text"/>
<style:style style:name="Text_20_body" style:display-name="Text body" style:family="paragraph"
 style:parent-style-name="Standard" style:class="text"><style:paragraph-properties fo:margin-top="0cm"
 fo:margin-bottom="0.25cm" fo:text-align="justify"/></style:style>
<style:style style:name="List_20_Bullet" style:display-name="List Bullet" style:family="paragraph"
 style:parent-style-name="Text_20_body" style:class="list"><style:paragraph-properties fo:text-align="start"
 fo:margin-bottom="0.1cm"/></style:style>
<style:style style:name="Heading_20_2" style:display-name="Heading 2" style:family="paragraph"
 style:parent-style-name="Standard" style:default-outline-level="2" style:class="text">
 <style:paragraph-properties fo:margin-top="0.42cm" fo:margin-bottom="0.21cm" fo:keep-with-next="always"/>
 <style:text-properties fo:font-size="14pt" fo:font-weight="bold" fo:hyphenate="false"/></style:style>
<style:style style:name="Header" style:display-name="Header" style:family="paragraph"
 style:parent-style-name="Standard" style:class="extra"><style:text-properties fo:font-size="9pt"/></style:style>
<style:style style:name="Footer" style:display-name="Footer" style:family="paragraph"
 style:parent-style-name="Standard" style:class="extra"><style:paragraph-properties fo:text-align="center"/>
 <style:text-properties fo:font-size="9pt"/></style:style>
</office:styles>
<office:automatic-styles>
<style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"
 fo:margin-top="1.2cm" fo:margin-bottom="1.2cm" fo:margin-left="2.5cm" fo:margin-right="2.5cm"/>
 <style:header-style><style:header-footer-properties fo:min-height="0cm" fo:margin-bottom="0.5cm"/>
 </style:header-style><style:footer-style><style:header-footer-properties fo:min-height="0cm"
 fo:margin-top="0.5cm"/></style:footer-style></style:page-layout>
<text:list-style style:name="L1"><text:list-level-style-bullet text:level="1" text:bullet-char="•">
 <style:list-level-properties text:list-level-position-and-space-mode="label-alignment">
 <style:list-level-label-alignment text:label-followed-by="listtab" text:list-tab-stop-position="1.27cm"
 fo:text-indent="-0.635cm" fo:margin-left="1.27cm"/></style:list-level-properties>
 </text:list-level-style-bullet></text:list-style>
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1">
<style:header><text:p text:style-name="Header">Helsingborgs stad · {title}</text:p></style:header>
<style:footer><text:p text:style-name="Footer">Sida <text:page-number text:select-page="current">1</text:page-number>
 av <text:page-count>1</text:page-count></text:p></style:footer>
</style:master-page></office:master-styles>
<office:body><office:text>
"""


def fodt(blocks: Sequence[Block], title: str) -> str:
    """A Flat OpenDocument text of the blocks with a running header and a page-numbered footer."""
    body: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            body.append('<text:list text:style-name="L1">' + "".join(items) + "</text:list>")
            items.clear()

    for b in blocks:
        t = escape(b.text)
        if b.kind == "item":
            items.append(
                f'<text:list-item><text:p text:style-name="List_20_Bullet">{t}</text:p></text:list-item>'
            )
            continue
        flush()
        if b.kind == "heading":
            body.append(f'<text:h text:style-name="Heading_20_2" text:outline-level="2">{t}</text:h>')
        else:
            body.append(f'<text:p text:style-name="Text_20_body">{t}</text:p>')
    flush()
    return (
        _FODT_HEAD.format(title=escape(title))
        + "\n".join(body)
        + "\n</office:text></office:body></office:document>\n"
    )


_MENU = [
    "Bo, bygga och miljö",
    "Förskola och utbildning",
    "Omsorg och stöd",
    "Kultur och fritid",
    "Trafik och stadsplanering",
    "Uppleva och göra",
    "Kommun och politik",
]
COOKIE_TEXT = "Vi använder kakor (cookies) för att webbplatsen ska fungera och för att förbättra den."
FOOTER_TEXT = (
    "Helsingborgs stad, 251 89 Helsingborg. Kontaktcenter: 042-10 50 00, kontaktcenter@helsingborg.se."
)
BOILERPLATE = (COOKIE_TEXT, "Godkänn alla kakor", "Förskola och utbildning", "Relaterade sidor", FOOTER_TEXT)


def saved_web_page(blocks: Sequence[Block], title: str) -> str:
    """The page as a browser saves it: the content inside <main><article>, around it a cookie banner, the site
    menu, breadcrumbs, a related-pages box and a footer."""
    parts: list[str] = []
    in_list = False
    for b in blocks:
        if b.kind == "item" and not in_list:
            parts.append("<ul>")
            in_list = True
        elif b.kind != "item" and in_list:
            parts.append("</ul>")
            in_list = False
        tag = {"heading": "h2", "item": "li"}.get(b.kind, "p")
        parts.append(f"<{tag}>{escape(b.text)}</{tag}>")
    if in_list:
        parts.append("</ul>")
    menu = "".join(f'<li><a href="/{i}/">{escape(m)}</a></li>' for i, m in enumerate(_MENU))
    t = escape(title)
    return (
        '<!doctype html>\n<html lang="sv"><head><meta charset="utf-8">'
        f"<title>{t} - Helsingborgs stad</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>.cookie{position:fixed;bottom:0}</style><script>window.dataLayer=[];</script></head><body>"
        f'<div id="cookie-consent" class="cookie"><p>{escape(COOKIE_TEXT)}</p>'
        "<button>Godkänn alla kakor</button> <button>Endast nödvändiga</button></div>"
        '<header class="site-header"><a class="logo" href="/">Helsingborgs stad</a>'
        f'<nav aria-label="Huvudmeny"><ul>{menu}</ul></nav>'
        '<form role="search"><label>Sök på helsingborg.se <input name="q"></label><button>Sök</button></form>'
        "</header>"
        f'<nav class="breadcrumbs" aria-label="Du är här">Startsida › Kommun och politik › {t}</nav>'
        f'<main id="main"><article><h1>{t}</h1>{"".join(parts)}</article>'
        '<aside class="related"><h2>Relaterade sidor</h2><ul><li><a href="/kontakt/">Kontakta oss</a></li>'
        '<li><a href="/press/">Press och media</a></li></ul></aside></main>'
        f'<footer class="site-footer"><p>{escape(FOOTER_TEXT)}</p>'
        "<p>Om webbplatsen · Tillgänglighetsredogörelse · Så behandlar vi dina personuppgifter</p></footer>"
        "</body></html>\n"
    )


# --- the real tools ---------------------------------------------------------------------------------------

TOOLS = {
    "soffice": "libreoffice-writer-nogui",
    "pdftoppm": "poppler-utils",
    "img2pdf": "img2pdf",
}


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(
            f"{tool} is not installed: run scripts/install_test_deps.sh (Debian package {TOOLS.get(tool, tool)})"
        )
    return path


def libreoffice_convert(files: Sequence[Path], target: str, out_dir: Path, *, timeout_s: float = 600) -> None:
    """Convert files with headless LibreOffice ('pdf', 'docx', 'odt') into out_dir, in one run, with a
    private user profile (so it never meets a running LibreOffice or another test run)."""
    if not files:
        return
    soffice = require("soffice")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        cmd = [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(out_dir),
            *map(str, files),
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    missing = [f for f in files if not (out_dir / f"{f.stem}.{target}").is_file()]
    if run.returncode != 0 or missing:
        raise RuntimeError(
            f"LibreOffice could not convert {[m.name for m in missing]} to {target}: {run.stderr[-500:]}"
        )


def scan_pdf(pdf: Path, out: Path, *, dpi: int = 300) -> None:
    """An image-only copy of a PDF, as a scanner makes it: each page rendered to a greyscale image by
    pdftoppm, the images put back into a PDF by img2pdf (no text layer)."""
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        subprocess.run(
            [require("pdftoppm"), "-r", str(dpi), "-gray", "-png", str(pdf), f"{tmp}/p"],
            check=True,
            timeout=600,
        )
        pages = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        subprocess.run([require("img2pdf"), *map(str, pages), "-o", str(out)], check=True, timeout=600)


@dataclass(frozen=True)
class Variants:
    """Corpus folders per format, and the source text of every document (the reference)."""

    dirs: dict[str, Path]
    sources: dict[str, str]  # doc_id -> source text
    titles: dict[str, str]  # doc_id -> title


def build_variants(
    corpus: Path,
    out: Path,
    formats: Iterable[str] = FORMATS,
    *,
    documents: Iterable[str] | None = None,
) -> Variants:
    """Write the variants of the .txt documents of `corpus` (or only `documents`, by file name) under
    out/<format>/, each a corpus folder with metadata.json. Reuses what an earlier call already made."""
    formats = list(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {FORMATS}")
    meta = (
        json.loads((corpus / "metadata.json").read_text(encoding="utf-8"))
        if (corpus / "metadata.json").exists()
        else {}
    )
    names = sorted(documents) if documents is not None else sorted(p.name for p in corpus.glob("*.txt"))
    sources: dict[str, str] = {}
    titles: dict[str, str] = {}
    src_dir = out / "fodt"
    src_dir.mkdir(parents=True, exist_ok=True)
    fodts: list[Path] = []
    for name in names:
        text = (corpus / name).read_text(encoding="utf-8")
        doc_id = name.rsplit(".", 1)[0]
        title = str(meta.get(name, {}).get("title") or doc_id)
        blocks = blocks_from_text(text)
        sources[doc_id], titles[doc_id] = source_text(blocks), title
        path = src_dir / f"{doc_id}.fodt"
        content = fodt(blocks, title)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        fodts.append(path)
        if "html" in formats:
            (out / "html").mkdir(parents=True, exist_ok=True)
            (out / "html" / f"{doc_id}.html").write_text(saved_web_page(blocks, title), encoding="utf-8")
        if "txt" in formats:
            (out / "txt").mkdir(parents=True, exist_ok=True)
            shutil.copy(corpus / name, out / "txt" / name)
    dirs: dict[str, Path] = {}
    for fmt in formats:
        target = out / fmt
        target.mkdir(parents=True, exist_ok=True)
        dirs[fmt] = target
        suffix = {"scan": "pdf"}.get(fmt, fmt)
        if fmt in ("pdf", "docx", "odt", "scan"):
            lo_target = "pdf" if fmt == "scan" else fmt
            lo_dir = out / lo_target
            todo = [f for f in fodts if _stale(lo_dir / f"{f.stem}.{lo_target}", f)]
            libreoffice_convert(todo, lo_target, lo_dir)
            dirs[lo_target] = lo_dir
        if fmt == "scan":
            for f in fodts:
                dest = target / f"{f.stem}.pdf"
                if _stale(dest, out / "pdf" / f"{f.stem}.pdf"):
                    scan_pdf(out / "pdf" / f"{f.stem}.pdf", dest)
        variant_meta = {
            f"{doc_id}.{suffix}" if fmt != "txt" else f"{doc_id}.txt": meta[name]
            for name in names
            if name in meta
            for doc_id in [name.rsplit(".", 1)[0]]
        }
        (target / "metadata.json").write_text(
            json.dumps(variant_meta, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    if "scan" in formats and "pdf" not in formats:
        dirs.pop("pdf", None)
    return Variants(dirs={k: v for k, v in dirs.items() if k in formats}, sources=sources, titles=titles)


def _stale(target: Path, source: Path) -> bool:
    return not target.is_file() or target.stat().st_mtime < source.stat().st_mtime


# --- character error rate --------------------------------------------------------------------------------


def _levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_errors(reference: str, hypothesis: str) -> int:
    """Character edits from reference to hypothesis (whitespace runs count as one space). Aligned word by word
    first (difflib), then exact Levenshtein inside each differing stretch: exact where stretches are short,
    an upper bound otherwise, and fast on whole documents."""
    ref, hyp = " ".join(reference.split()).split(" "), " ".join(hypothesis.split()).split(" ")
    errors = 0
    matcher = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        a, b = " ".join(ref[i1:i2]), " ".join(hyp[j1:j2])
        errors += _levenshtein(a, b) if len(a) * len(b) <= 4_000_000 else max(len(a), len(b))
        errors += 1 if (op == "insert" or op == "delete") and (i1 > 0 or j1 > 0) else 0  # the joining space
    return errors


def character_error_rate(reference: str, hypothesis: str) -> float:
    n = len(" ".join(reference.split()))
    return char_errors(reference, hypothesis) / n if n else 0.0


def environment_note() -> str:
    """The tool versions the figures were made with (for reports)."""
    notes = []
    for tool, args in (("soffice", ["--version"]), ("tesseract", ["--version"]), ("pdftoppm", ["-v"])):
        path = shutil.which(tool)
        if not path:
            continue
        out = subprocess.run([path, *args], capture_output=True, text=True, check=False, env={**os.environ})
        first = (out.stdout or out.stderr).strip().splitlines()
        notes.append(first[0] if first else tool)
    return "; ".join(notes)
