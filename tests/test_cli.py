import json
import subprocess
import sys
from pathlib import Path

from rag.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _rag(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        "RAG_EMBEDDER": "fake",
        "RAG_GENERATOR": "scripted",
        "RAG_INDEX_DIR": str(settings.index_dir),
        "PATH": "/usr/bin:/bin",
        "HOME": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_ingest_then_ask_json_and_refusal(fake_settings: Settings) -> None:
    first = _rag(["ingest", str(fake_settings.corpus_dir)], fake_settings)
    assert first.returncode == 0, first.stderr
    assert "5 added" in first.stdout
    again = _rag(["ingest", str(fake_settings.corpus_dir)], fake_settings)
    assert "embedded 0 of" in again.stdout and "nothing written" in again.stdout
    out = _rag(["ask", "--json", "Vilket telefonnummer har kontaktcenter?"], fake_settings)
    data = json.loads(out.stdout)
    assert data["passages"] and data["passages"][0]["source"].endswith(".txt")
    refused = json.loads(_rag(["ask", "--json", "Hur ansöker jag om bygglov?"], fake_settings).stdout)
    assert refused["refused"] and not refused["llm_called"] and "042-10 50 00" in refused["answer"]


def test_missing_index_is_one_clear_line_and_exit_code_2(fake_settings: Settings) -> None:
    out = _rag(["ask", "Hej?"], fake_settings)
    assert out.returncode == 2
    assert out.stderr.startswith("Fel:") and "rag ingest" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_index_flag_names_the_index_folder(fake_settings: Settings, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-index"
    out = _rag(["--index", str(elsewhere), "ingest", str(fake_settings.corpus_dir)], fake_settings)
    assert out.returncode == 0, out.stderr
    assert (elsewhere / "current").exists() and not fake_settings.index_dir.exists()
    assert Settings.from_env(environ={}, index_dir=str(elsewhere), threads="2").threads == 2
