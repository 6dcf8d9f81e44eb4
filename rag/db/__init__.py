"""Databases behind the embedded defaults: PostgreSQL (RAG_DATABASE_URL) with versioned schema migrations."""

from rag.db.postgres import Database, DatabaseUnavailableError, Migration, Schema, database

__all__ = ["Database", "DatabaseUnavailableError", "Migration", "Schema", "database"]
