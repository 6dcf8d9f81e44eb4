"""Retention (the app purges at start and then on a timer; `rag logs purge` on demand), the feedback CSV export (route
and command line), and the command line's staff commands and empty question."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag import cli
from rag.web import WebSettings, create_app
from rag.web.auth import LOGIN_PATH
from rag.web.console import EXPORT_PATH
from rag.web.database import iso, utc_now, web_db_path
from rag.web.export import HEADERS, feedback_csv, safe_cell
from rag.web.fakes import fake_service, staff_with_accounts
from rag.web.feedback import FeedbackRow, WebStore
from rag.web.maintenance import RetentionTimer
from rag.web.staff import Role

NAME, PASSWORD = "greta.granskare", "ett-långt-lösenord-för-test"
PHONE_Q = "Vilket telefonnummer har kontaktcenter?"
PNR, EMAIL = "19850312-4321", "kalle.anka@example.se"


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    return fake_service(tmp_path, script="Prata med en kommunvägledare på telefon 042-10 50 00.")


def aged(store: WebStore, days: float, text: str) -> None:
    """One log entry and one feedback row as if written `days` days ago."""
    created = iso(utc_now() - dt.timedelta(days=days))
    store._run(
        "INSERT INTO conversations VALUES (?, ?, 'api', NULL, ?, 'svar', 0, NULL, '[]', '{}')",
        (f"id-{text}", created, text),
    )
    store._run(
        "INSERT INTO feedback (created, answer_id, rating, comment, question, answer, citations) "
        "VALUES (?, ?, 1, ?, ?, 'svar', '[]')",
        (created, f"id-{text}", text, text),
    )


# --- retention ------------------------------------------------------------------------------------------------
def test_purge_removes_what_is_older_than_the_limit_and_touches_nothing_newer(tmp_path: Path) -> None:
    store = WebStore(tmp_path / "web.sqlite3", retention_days=30)
    for days, text in (
        (400, "mycket-gammal"),
        (30.01, "nyss-for-gammal"),
        (29.99, "nyss-inom"),
        (0, "i-dag"),
    ):
        aged(store, days, text)
    purged = store.purge_expired()
    assert (purged.conversations, purged.feedback) == (2, 2)
    assert sorted(c.question for c in store.conversations()) == ["i-dag", "nyss-inom"]
    assert sorted(f.comment for f in store.feedback()) == ["i-dag", "nyss-inom"]
    assert store.purge_expired().conversations == 0  # nothing more to do


def test_the_app_purges_by_itself_while_it_runs(service) -> None:  # type: ignore[no-untyped-def]
    store = WebStore(web_db_path(service.settings), retention_days=30)
    aged(store, 31, "vid-start")
    web = WebSettings(warm_up=False, retention_days=30, purge_interval_s=0.05)
    app = create_app(service, web=web, store=store)
    assert store.conversations() == []  # at start
    with TestClient(app):  # the app's lifespan: the retention timer runs
        aged(store, 31, "medan-appen-kor")
        aged(store, 1, "ny")
        deadline = time.monotonic() + 10
        while any(c.question == "medan-appen-kor" for c in store.conversations()):
            assert time.monotonic() < deadline, "the timer did not purge within 10 s"
            time.sleep(0.05)
        assert app.state.retention.runs >= 1
    assert [c.question for c in store.conversations()] == ["ny"]
    assert app.state.retention._thread is None  # stopped with the app


def test_a_failing_purge_does_not_end_the_timer(tmp_path: Path, service) -> None:  # type: ignore[no-untyped-def]
    store = WebStore(tmp_path / "web.sqlite3")
    failures = [2]
    purge = store.purge_expired

    def locked_twice(**kwargs):  # type: ignore[no-untyped-def]
        if failures[0]:
            failures[0] -= 1
            raise sqlite3.OperationalError("database is locked")
        return purge(**kwargs)

    store.purge_expired = locked_twice  # type: ignore[method-assign]
    timer = RetentionTimer(store, staff_with_accounts(service.settings, {}), 0.01)
    timer.start()
    try:
        deadline = time.monotonic() + 10
        while timer.runs == 0:
            assert time.monotonic() < deadline, "the timer stopped after a failed purge"
            time.sleep(0.01)
    finally:
        timer.stop()
    assert failures == [0] and timer.runs >= 1


def test_rag_logs_purge(service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    use_env(monkeypatch, service, RAG_RETENTION_DAYS="10")
    store = WebStore(web_db_path(service.settings))
    aged(store, 11, "gammal")
    aged(store, 9, "inom")
    assert cli.main(["logs", "purge"]) == 0
    assert "Raderade 1 loggposter och 1 återkopplingar äldre än 10 dagar" in capsys.readouterr().out
    assert [c.question for c in store.conversations()] == ["inom"]
    assert cli.main(["logs", "purge", "--days", "5"]) == 0
    assert store.conversations() == []
    assert cli.main(["logs", "purge", "--days", "0"]) == 2
    assert "--days" in capsys.readouterr().err
    trail = staff_with_accounts(service.settings, {}).repo.audit_entries(action="purge_logs")
    assert len(trail) == 2 and trail[0].actor.startswith("kommandoraden")


# --- export -----------------------------------------------------------------------------------------------------
def test_feedback_csv_has_question_answer_and_citations_and_defuses_formulas() -> None:
    row = FeedbackRow(
        id=7,
        created="2030-01-02T03:04:05+00:00",
        answer_id="abc",
        rating=-1,
        comment='=HYPERLINK("http://x.se";"klicka") och "citat"; semikolon',
        question="Vilket nummer har kontaktcenter?",
        answer="042-10 50 00 [1]",
        citations=[{"n": 1, "title": "Kontaktcenter", "source": "kc.txt", "chunk_id": "kc#0"}],
    )
    text = feedback_csv([row])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == HEADERS
    assert rows[1] == [
        "7",
        "2030-01-02T03:04:05+00:00",
        "inte till hjälp",
        "'" + row.comment,
        row.question,
        row.answer,
        "[1] Kontaktcenter (kc.txt, kc#0)",
        "abc",
    ]
    assert [safe_cell(x) for x in ("-1+2", "@SUM", "\tx", "vanlig")] == ["'-1+2", "'@SUM", "'\tx", "vanlig"]


def test_export_route_needs_sign_in_and_gives_the_redacted_log(service) -> None:  # type: ignore[no-untyped-def]
    staff = staff_with_accounts(service.settings, {NAME: (Role.GRANSKARE, PASSWORD)})
    client = TestClient(create_app(service, web=WebSettings(warm_up=False), staff=staff))
    asked = client.post("/api/ask", json={"question": f"{PHONE_Q} Mitt pnr är {PNR}."}).json()
    client.post(
        "/api/feedback", json={"answer_id": asked["answer_id"], "rating": -1, "comment": f"mejla {EMAIL}"}
    )
    client.post("/api/feedback", json={"answer_id": asked["answer_id"], "rating": 1, "comment": "bra"})
    assert client.get(EXPORT_PATH).status_code == 401
    client.post(LOGIN_PATH, data={"namn": NAME, "losenord": PASSWORD})
    resp = client.get(EXPORT_PATH, params={"betyg": "-1"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 1 and rows[0]["betyg"] == "inte till hjälp"
    assert "[personnummer]" in rows[0]["fraga"] and PNR not in resp.text
    assert "[e-post]" in rows[0]["kommentar"] and EMAIL not in resp.text
    assert "042-10 50 00" in rows[0]["svar"] and rows[0]["kallor"].startswith("[1] ")
    assert [e.detail for e in staff.repo.audit_entries(action="export_feedback")] == ["betyg=-1 (1 rader)"]


def test_rag_feedback_export(service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    use_env(monkeypatch, service)
    store = WebStore(web_db_path(service.settings))
    answer_id = store.log_answer(service.ask(PHONE_Q), channel="api")
    store.add_feedback(answer_id=answer_id, rating=1, comment="tack")
    out = tmp_path / "aterkoppling.csv"
    assert cli.main(["feedback", "export", "-o", str(out), "--rating", "1"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff")), delimiter=";"))
    assert [(r["kommentar"], r["fraga"]) for r in rows] == [("tack", PHONE_Q)]
    assert cli.main(["feedback", "export", "--rating", "3"]) == 2


# --- the command line ------------------------------------------------------------------------------------------------
def use_env(monkeypatch: pytest.MonkeyPatch, service, **extra: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RAG_DATA_DIR", str(service.settings.data_dir))
    monkeypatch.setenv("RAG_INDEX_DIR", str(service.settings.index_dir))
    monkeypatch.setenv("RAG_EMBEDDER", "fake")
    monkeypatch.setenv("RAG_GENERATOR", "scripted")
    monkeypatch.delenv("RAG_STAFF_PASSWORD", raising=False)
    for k, v in extra.items():
        monkeypatch.setenv(k, v)


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_an_empty_question_explains_itself_and_exits_non_zero(
    question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["ask", question], ["ask", "--json", question]):
        assert cli.main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("Fel: Frågan är tom") and 'rag ask "' in captured.err


def test_rag_staff_commands(
    service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    use_env(monkeypatch, service)

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("staff", "list")[1].startswith("Inga konton")
    code, out, _ = run(
        "staff", "add", "Anna.Admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0 and "anna.admin (admin)" in out
    assert run("staff", "add", "greta", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    code, _, err = run("staff", "add", "greta", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "finns redan" in err
    code, _, err = run("staff", "add", "kort", "--password-stdin", stdin="kort\n")
    assert code == 2 and "för kort" in err
    code, _, err = run("staff", "add", "utan.terminal")  # no --password-stdin and no terminal
    assert code == 2 and "--password-stdin" in err
    code, out, _ = run("staff", "list", "--roles")
    assert "anna.admin" in out and "greta" in out and "granskare" in out and "indexerar om" in out
    assert run("staff", "role", "greta", "admin")[0] == 0
    assert run("staff", "password", "greta", "--password-stdin", stdin="ett-nytt-långt-lösenord\n")[0] == 0
    staff = staff_with_accounts(service.settings, {})
    assert staff.sign_in("greta", "ett-nytt-långt-lösenord", "127.0.0.1").user is not None
    assert run("staff", "remove", "greta")[0] == 0
    code, _, err = run("staff", "remove", "anna.admin")
    assert code == 2 and "enda administratören" in err
    code, out, _ = run("staff", "audit", "--limit", "50")
    lines = out.strip().splitlines()
    assert any("\tLägg till konto\tanna.admin\t" in line for line in lines)
    assert any("\tTa bort konto\tgreta\t" in line for line in lines)
    assert PASSWORD not in out
