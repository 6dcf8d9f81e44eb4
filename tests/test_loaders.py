from pathlib import Path

import pytest

from rag.errors import DocumentError
from rag.loaders import list_corpus_files, load_document, load_metadata


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_txt_md_html_are_read_with_titles(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "Första raden\n\nText här.".encode())
    _write(tmp_path / "b.md", b"# Rubrik B\n\n**Fet** text.")
    _write(
        tmp_path / "c.html",
        b"<html><head><title>Sida C</title><script>x=1</script></head>"
        b"<body><p>Stycke ett</p><p>Stycke &amp; tv\xc3\xa5</p></body></html>",
    )
    docs = {p.name: load_document(p, tmp_path) for p in list_corpus_files(tmp_path)}
    assert docs["a.txt"].title == "Första raden"
    assert docs["b.md"].title == "Rubrik B" and "**" not in docs["b.md"].text
    assert docs["c.html"].title == "Sida C"
    assert "x=1" not in docs["c.html"].text and "Stycke & två" in docs["c.html"].text
    assert "\n\n" in docs["c.html"].text


def test_metadata_title_wins(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", b"HELSINGBORG\n\nText.")
    _write(tmp_path / "metadata.json", '{"a.txt": {"title": "Välkomna", "date": "2018"}}'.encode())
    assert [p.name for p in list_corpus_files(tmp_path)] == ["a.txt"]
    doc = load_document(tmp_path / "a.txt", tmp_path, load_metadata(tmp_path))
    assert (doc.title, doc.date) == ("Välkomna", "2018")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("rapport.xls", b"\xd0\xcf\x11\xe0", "unsupported format .xls"),
        ("rapport.pdf", b"%PDF-1.4", "damaged or not a PDF"),
        ("brev.docx", b"PK\x03\x04 truncated", "damaged"),
        ("tom.txt", b"  \n ", "empty"),
        ("bild.txt", b"\x89PNG\x00\x00\x01", "binary"),
        ("latin1.txt", "Målbild för år 2027".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_documents_fail_with_a_reason_naming_the_file(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(DocumentError) as err:
        load_document(path, tmp_path)
    assert reason in err.value.reason
    assert name in str(err.value)
