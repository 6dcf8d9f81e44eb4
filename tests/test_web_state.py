"""The web state's repositories — feedback and the redacted log, staff accounts, sessions, throttling and the audit
trail — hold one contract on SQLite (the embedded default) and on a real PostgreSQL (RAG_DATABASE_URL, shared by
replicas); and the busy limit is shared across replicas in PostgreSQL, with leases that give a killed replica's
slots back.

Each test that says "replica" opens the database a second time (a second SQLite handle on the same file, a second
PostgreSQL pool), as another app process would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag import cli
from rag.config import Settings
from rag.db.postgres import Database
from rag.errors import ConfigError, RagError
from rag.service import AssistantService
from rag.types import Answer
from rag.web.config import WebSettings
from rag.web.database import (
    WEB_SCHEMA,
    SqliteDatabase,
    WebDatabase,
    migrate_web_database,
    open_web_database,
    utc_now,
)
from rag.web.fakes import cheap_passwords, fake_service
from rag.web.feedback import FeedbackStore, WebStore, make_web_store
from rag.web.gate import GenerationQueue, QueueFull, make_generation_queue
from rag.web.pgfeedback import PgWebStore
from rag.web.pggate import SharedGenerationQueue
from rag.web.pgstaff import PgStaffRepository
from rag.web.staff import AuditAction, Role, StaffDirectory, StaffUser, command_line_user
from rag.web.staff_repository import (
    AuditEntry,
    SqliteStaffRepository,
    StaffAccount,
    StaffRepository,
    make_staff_repository,
)
from rag.web.transfer import copy_web_state

PNR, EMAIL, MOBILE = "19850312-4321", "kalle.anka@example.se", "070-123 45 67"
PUBLIC_PHONE = "042-10 50 00"
PHONE_Q = "Vilket telefonnummer har kontaktcenter?"
NAME, PASSWORD = "greta.granskare", "ett-långt-lösenord-för-test"

Opener = Callable[[], WebDatabase]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> AssistantService:
    return fake_service(
        tmp_path_factory.mktemp("state"), script=f"Ring kontaktcenter på telefon {PUBLIC_PHONE}."
    )


@pytest.fixture(scope="module")
def personal_answer(service: AssistantService) -> Answer:
    """An answer to a question full of personal data, citing the passage with kontaktcenter's public number."""
    answer = service.ask(f"Jag heter Kalle, pnr {PNR}, mejl {EMAIL}, mobil {MOBILE}. {PHONE_Q}")
    assert PUBLIC_PHONE in answer.text and answer.citations
    return answer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the web database (migrated) — each call a new handle on the same one, as another replica would."""
    opened: list[Database] = []
    if request.param == "sqlite":

        def open_sqlite() -> WebDatabase:
            db = SqliteDatabase(tmp_path / "web.sqlite3")
            migrate_web_database(db)
            return db

        yield open_sqlite
        return
    url: str = request.getfixturevalue("pg_url")

    def open_pg() -> WebDatabase:
        db = Database(url)
        migrate_web_database(db)
        opened.append(db)
        return db

    yield open_pg
    for db in opened:
        db.close()


def test_the_factories_follow_the_database(open_db: Opener) -> None:
    db = open_db()
    store, repo = make_web_store(db), make_staff_repository(db)
    if isinstance(db, SqliteDatabase):
        assert isinstance(store, WebStore) and isinstance(repo, SqliteStaffRepository)
    else:
        assert isinstance(store, PgWebStore) and isinstance(repo, PgStaffRepository)


# --- feedback and the conversation log ------------------------------------------------------------------------
def test_the_log_never_holds_personal_data_unredacted(open_db: Opener, personal_answer: Answer) -> None:
    store = make_web_store(open_db())
    answer_id = store.log_answer(personal_answer, channel="api", session="s1")
    row = make_web_store(open_db()).conversation(answer_id)  # read back through another replica
    assert row is not None and (row.channel, row.session) == ("api", "s1")
    stored = repr(row)
    for secret in (PNR, EMAIL, MOBILE):
        assert secret not in stored, f"{secret} stored unredacted"
    assert "[personnummer]" in row.question and "[e-post]" in row.question
    assert PUBLIC_PHONE in row.answer  # public: the cited passage holds it verbatim
    assert row.citations == [c.to_dict() for c in personal_answer.citations]
    assert row.details["question"] == row.question and row.refused is False


def test_conversations_newest_first_and_searched_without_regard_to_case(
    open_db: Opener, service: AssistantService, personal_answer: Answer
) -> None:
    store = make_web_store(open_db())
    first = store.log_answer(personal_answer, channel="api")
    other = service.ask("Hur söker jag bygglov?")
    second = store.log_answer(other, channel="chat")
    assert [c.id for c in store.conversations()] == [second, first]
    assert [c.id for c in store.conversations(search="BYGGLOV")] == [second]
    assert [c.id for c in store.conversations(limit=1)] == [second]
    assert store.conversation("finns-inte") is None


def test_feedback_copies_its_answer_and_redacts_the_comment(open_db: Opener, personal_answer: Answer) -> None:
    store = make_web_store(open_db())
    answer_id = store.log_answer(personal_answer, channel="api")
    logged = store.conversation(answer_id)
    assert logged is not None
    other_replica = make_web_store(open_db())
    fid = other_replica.add_feedback(
        answer_id=answer_id, rating=-1, comment=f"  Fel!\nMejla {EMAIL} eller ring {MOBILE}, pnr {PNR}  "
    )
    anonymous = other_replica.add_feedback(answer_id=None, rating=1)
    rows = store.feedback()
    assert [r.id for r in rows] == [anonymous, fid]
    row = rows[1]
    assert (row.answer_id, row.rating, row.question, row.answer) == (
        answer_id,
        -1,
        logged.question,
        logged.answer,
    )
    assert row.citations == logged.citations
    for secret in (PNR, EMAIL, MOBILE):
        assert secret not in row.comment
    assert row.comment.startswith("Fel! Mejla [e-post]") and "\n" not in row.comment
    assert (rows[0].question, rows[0].citations, rows[0].comment) == ("", [], "")


def test_feedback_is_refused_for_an_unknown_answer_or_a_bad_rating(open_db: Opener) -> None:
    store = make_web_store(open_db())
    with pytest.raises(KeyError, match="finns-inte"):
        store.add_feedback(answer_id="finns-inte", rating=1)
    with pytest.raises(ValueError, match="rating must be 1 or -1, got 5"):
        store.add_feedback(answer_id=None, rating=5)
    assert store.feedback() == []


def test_feedback_filters(open_db: Opener, personal_answer: Answer) -> None:
    store = make_web_store(open_db())
    answer_id = store.log_answer(personal_answer, channel="api")
    good = store.add_feedback(answer_id=answer_id, rating=1, comment="Tack, Mycket bra")
    bad = store.add_feedback(answer_id=answer_id, rating=-1)
    assert [r.id for r in store.feedback(rating=1)] == [good]
    assert [r.id for r in store.feedback(rating=-1)] == [bad]
    assert [r.id for r in store.feedback(with_comment=True)] == [good]
    assert [r.id for r in store.feedback(search="mycket BRA")] == [good]
    assert [r.id for r in store.feedback(search="kontaktcenter")] == [bad, good]  # in the question
    today = utc_now().date()
    assert len(store.feedback(since=today.isoformat())) == 2
    assert store.feedback(since=(today + dt.timedelta(days=1)).isoformat()) == []
    assert [r.id for r in store.feedback(limit=1)] == [bad]


def test_purge_deletes_only_what_is_past_the_limit(open_db: Opener, personal_answer: Answer) -> None:
    store: FeedbackStore = make_web_store(open_db(), retention_days=30)
    answer_id = store.log_answer(personal_answer, channel="api")
    store.add_feedback(answer_id=answer_id, rating=1)
    soon = store.purge_expired(now=utc_now() + dt.timedelta(days=29))
    assert (soon.conversations, soon.feedback) == (0, 0)
    later = store.purge_expired(now=utc_now() + dt.timedelta(days=31))
    assert (later.conversations, later.feedback) == (1, 1)
    assert store.conversations() == [] and store.feedback() == []
    with pytest.raises(ValueError, match="at least 1 day, got 0"):
        store.purge_expired(days=0)


# --- staff: the repository contract ----------------------------------------------------------------------------
def account(name: str, role: Role = Role.GRANSKARE, at: str = "2026-01-02T03:04:05+00:00") -> StaffAccount:
    return StaffAccount(name=name, role=role, created=at, password_changed=at)


def test_accounts(open_db: Opener) -> None:
    repo: StaffRepository = make_staff_repository(open_db())
    assert repo.create_account(account("anna", Role.ADMIN), "hash-a")
    assert not repo.create_account(account("anna"), "hash-b")  # the name is taken
    assert repo.create_account(account("bertil"), "hash-b")
    stored = repo.account("anna")
    assert (
        stored is not None
        and stored.password_hash == "hash-a"
        and stored.account == account("anna", Role.ADMIN)
    )
    assert [a.name for a in repo.accounts()] == ["anna", "bertil"]
    assert repo.set_password_hash("bertil", "hash-c", "2026-02-03T04:05:06+00:00")
    again = repo.account("bertil")
    assert again is not None and again.password_hash == "hash-c"
    assert again.account.password_changed == "2026-02-03T04:05:06+00:00"
    assert repo.set_role("bertil", Role.ADMIN) and not repo.set_role("ingen", Role.ADMIN)
    assert not repo.set_password_hash("ingen", "x", "2026-02-03T04:05:06+00:00")
    assert repo.account("ingen") is None


def test_sessions_end_with_their_time_their_account_or_a_sign_out(open_db: Opener) -> None:
    repo = make_staff_repository(open_db())
    other = make_staff_repository(open_db())  # another replica
    repo.create_account(account("anna"), "h")
    repo.create_session("t1", "anna", "2026-01-01T10:00:00+00:00", "2026-01-01T18:00:00+00:00")
    repo.create_session("t2", "anna", "2026-01-01T10:00:00+00:00", "2026-01-01T18:00:00+00:00")
    seen = other.session_account("t1", "2026-01-01T17:59:59+00:00")
    assert seen is not None and seen.name == "anna"
    assert other.session_account("t1", "2026-01-01T18:00:00+00:00") is None  # expired
    repo.set_role("anna", Role.ADMIN)
    now_admin = other.session_account("t1", "2026-01-01T12:00:00+00:00")
    assert now_admin is not None and now_admin.role == Role.ADMIN  # a changed role applies at once
    other.delete_session("t1")
    assert repo.session_account("t1", "2026-01-01T12:00:00+00:00") is None
    assert repo.delete_sessions_of("anna") == 1
    repo.create_session("t3", "anna", "2026-01-01T10:00:00+00:00", "2026-01-01T18:00:00+00:00")
    assert repo.delete_account("anna") and not repo.delete_account("anna")
    assert other.session_account("t3", "2026-01-01T12:00:00+00:00") is None


def test_sign_in_failures_are_counted_per_client_within_the_window(open_db: Opener) -> None:
    repo, other = make_staff_repository(open_db()), make_staff_repository(open_db())
    for second in (1, 2, 3):
        repo.add_sign_in_failure("klient-a", f"2026-01-01T10:00:0{second}+00:00")
    other.add_sign_in_failure("klient-b", "2026-01-01T10:00:03+00:00")
    assert other.sign_in_failures("klient-a", "2026-01-01T10:00:01+00:00") == 2
    assert other.sign_in_failures("klient-a", "2026-01-01T09:00:00+00:00") == 3
    other.clear_sign_in_failures("klient-a")
    assert repo.sign_in_failures("klient-a", "2026-01-01T09:00:00+00:00") == 0
    assert repo.sign_in_failures("klient-b", "2026-01-01T09:00:00+00:00") == 1


def test_the_audit_trail_newest_first_and_filtered(open_db: Opener) -> None:
    repo = make_staff_repository(open_db())
    for i, (actor, action) in enumerate((("anna", "sign_in"), ("bertil", "sign_in"), ("anna", "reindex"))):
        repo.append_audit(
            AuditEntry(
                created=f"2026-01-01T10:00:0{i}+00:00",
                actor=actor,
                role="admin",
                action=action,
                detail=str(i),
            )
        )
    entries = make_staff_repository(open_db()).audit_entries()
    assert [e.detail for e in entries] == ["2", "1", "0"] and entries[0].id > entries[2].id > 0
    assert entries[0] == AuditEntry(
        created="2026-01-01T10:00:02+00:00",
        actor="anna",
        role="admin",
        action="reindex",
        detail="2",
        id=entries[0].id,
    )
    assert [e.detail for e in repo.audit_entries(actor="anna")] == ["2", "0"]
    assert [e.detail for e in repo.audit_entries(action="sign_in")] == ["1", "0"]
    assert [e.detail for e in repo.audit_entries(limit=1)] == ["2"]


def test_purge_of_staff_state(open_db: Opener) -> None:
    repo = make_staff_repository(open_db())
    repo.create_account(account("anna"), "h")
    repo.create_session("gammal", "anna", "2026-01-01T00:00:00+00:00", "2026-01-01T08:00:00+00:00")
    repo.create_session("ny", "anna", "2026-01-01T09:00:00+00:00", "2026-01-01T17:00:00+00:00")
    repo.add_sign_in_failure("k", "2026-01-01T08:00:00+00:00")
    repo.add_sign_in_failure("k", "2026-01-01T09:59:00+00:00")
    repo.append_audit(AuditEntry(created="2025-01-01T00:00:00+00:00", actor="a", role="", action="sign_in"))
    repo.append_audit(AuditEntry(created="2026-01-01T09:00:00+00:00", actor="a", role="", action="sign_in"))
    purged = repo.purge(
        now="2026-01-01T10:00:00+00:00",
        failures_before="2026-01-01T09:55:00+00:00",
        audit_before="2025-06-01T00:00:00+00:00",
    )
    assert (purged.sessions, purged.sign_in_failures, purged.audit_entries) == (1, 1, 1)
    assert repo.session_account("ny", "2026-01-01T10:00:00+00:00") is not None
    assert repo.sign_in_failures("k", "2026-01-01T00:00:00+00:00") == 1


def test_a_session_opened_on_one_replica_works_on_the_other(open_db: Opener) -> None:
    one = StaffDirectory(make_staff_repository(open_db()), cheap_passwords())
    two = StaffDirectory(make_staff_repository(open_db()), cheap_passwords(), max_sign_in_failures=2)
    one.add(command_line_user(), NAME, Role.GRANSKARE, PASSWORD)
    signed = one.sign_in(NAME, PASSWORD, "10.0.0.1")
    assert signed.token and two.user_for_token(signed.token) == signed.user
    two.sign_out(signed.token)
    assert one.user_for_token(signed.token) is None
    one.sign_in(NAME, "fel-lösenord-igen", "10.0.0.2")
    assert two.sign_in(NAME, "fel-lösenord-igen", "10.0.0.2").refused == "wrong"
    assert two.sign_in(NAME, PASSWORD, "10.0.0.2").refused == "throttled"  # failures on both replicas count
    actions = [e.action for e in one.repo.audit_entries(actor=NAME)]
    assert actions.count(AuditAction.SIGN_IN_FAILED.value) == 3 and AuditAction.SIGN_OUT.value in actions


# --- the busy limit ------------------------------------------------------------------------------------------------
def openai_settings(fake_settings: Settings) -> Settings:
    return fake_settings.with_(generator="openai", llm_urls="http://llm1:8000/v1,http://llm2:8000/v1")


def test_the_busy_limit_is_shared_only_with_state_in_postgres_and_an_llm_pool(
    open_db: Opener, fake_settings: Settings
) -> None:
    db = open_db()
    shared = make_generation_queue(db, openai_settings(fake_settings), workers=2)
    own_llm = make_generation_queue(db, fake_settings, workers=1)
    assert isinstance(own_llm, GenerationQueue)  # an in-process LLM serves its own replica only
    if isinstance(db, SqliteDatabase):
        assert isinstance(shared, GenerationQueue)
    else:
        assert isinstance(shared, SharedGenerationQueue) and shared.workers == 2
        same_pool = make_generation_queue(
            db,
            fake_settings.with_(generator="openai", llm_urls="http://llm2:8000/v1,http://llm1:8000/v1"),
            workers=2,
        )
        assert isinstance(same_pool, SharedGenerationQueue) and same_pool.pool == shared.pool


@pytest.fixture
def two_replicas(pg_url: str) -> Iterator[Callable[..., SharedGenerationQueue]]:
    made: list[SharedGenerationQueue] = []

    def replica(name: str, **kwargs: object) -> SharedGenerationQueue:
        db = Database(pg_url)
        migrate_web_database(db)
        queue = SharedGenerationQueue(db, pool="test", workers=1, replica=name, poll_s=0.05, **kwargs)  # type: ignore[arg-type]
        made.append(queue)
        return queue

    yield replica
    for queue in made:
        queue.close()
        queue.db.close()


@pytest.mark.postgres
def test_one_slot_is_shared_by_two_replicas(two_replicas: Callable[..., SharedGenerationQueue]) -> None:
    one = two_replicas("ett", max_waiting=0)
    two = two_replicas("tva", max_waiting=1, wait_s=10)
    busy = two_replicas("tre", max_waiting=0)
    got_it = threading.Event()
    with one.slot():
        assert one.running == 1 and one.in_use() == 1
        seen = busy.health()  # another replica sees the slot in use, though it runs nothing itself
        assert seen["scope"] == "shared" and seen["slots"] == seen["in_use_everywhere"] == 1
        assert seen["running"] == 0
        with pytest.raises(QueueFull, match="queue full"), busy.slot():
            pass
        assert busy.rejected == 1

        def wait_for_it() -> None:
            with two.slot():
                got_it.set()

        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        deadline = time.monotonic() + 5
        while two.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert two.waiting == 1 and not got_it.is_set()
    waiter.join(10)
    assert got_it.is_set() and two.waiting == 0 and one.in_use() == 0


@pytest.mark.postgres
def test_a_killed_replicas_slot_comes_back_when_its_lease_runs_out(
    two_replicas: Callable[..., SharedGenerationQueue], caplog: pytest.LogCaptureFixture
) -> None:
    killed = two_replicas("dod", lease_s=1)
    survivor = two_replicas("kvar", wait_s=10)
    held = killed.slot()
    held.__enter__()
    killed.close()  # it stops renewing, as a process killed with SIGKILL does; the row stays held
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="rag.web.pggate"), survivor.slot():
        waited = time.monotonic() - started
        assert survivor.in_use() == 1
    assert 0.5 <= waited < 5, f"waited {waited:.1f} s for a lease of 1 s"
    assert "ran out; taken over" in caplog.text
    assert killed.renew() == 0  # its lease is gone, and it is told so


@pytest.mark.postgres
def test_a_held_slot_is_renewed_while_its_answer_runs(
    two_replicas: Callable[..., SharedGenerationQueue],
) -> None:
    slow = two_replicas("langsam", lease_s=1)
    other = two_replicas("annan", max_waiting=1, wait_s=2)
    with slow.slot(), pytest.raises(QueueFull, match="waited"), other.slot():
        pass  # 2 s, twice the lease: still held, because it was renewed
    with other.slot():
        pass


# --- choosing the database, and moving an embedded install's state into PostgreSQL ---------------------------------
def test_the_web_database_is_sqlite_unless_a_database_url_is_set(fake_settings: Settings) -> None:
    db = open_web_database(fake_settings)
    assert (
        isinstance(db, SqliteDatabase)
        and db.path == fake_settings.data_dir / "web.sqlite3"
        and db.version() == 2
    )


@pytest.mark.postgres
def test_with_a_database_url_the_web_state_is_in_postgres_and_migrated(
    fake_settings: Settings, pg_url: str
) -> None:
    db = open_web_database(fake_settings.with_(database_url=pg_url))
    assert isinstance(db, Database) and db.schema_version("web") == WEB_SCHEMA.version
    assert not (fake_settings.data_dir / "web.sqlite3").exists()


@pytest.mark.postgres
def test_rag_migrate_copies_the_embedded_web_state_once(
    tmp_path: Path, pg_url: str, personal_answer: Answer
) -> None:
    sqlite = SqliteDatabase(tmp_path / "web.sqlite3")
    sqlite.migrate()
    store = make_web_store(sqlite)
    answer_id = store.log_answer(personal_answer, channel="chat", session="s")
    store.add_feedback(answer_id=answer_id, rating=-1, comment="Fel nummer")
    staff = StaffDirectory(make_staff_repository(sqlite), cheap_passwords())
    staff.add(command_line_user(), NAME, Role.ADMIN, PASSWORD)
    token = staff.sign_in(NAME, PASSWORD, "10.0.0.1").token
    target = Database(pg_url)
    migrate_web_database(target)
    try:
        copied = copy_web_state(sqlite, target)
        assert (copied.conversations, copied.feedback, copied.accounts, copied.sessions) == (1, 1, 1, 1)
        assert copied.audit_entries == len(staff.repo.audit_entries())
        pg_store = make_web_store(target)
        assert pg_store.conversations() == store.conversations()
        assert pg_store.feedback() == store.feedback()
        moved = StaffDirectory(make_staff_repository(target), cheap_passwords())
        assert moved.user_for_token(token) == StaffUser(NAME, Role.ADMIN)  # staff stay signed in
        assert moved.repo.audit_entries() == [
            dataclasses.replace(e, id=p.id)
            for e, p in zip(staff.repo.audit_entries(), moved.repo.audit_entries(), strict=True)
        ]
        with pytest.raises(RagError, match="already holds web state"):
            copy_web_state(sqlite, target)
        assert len(pg_store.feedback()) == 1
    finally:
        target.close()


@pytest.mark.postgres
def test_rag_migrate_brings_the_web_state_along_and_the_commands_then_use_postgres(
    fake_index: Settings,
    pg_url: str,
    personal_answer: Answer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqlite = open_web_database(fake_index)
    store = make_web_store(sqlite)
    store.add_feedback(
        answer_id=store.log_answer(personal_answer, channel="chat"), rating=-1, comment="Flyttad"
    )
    monkeypatch.setenv("RAG_DATABASE_URL", pg_url)
    monkeypatch.setenv("RAG_INDEX_DIR", str(fake_index.index_dir))
    monkeypatch.setenv("RAG_DATA_DIR", str(fake_index.data_dir))
    assert cli.main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "Schema web: version 1" in out and "Web state: 1 log entries, 1 feedback rows" in out
    assert cli.main(["migrate"]) == 0
    assert "already holds web state" in capsys.readouterr().out
    sqlite.run("DELETE FROM feedback")  # from now on the commands read PostgreSQL, not the file
    assert cli.main(["feedback", "export"]) == 0
    assert "Flyttad" in capsys.readouterr().out


def test_the_slot_lease_is_a_setting_checked_at_start() -> None:
    assert WebSettings.from_env({"RAG_SLOT_LEASE_S": "12"}).slot_lease_s == 12
    assert WebSettings.from_env({}).slot_lease_s == 30
    with pytest.raises(ConfigError, match="RAG_SLOT_LEASE_S must be at least 1 \\(seconds\\), got 0"):
        WebSettings.from_env({"RAG_SLOT_LEASE_S": "0"})
