"""A deliberately slow ingest for the fault tests: the real Ingestor and write_index, a fake embedder that sleeps per
batch and fsyncs that sleep, so a test can SIGKILL it while it embeds and while it writes the new index.

    python tests/helpers_slow_ingest.py CORPUS INDEX_ROOT [EMBED_DELAY_S] [FSYNC_DELAY_S]

Prints "started" once everything is imported, then "embedding", "writing" and "done" as it goes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import store  # noqa: E402
from rag.embedders.base import ProgressFn  # noqa: E402
from rag.embedders.fake import HashEmbedder  # noqa: E402
from rag.ingest import Ingestor  # noqa: E402

BATCH = 4


class SlowHashEmbedder(HashEmbedder):
    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        print("embedding", flush=True)
        parts = []
        for i in range(0, len(texts), BATCH):
            time.sleep(self.delay_s)
            parts.append(super().embed_passages(texts[i : i + BATCH]))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)


def main(argv: list[str]) -> int:
    corpus, root = Path(argv[0]), Path(argv[1])
    embed_delay = float(argv[2]) if len(argv) > 2 else 0.02
    fsync_delay = float(argv[3]) if len(argv) > 3 else 0.05
    real_fsync = store._fsync

    def slow_fsync(path: Path) -> None:
        print("writing", flush=True)
        time.sleep(fsync_delay)
        real_fsync(path)

    store._fsync = slow_fsync  # type: ignore[assignment]
    print("started", flush=True)
    Ingestor(SlowHashEmbedder(embed_delay), index_root=root).run(corpus, progress=None)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
