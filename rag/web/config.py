"""Settings of the web process (host, port, staff sign-in, queue, retention), from RAG_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rag.errors import ConfigError

PASSWORD_ENV = "RAG_STAFF_PASSWORD"


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 7860
    staff_password: str | None = None  # None: the staff console refuses to open and says how to set it
    staff_user: str = "personal"
    queue_size: int = 8  # questions waiting for the LLM beyond the one being answered; more get "busy"
    queue_wait_s: float = 120.0  # longest a question waits for the LLM before it is told "busy"
    max_body_bytes: int = 64 * 1024  # API request bodies (a 20,000-character question still fits)
    retention_days: int = 90  # conversation log and feedback older than this are deleted at start
    cookie_secure: bool | None = None  # None: Secure when the request came over https
    session_hours: float = 8.0
    max_login_failures: int = 5  # per client within login_window_s, then sign-in is refused for that long
    login_window_s: float = 300.0
    warm_up: bool = True  # load the LLM in a background thread after start

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"RAG_PORT must be between 1 and 65535, got {self.port}")
        if self.queue_size < 0:
            raise ConfigError(f"RAG_QUEUE_SIZE must be 0 or more, got {self.queue_size}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.retention_days <= 0:
            raise ConfigError(f"RAG_RETENTION_DAYS must be greater than 0, got {self.retention_days}")
        if self.staff_password is not None and len(self.staff_password) < 8:
            raise ConfigError(
                f"{PASSWORD_ENV} must be at least 8 characters long (it has {len(self.staff_password)})"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WebSettings:
        env = os.environ if environ is None else environ

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
            staff_password=env.get(PASSWORD_ENV) or None,
            queue_size=num("RAG_QUEUE_SIZE", cls.queue_size),
            retention_days=num("RAG_RETENTION_DAYS", cls.retention_days),
            cookie_secure=None if not secure_raw else secure_raw in ("1", "true", "yes", "on"),
            warm_up=env.get("RAG_WARM_UP", "1").strip().lower() not in ("0", "false", "no", "off"),
        )
