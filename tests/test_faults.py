"""Faults: SIGKILL during ingest, corrupt index files, a truncated model, a full disk, an app restart.

Every test checks the same promise: the failure gives a clear error naming the fix, and what served before still
serves. Fast: the fake embedder, the scripted generator, a slowed-down ingest in a subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag import store
from rag.config import Settings
from rag.embedders.fake import HashEmbedder
from rag.errors import IndexCorruptError, ModelMissingError, RagError
from rag.generation.fake import ScriptedGenerator
from rag.ingest import Ingestor
from rag.models import DEFAULT_LLM_NAME, verify_model
from rag.service import AssistantService
from rag.store import load_index
from rag.web import WebSettings, create_app
from rag.web.fakes import fake_service
from rag.web.feedback import WebStore

ROOT = Path(__file__).resolve().parent.parent
HELPER = Path(__file__).resolve().parent / "helpers_slow_ingest.py"
PHONE_Q = "Vilket telefonnummer har kontaktcenter?"


def answers(settings: Settings) -> AssistantService:
    """A fresh service over whatever the index folder holds now; it must load and answer with a citation."""
    service = AssistantService(settings, embedder=HashEmbedder(), generator=ScriptedGenerator())
    answer = service.ask(PHONE_Q)
    assert not answer.refused and answer.citations, answer.text
    return service


def new_document(corpus: Path, n: int) -> str:
    """A document big enough that embedding it takes a while in the slow ingest (about 40 chunks)."""
    name = f"fel-test-{n}.txt"
    para = (
        f"Provdokument nummer {n} om felsäkerhet{n} i stadens index. Det här stycket handlar om "
        f"reservrutiner, säkerhetskopior och återställning av tjänster efter avbrott nummer {n}. "
    )
    (corpus / name).write_text("\n\n".join(para * 2 for _ in range(40)), encoding="utf-8")
    return name


def kill_at_random(cmd: list[str], delay: float, env: dict[str, str] | None = None) -> list[str]:
    """Start cmd, SIGKILL it after `delay` seconds from its 'started' line (or from start); return its stdout."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env
    )
    try:
        assert proc.stdout is not None
        if "helpers_slow_ingest" in cmd[1]:
            assert proc.stdout.readline().strip() == "started"
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return proc.stdout.read().split()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigkill_at_random_points_keeps_the_previous_index_and_the_next_ingest_completes(
    fake_index: Settings,
) -> None:
    root, corpus = fake_index.index_dir, fake_index.corpus_dir
    rng = random.Random(20261123)
    expected = set(load_index(root).manifest.documents)
    added: list[str] = []
    phases: list[str] = []
    for n in range(5):
        before = set(load_index(root).manifest.documents)
        added.append(new_document(corpus, n))
        out = kill_at_random(
            [sys.executable, str(HELPER), str(corpus), str(root), "0.03", "0.06"], rng.uniform(0.05, 0.7)
        )
        phases.append(out[-1] if out else "started")
        docs = set(load_index(root).manifest.documents)  # must load: never a half-written index
        assert docs == before or docs == before | set(added), (docs, before, added)
        answers(fake_index)
    # the real command line, killed at random points too (imports, embedding or writing)
    env = {**os.environ, "RAG_EMBEDDER": "fake", "RAG_INDEX_DIR": str(root)}
    for _ in range(2):
        kill_at_random([sys.executable, "-m", "rag", "ingest", str(corpus)], rng.uniform(0.3, 2.0), env)
        load_index(root)
        answers(fake_index)
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ingest", str(corpus)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    final = load_index(root)
    assert set(final.manifest.documents) == expected | set(added)
    assert final.manifest.n_chunks == len(final.chunks) == len(final.vectors)
    leftovers = [p.name for p in root.iterdir() if p.name.startswith((".building-", f".{store.CURRENT}-"))]
    assert leftovers == [], leftovers
    assert len([p for p in root.iterdir() if p.name.startswith("index-")]) == 1
    print("kill phases:", phases)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("dense.faiss", b"not a faiss index"),
        ("dense.faiss", None),  # truncated to half
        ("chunks.jsonl", b'{"chunk_id": 1}\n42\n'),
        ("chunks.jsonl", b"\xff\xfe\x00garbage"),
        ("vectors.npy", None),
        ("lexical.json", b'{"docs": '),
        ("manifest.json", b"[1, 2"),
        ("manifest.json", b'{"format_version": 99, "embedder_id": "x", "dim": 1, "chunker": {}}'),
    ],
)
def test_corrupt_index_file_gives_a_clear_error_and_the_running_service_keeps_serving(
    fake_index: Settings, name: str, damage: bytes | None
) -> None:
    running = answers(fake_index)  # loaded before the damage
    path = store.current_dir(fake_index.index_dir)
    assert path is not None
    target = path / name
    if damage is None:
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    else:
        target.write_bytes(damage)
    with pytest.raises(IndexCorruptError) as err:
        load_index(fake_index.index_dir)
    assert "rag ingest" in str(err.value) and str(path) in str(err.value)
    # the service that loaded the index before still answers from memory
    assert not running.ask(PHONE_Q).refused
    # a web app started on the damaged index says what to do instead of failing with a 500
    fresh = AssistantService(fake_index, embedder=HashEmbedder(), generator=ScriptedGenerator())
    client = TestClient(create_app(fresh, web=WebSettings(warm_up=False)))
    resp = client.post("/api/ask", json={"question": PHONE_Q})
    assert resp.status_code == 503 and "rag ingest" in resp.json()["error"]["detail"]
    assert client.get("/api/health").status_code == 503
    # the next ingest notices the damage and rebuilds a whole index
    report = Ingestor(HashEmbedder(), index_root=fake_index.index_dir).run(
        fake_index.corpus_dir, progress=None
    )
    assert report.full_rebuild_reason and "damaged" in report.full_rebuild_reason
    answers(fake_index)


