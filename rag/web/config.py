"""Settings of the web process (host, port, staff sessions, embedding, queue, retention), from RAG_* variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from rag.errors import ConfigError

REMOVED_PASSWORD_ENV = "RAG_STAFF_PASSWORD"
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def parse_origins(raw: str, name: str = "RAG_EMBED_ORIGINS") -> tuple[str, ...]:
    """'https://a.se, https://b.se:8443' -> ('https://a.se', 'https://b.se:8443'); anything else is refused."""
    origins = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        origin = item.rstrip("/")
        if not _ORIGIN.match(origin):
            raise ConfigError(
                f"{name}: {item!r} is not an origin; give scheme and host (and port), without a path, e.g. "
                "https://helsingborg.se or http://127.0.0.1:8080, separated by commas"
            )
        origins.append(origin.lower())
    return tuple(dict.fromkeys(origins))


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 7860
    queue_size: int = 8  # questions waiting for the LLM beyond the one being answered; more get "busy"
    queue_wait_s: float = 120.0  # longest a question waits for the LLM before it is told "busy"
    # the busy limit shared in PostgreSQL: a killed replica's generation slots come back after this many seconds
    slot_lease_s: int = 30
    max_body_bytes: int = 64 * 1024  # API request bodies (a 20,000-character question still fits)
    retention_days: int = (
        90  # conversation log and feedback older than this are deleted (at start, then hourly)
    )
    audit_retention_days: int = 365  # the staff audit trail (no resident personal data) is kept this long
    purge_interval_s: float = 3600.0  # how often the app deletes what is past its retention
    embed_origins: tuple[str, ...] = ()  # other sites that may frame the resident widget (never the console)
    cookie_secure: bool | None = None  # None: Secure when the request came over https; True also sends HSTS
    session_hours: float = 8.0
    max_login_failures: int = 5  # per client within login_window_s, then sign-in is refused for that long
    login_window_s: float = 300.0
    warm_up: bool = True  # load the LLM in a background thread after start

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"RAG_PORT must be between 1 and 65535, got {self.port}")
        if self.queue_size < 0:
            raise ConfigError(f"RAG_QUEUE_SIZE must be 0 or more, got {self.queue_size}")
        if self.slot_lease_s < 1:
            raise ConfigError(f"RAG_SLOT_LEASE_S must be at least 1 (seconds), got {self.slot_lease_s}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.retention_days <= 0:
            raise ConfigError(f"RAG_RETENTION_DAYS must be greater than 0, got {self.retention_days}")
        if self.audit_retention_days <= 0:
            raise ConfigError(
                f"RAG_AUDIT_RETENTION_DAYS must be greater than 0, got {self.audit_retention_days}"
            )
        if self.purge_interval_s <= 0:
            raise ConfigError(
                f"RAG_PURGE_INTERVAL_MINUTES must be greater than 0, got {self.purge_interval_s}"
            )
        for origin in self.embed_origins:
            parse_origins(origin)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ
        if env.get(REMOVED_PASSWORD_ENV):
            raise ConfigError(
                f"{REMOVED_PASSWORD_ENV} is no longer used: staff sign in with their own accounts. Unset it and "
                "create an account with: .venv/bin/rag staff add NAME --role admin"
            )

        def num(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError as exc:
                raise ConfigError(f"{name}={raw!r} is not a whole number") from exc

        secure_raw = env.get("RAG_COOKIE_SECURE", "").strip().lower()
        return cls(
            host=env.get("RAG_HOST", "").strip() or cls.host,
            port=num("RAG_PORT", cls.port),
            queue_size=num("RAG_QUEUE_SIZE", cls.queue_size),
            slot_lease_s=num("RAG_SLOT_LEASE_S", cls.slot_lease_s),
            retention_days=num("RAG_RETENTION_DAYS", cls.retention_days),
            audit_retention_days=num("RAG_AUDIT_RETENTION_DAYS", cls.audit_retention_days),
            purge_interval_s=60.0 * num("RAG_PURGE_INTERVAL_MINUTES", int(cls.purge_interval_s // 60)),
            embed_origins=parse_origins(env.get("RAG_EMBED_ORIGINS", "")),
            cookie_secure=None if not secure_raw else secure_raw in ("1", "true", "yes", "on"),
            warm_up=env.get("RAG_WARM_UP", "1").strip().lower() not in ("0", "false", "no", "off"),
        )
