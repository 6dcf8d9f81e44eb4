"""Load test: the real web app in a subprocess on 127.0.0.1, N concurrent chat sessions over loopback.

    .venv/bin/python scripts/load_test.py                 # fake embedder + a scripted LLM that keeps the LLM's pace
    .venv/bin/python scripts/load_test.py --real          # the real default models (short: most of N=60 hear "busy")
    .venv/bin/python scripts/load_test.py --rounds 1,10 --stream-share 0.5

Each session asks one question carrying a unique token, over POST /api/ask or (a share of them) the streaming
/v1/chat/completions. A session's answer must carry its own token (the `question` field of /api/ask; the logged
conversation of a streamed answer_id), so an answer that reached the wrong session is counted. Prints one Markdown
table: answered, told busy (429 with the Swedish message), errors, wrong-session answers, p50/p95 latency and the
server's peak resident memory per round, and whether memory stayed flat across rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUSY_SV = "Många frågar just nu, försök igen om en stund."
QUESTION = "Vilket telefonnummer och vilka öppettider har kontaktcenter i Helsingborg? {token}"


# --- the server side (run in the subprocess) -----------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from rag.config import Settings
    from rag.service import AssistantService
    from rag.web import WebSettings, create_app

    workdir = Path(args.workdir)
    web = WebSettings(warm_up=False, queue_size=args.queue_size)
    if args.real:
        settings = Settings.from_env(data_dir=workdir / "data")
        service = AssistantService(settings)
        service.retriever.search("kontaktcenter öppettider")
        service.generator.warm_up()
    else:
        from rag.generation.fake import ScriptedGenerator
        from rag.web.fakes import fake_service

        class PacedGenerator(ScriptedGenerator):
            """The scripted reply, at the pace of the small LLM on two cores: a prompt delay, then words."""

            def stream(self, messages, *, max_tokens):  # type: ignore[no-untyped-def]
                time.sleep(args.ttft)
                for piece in super().stream(messages, max_tokens=max_tokens):
                    time.sleep(args.per_token)
                    yield piece

        service = fake_service(workdir)
        service._generator = PacedGenerator()
    app = create_app(service, web=web)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


# --- the client side ---------------------------------------------------------------------------------------------
@dataclass
class Result:
    status: str  # answered | busy | error | wrong_session
    latency_s: float
    detail: str = ""
    answer_id: str | None = None
    token: str = ""
    refused: bool = False
    door: str = "api"


@dataclass
class Round:
    n: int
    results: list[Result] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children (kB lines of /proc/PID/status)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class MemorySampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._halt = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._halt.wait(0.05)

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return max(self.peak, rss_mb(self.pid))


async def ask_api(client, token: str, timeout: float) -> Result:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    try:
        resp = await client.post("/api/ask", json={"question": QUESTION.format(token=token)}, timeout=timeout)
    except Exception as exc:
        return Result("error", time.perf_counter() - t0, f"{type(exc).__name__}: {exc}", token=token)
    dt = time.perf_counter() - t0
    if resp.status_code == 429:
        ok = resp.json().get("error", {}).get("message") == BUSY_SV and resp.headers.get("retry-after")
        return Result("busy" if ok else "error", dt, "" if ok else resp.text[:200], token=token)
    if resp.status_code != 200:
        return Result("error", dt, f"HTTP {resp.status_code}: {resp.text[:200]}", token=token)
    data = resp.json()
    if token not in data.get("question", "") or not data.get("answer"):
        return Result("wrong_session", dt, data.get("question", "")[:120], token=token)
    return Result(
        "answered", dt, answer_id=data.get("answer_id"), token=token, refused=bool(data.get("refused"))
    )


async def ask_stream(client, token: str, timeout: float) -> Result:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    body = {"stream": True, "messages": [{"role": "user", "content": QUESTION.format(token=token)}]}
    answer_id, text, done, refused = None, "", False, False
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body, timeout=timeout) as resp:
            if resp.status_code == 429:
                data = json.loads(await resp.aread())
                ok = data.get("error", {}).get("message") == BUSY_SV
                return Result("busy" if ok else "error", time.perf_counter() - t0, token=token, door="v1")
            if resp.status_code != 200:
                return Result(
                    "error", time.perf_counter() - t0, f"HTTP {resp.status_code}", token=token, door="v1"
                )
            async for line in resp.aiter_lines():
                if not line.startswith("data: "):
                    continue
                payload = line[6:]
                if payload == "[DONE]":
                    done = True
                    break
                chunk = json.loads(payload)
                if "error" in chunk:
                    return Result(
                        "error", time.perf_counter() - t0, str(chunk["error"]), token=token, door="v1"
                    )
                text += chunk["choices"][0]["delta"].get("content", "")
                answer_id = chunk.get("answer_id", answer_id)
                refused = bool(chunk.get("refused", refused))
    except Exception as exc:
        return Result(
            "error", time.perf_counter() - t0, f"{type(exc).__name__}: {exc}", token=token, door="v1"
        )
    dt = time.perf_counter() - t0
    if not done or not text.strip() or not answer_id:
        return Result("error", dt, "stream ended without [DONE], text or answer_id", token=token, door="v1")
    return Result("answered", dt, answer_id=answer_id, token=token, door="v1", refused=refused)


async def run_round(base: str, n: int, stream_share: float, timeout: float) -> list[Result]:
    import httpx

    limits = httpx.Limits(max_connections=n + 5, max_keepalive_connections=n + 5)
    async with httpx.AsyncClient(base_url=base, limits=limits, trust_env=False) as client:
        tasks = []
        n_stream = round(n * stream_share)
        for i in range(n):
            token = "sess" + "".join(
                secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8)
            )  # no digits: no PII
            fn = ask_stream if i < n_stream else ask_api
            tasks.append(fn(client, token, timeout))
        return list(await asyncio.gather(*tasks))


def check_sessions(results: list[Result], db: Path) -> None:
    """Every answered session's logged conversation holds its own token (catches crossed streams)."""
    con = sqlite3.connect(db)
    try:
        for r in results:
            if r.status != "answered":
                continue
            row = con.execute("SELECT question FROM conversations WHERE id = ?", (r.answer_id,)).fetchone()
            if row is None or r.token not in row[0]:
                r.status, r.detail = (
                    "wrong_session",
                    f"answer_id {r.answer_id} logged as {row and row[0][:80]!r}",
                )
    finally:
        con.close()
    ids = [r.answer_id for r in results if r.status == "answered"]
    if len(ids) != len(set(ids)):
        for r in results:
            if r.status == "answered" and ids.count(r.answer_id) > 1:
                r.status, r.detail = "wrong_session", "answer_id shared by two sessions"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", action="store_true", help="the real default models instead of the paced fakes")
    p.add_argument("--rounds", default="1,10,30,60", help="concurrent sessions per round (comma-separated)")
    p.add_argument("--stream-share", type=float, default=0.2, help="share of sessions on streaming /v1")
    p.add_argument("--queue-size", type=int, default=8, help="RAG_QUEUE_SIZE of the server")
    p.add_argument("--ttft", type=float, default=1.0, help="fake LLM: seconds before the first token")
    p.add_argument("--per-token", type=float, default=0.05, help="fake LLM: seconds per token")
    p.add_argument("--timeout", type=float, default=200.0, help="per-request timeout in seconds")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        return serve(args)

    import httpx

    rounds = [int(x) for x in args.rounds.split(",") if x.strip()]
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        port = free_port()
        cmd = [sys.executable, __file__, "--serve", "--port", str(port), "--workdir", tmp]
        cmd += [
            "--queue-size",
            str(args.queue_size),
            "--ttft",
            str(args.ttft),
            "--per-token",
            str(args.per_token),
        ]
        if args.real:
            cmd.append("--real")
        log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "NO_PROXY": "127.0.0.1"}
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        t_start = time.perf_counter()
        try:
            while True:
                if server.poll() is not None:
                    print((Path(tmp) / "server.log").read_text()[-3000:], file=sys.stderr)
                    print("the server did not start", file=sys.stderr)
                    return 1
                try:
                    if httpx.get(base + "/api/health", timeout=2, trust_env=False).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.perf_counter() - t_start > 600:
                    print("the server did not answer /api/health within 600 s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
            start_rss = rss_mb(server.pid)
            print(
                f"server up in {time.perf_counter() - t_start:.1f} s, {start_rss:.0f} MB resident", flush=True
            )
            done: list[Round] = []
            db = Path(tmp) / "data" / "web.sqlite3"
            for n in rounds:
                rnd = Round(n)
                sampler = MemorySampler(server.pid)
                sampler.start()
                t0 = time.perf_counter()
                rnd.results = asyncio.run(run_round(base, n, args.stream_share, args.timeout))
                rnd.seconds = time.perf_counter() - t0
                rnd.peak_rss_mb = sampler.stop()
                check_sessions(rnd.results, db)
                done.append(rnd)
                counts = {s: sum(r.status == s for r in rnd.results) for s in ("answered", "busy", "error")}
                print(f"N={n}: {counts} in {rnd.seconds:.1f} s", flush=True)
                for r in rnd.results:
                    if r.status in ("error", "wrong_session"):
                        print(f"  {r.status} ({r.door}): {r.detail}", flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()

    mode = (
        "real default models"
        if args.real
        else f"fake embedder + paced scripted LLM ({args.ttft}s + {args.per_token}s/token)"
    )
    print()
    print(
        f"Load over loopback, {mode}; queue size {args.queue_size}; {args.stream_share:.0%} of sessions on /v1 streaming"
    )
    print()
    print(
        "| N | answered | of which refused | told busy (429) | errors | wrong session | p50 answered (s) | p95 answered (s) | p95 busy (s) | round (s) | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for rnd in done:
        ok = sorted(r.latency_s for r in rnd.results if r.status == "answered")
        busy = sorted(r.latency_s for r in rnd.results if r.status == "busy")
        c = {
            s: sum(r.status == s for r in rnd.results) for s in ("answered", "busy", "error", "wrong_session")
        }
        print(
            f"| {rnd.n} | {c['answered']} | {sum(r.refused for r in rnd.results if r.status == 'answered')} | {c['busy']} | {c['error']} | {c['wrong_session']} | {pct(ok, 50):.2f} | "
            f"{pct(ok, 95):.2f} | {pct(busy, 95):.2f} | {rnd.seconds:.1f} | {rnd.peak_rss_mb:.0f} |"
        )
    peaks = [r.peak_rss_mb for r in done]
    growth = peaks[-1] - peaks[1] if len(peaks) > 2 else (peaks[-1] - peaks[0] if peaks else 0.0)
    flat = abs(growth) <= max(50.0, 0.1 * (peaks[1] if len(peaks) > 1 else peaks[0]))
    print()
    print(
        f"Memory: {start_rss:.0f} MB at start; peak per round {', '.join(f'{x:.0f}' for x in peaks)} MB; "
        f"{growth:+.0f} MB from the second round to the last: {'flat' if flat else 'GROWING'}."
    )
    bad = sum(r.status in ("error", "wrong_session") for rnd in done for r in rnd.results)
    return 0 if bad == 0 and flat else 1


if __name__ == "__main__":
    sys.exit(main())
