"""The local PostgreSQL launcher when the wheel's binaries lie where the unprivileged user cannot read them
(a checkout under /root, as CI's may be)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest

from rag import localservers

pytestmark = pytest.mark.postgres


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_postgres_starts_from_an_install_the_server_user_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install = localservers.pgserver_install()
    hidden = tmp_path / "private"
    site = hidden / "site-packages"
    site.mkdir(parents=True)
    shutil.copytree(install.parent, site / install.parent.name, symlinks=True)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / libs.name, symlinks=True)
    hidden.chmod(0o700)  # like /root
    copied = site / install.parent.name / install.name
    monkeypatch.setattr(localservers, "pgserver_install", lambda: copied)
    localservers._ensure_user(localservers.PG_USER)
    assert not localservers._user_can_run(localservers.PG_USER, copied)
    server = localservers.start_postgres()
    try:
        assert server.install != copied and localservers._user_can_run(localservers.PG_USER, server.install)
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
            owner = conn.execute("SHOW data_directory").fetchone()
        assert owner is not None and Path(owner[0]).stat().st_uid != 0  # files owned by the server's user
    finally:
        server.stop()
        if server.install != copied:
            shutil.rmtree(server.install.parent.parent, ignore_errors=True)  # the copy made for this test
