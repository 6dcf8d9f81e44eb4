"""A ready service on the deterministic fakes (hash embedder, scripted generator) over a copy of a corpus, and staff
accounts with cheap argon2 parameters.

For the web tests and the browser tests: real retrieval, attribution, hand-off and password code, no model files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.config import ROOT, Settings
from rag.embedders.fake import HashEmbedder
from rag.generation.fake import Script, ScriptedGenerator
from rag.ingest import Ingestor
from rag.service import AssistantService
from rag.web.database import SqliteDatabase, web_db_path
from rag.web.staff import Passwords, Role, StaffDirectory, command_line_user
from rag.web.staff_repository import make_staff_repository


def fake_service(
    workdir: Path,
    *,
    corpus: Path = ROOT / "corpus",
    script: Script | str | list[str] | None = None,
) -> AssistantService:
    """Copy `corpus` into workdir/corpus, index it with the HashEmbedder and return a service on fakes."""
    workdir = Path(workdir)
    dest = workdir / "corpus"
    if not dest.exists():
        shutil.copytree(corpus, dest)
    settings = Settings.from_env(
        environ={},
        corpus_dir=dest,
        index_dir=workdir / "embeddings",
        data_dir=workdir / "data",
        embedder="fake",
        generator="scripted",
    )
    embedder = HashEmbedder()
    Ingestor(embedder, index_root=settings.index_dir).run(dest, progress=None)
    return AssistantService(settings, embedder=embedder, generator=ScriptedGenerator(script))


def cheap_passwords() -> Passwords:
    """Real argon2id with the smallest cost (one pass, 64 KiB): tests sign in often; never for real accounts."""
    return Passwords(time_cost=1, memory_kib=64, parallelism=1)


def staff_with_accounts(
    settings: Settings, accounts: dict[str, tuple[Role, str]], **kwargs: object
) -> StaffDirectory:
    """A StaffDirectory over the service's web database holding `accounts` (name -> (role, password))."""
    db = SqliteDatabase(web_db_path(settings))
    db.migrate()
    staff = StaffDirectory(make_staff_repository(db), cheap_passwords(), **kwargs)  # type: ignore[arg-type]
    existing = {a.name for a in staff.repo.accounts()}
    for name, (role, password) in accounts.items():
        if name not in existing:
            staff.add(command_line_user(), name, role, password)
    return staff