def test_truncated_default_model_fails_its_checksum_and_names_the_fix(tmp_path: Path) -> None:
    model = tmp_path / DEFAULT_LLM_NAME
    model.write_bytes(b"GGUF" + os.urandom(4096))
    # as if it had been verified once: the stamp records size and mtime
    stamp = model.with_name(model.name + ".verified")
    st = model.stat()
    from rag.models import DEFAULT_LLM_SHA256

    stamp.write_text(
        json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": DEFAULT_LLM_SHA256})
    )
    verify_model(model)  # trusted by its stamp, not re-hashed
    with open(model, "r+b") as fh:
        fh.truncate(1024)
    with pytest.raises(ModelMissingError) as err:
        verify_model(model)
    assert "rag models --force" in str(err.value) and "truncated" in str(err.value)
    assert json.loads(stamp.read_text())["size"] == st.st_size  # a failed check never re-stamps
    model.unlink()
    with pytest.raises(ModelMissingError, match="rag models"):
        verify_model(model)


def test_llama_cpp_on_a_truncated_gguf_names_the_fix(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from rag.generation.llama import LlamaCppGenerator

    real = ROOT / "models" / DEFAULT_LLM_NAME
    broken = tmp_path / "truncated.gguf"
    if real.is_file():
        with open(real, "rb") as fh:
            broken.write_bytes(fh.read(256 * 1024))
    else:  # a bare header: still a GGUF file llama.cpp cannot load
        broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + os.urandom(1024))
    gen = LlamaCppGenerator(broken, n_ctx=256, threads=1)
    with pytest.raises(ModelMissingError) as err:
        list(gen.stream([{"role": "user", "content": "hej"}], max_tokens=4))
    assert "rag models" in str(err.value) and str(broken) in str(err.value)
    not_gguf = tmp_path / "not.gguf"
    not_gguf.write_bytes(b"<html>404</html>")
    with pytest.raises(ModelMissingError, match="not a GGUF file"):
        LlamaCppGenerator(not_gguf, n_ctx=256, threads=1).warm_up()


def test_full_disk_while_writing_the_index_is_a_clear_error_and_the_old_index_serves(
    fake_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fake_index.index_dir
    old = store.current_dir(root)
    running = answers(fake_index)
    new_document(fake_index.corpus_dir, 99)
    real_save = np.save

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.np, "save", full_disk)
    with pytest.raises(RagError) as err:
        Ingestor(HashEmbedder(), index_root=root).run(fake_index.corpus_dir, progress=None)
    message = str(err.value)
    assert "No space left on device" in message and "rag ingest" in message and "previous index" in message
    assert store.current_dir(root) == old
    assert not [p for p in root.iterdir() if p.name.startswith(".building-")]
    answers(fake_index)
    assert not running.ask(PHONE_Q).refused
    monkeypatch.setattr(store.np, "save", real_save)
    report = Ingestor(HashEmbedder(), index_root=root).run(fake_index.corpus_dir, progress=None)
    assert report.added == ["fel-test-99.txt"]


def test_full_disk_through_the_command_line_is_one_line_not_a_traceback(
    fake_index: Settings, tmp_path: Path
) -> None:
    new_document(fake_index.corpus_dir, 7)
    script = tmp_path / "full_disk.py"
    script.write_text(
        "import errno, os, sys\n"
        "import numpy as np\n"
        "from rag import store\n"
        "def full(*a, **k):\n"
        "    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
        "store.np.save = full\n"
        "from rag.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "RAG_EMBEDDER": "fake", "RAG_INDEX_DIR": str(fake_index.index_dir)}
    run = subprocess.run(
        [sys.executable, str(script), "ingest", str(fake_index.corpus_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "No space left on device" in run.stderr
    answers(fake_index)


def test_app_restart_keeps_feedback_and_the_conversation_log(tmp_path: Path) -> None:
    service = fake_service(tmp_path)
    web = WebSettings(warm_up=False)
    first = TestClient(create_app(service, web=web))
    ids = []
    for i in range(3):
        ans = first.post("/api/ask", json={"question": PHONE_Q}).json()
        assert (
            first.post(
                "/api/feedback", json={"answer_id": ans["answer_id"], "rating": 1, "comment": f"bra {i}"}
            ).status_code
            == 201
        )
        ids.append(ans["answer_id"])
    del first
    # a restart: a new service and a new app over the same data folder (the default store path)
    again = AssistantService(service.settings, embedder=HashEmbedder(), generator=ScriptedGenerator())
    second = TestClient(create_app(again, web=web))
    store_again = WebStore(service.settings.data_dir / "web.sqlite3")
    rows = store_again.feedback()
    assert sorted(r.answer_id for r in rows) == sorted(ids)
    assert {r.comment for r in rows} == {"bra 0", "bra 1", "bra 2"}
    # feedback on an answer given before the restart is still accepted
    assert second.post("/api/feedback", json={"answer_id": ids[0], "rating": -1}).status_code == 201
    assert len(store_again.feedback()) == 4
