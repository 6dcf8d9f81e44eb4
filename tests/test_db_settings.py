"""The PostgreSQL settings and connection errors, without a server."""

from __future__ import annotations

import socket

import pytest

from rag.config import Settings
from rag.db.postgres import Database, DatabaseUnavailableError
from rag.errors import ConfigError
from rag.pgstore import INDEX_SCHEMA


@pytest.mark.parametrize("url", ["", "mysql://x@y/z", "db.example.se:5432"])
def test_a_bad_database_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="RAG_DATABASE_URL"):
        Database(url)


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = Database(f"postgresql://rag:hemligt@127.0.0.1:{port}/rag", connect_timeout_s=1)
    with pytest.raises(DatabaseUnavailableError) as info:
        db.ensure(INDEX_SCHEMA)
    assert "postgresql://rag:***@127.0.0.1" in str(info.value) and "hemligt" not in str(info.value)
    assert "RAG_DATABASE_URL" in str(info.value)
    with pytest.raises(DatabaseUnavailableError, match="RAG_DATABASE_URL"), db.connection():
        pass
    db.close()


def test_store_settings_need_a_url() -> None:
    with pytest.raises(ConfigError, match="RAG_STORE=postgres needs RAG_DATABASE_URL"):
        Settings.from_env(environ={"RAG_STORE": "postgres"})
    with pytest.raises(ConfigError, match="RAG_STORE"):
        Settings.from_env(environ={"RAG_STORE": "s3"})
    assert "hemligt" not in repr(
        Settings.from_env(environ={"RAG_DATABASE_URL": "postgresql://a:hemligt@h/d"})
    )
