"""Document tier: real files made from corpus/ with the real tools in the session's set-up (eval/formats.py):
LibreOffice for .pdf/.docx/.odt, pdftoppm + img2pdf for image-only scans, qpdf and msoffcrypto-tool for
password-protected files. Tesseract reads the scans. scripts/install_test_deps.sh installs them all; a missing
tool fails the tests with the command that installs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.formats import ToolMissing, Variants, build_variants
from tests.conftest import CORPUS

SCANNED = ("tre-transformationer.txt", "valkomna-till-helsingborg.txt")  # 4 pages of OCR, about 30 s


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.documents)


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Variants:
    """The whole corpus as text PDF, Word, OpenDocument and saved web pages."""
    try:
        return build_variants(CORPUS, tmp_path_factory.mktemp("variants"), ("pdf", "docx", "odt", "html"))
    except ToolMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Variants:
    """Two documents as image-only scans (300 dpi, greyscale)."""
    try:
        return build_variants(CORPUS, tmp_path_factory.mktemp("scans"), ("scan",), documents=SCANNED)
    except ToolMissing as exc:
        pytest.fail(str(exc))
