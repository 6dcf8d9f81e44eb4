"""Named staff accounts, roles and the audit trail: argon2 hashes, who may do what, every console action recorded
(without resident personal data), sessions that end with the account or its password, and the versioned schema."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.errors import ConfigError
from rag.web import WebSettings, create_app
from rag.web.auth import COOKIE, LOGIN_PATH
from rag.web.console import EXPORT_PATH
from rag.web.console_actions import ConsoleActions
from rag.web.database import MIGRATIONS, Migration, SqliteDatabase, utc_now, web_db_path
from rag.web.fakes import cheap_passwords, fake_service, staff_with_accounts
from rag.web.feedback import WebStore
from rag.web.gate import GenerationQueue
from rag.web.runtime import WebAssistant
from rag.web.staff import (
    DENIED,
    ROLE_PERMISSIONS,
    AccessDenied,
    AuditAction,
    Permission,
    Role,
    StaffDirectory,
    StaffError,
    StaffUser,
    command_line_user,
)

ADMIN, GRANSKARE, PASSWORD = "anna.admin", "greta.granskare", "ett-långt-lösenord-för-test"
PNR, PHONE, EMAIL = "19850312-4321", "070-987 65 43", "kalle.anka@example.se"
PHONE_Q = "Vilket telefonnummer har kontaktcenter?"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return fake_service(tmp_path_factory.mktemp("staff"))


@pytest.fixture
def staff(service) -> Iterator[StaffDirectory]:  # type: ignore[no-untyped-def]
    directory = staff_with_accounts(
        service.settings, {ADMIN: (Role.ADMIN, PASSWORD), GRANSKARE: (Role.GRANSKARE, PASSWORD)}
    )
    yield directory
    directory.repo.db.run("DELETE FROM audit_log")  # type: ignore[attr-defined]


def admin() -> StaffUser:
    return StaffUser(ADMIN, Role.ADMIN)


def granskare() -> StaffUser:
    return StaffUser(GRANSKARE, Role.GRANSKARE)


def actions_for(service, staff: StaffDirectory) -> ConsoleActions:  # type: ignore[no-untyped-def]
    store = WebStore(SqliteDatabase(web_db_path(service.settings)))
    return ConsoleActions(WebAssistant(service, store, GenerationQueue()), service.settings, staff)


def audit_actions(staff: StaffDirectory) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.outcome) for e in reversed(staff.repo.audit_entries(limit=10_000))]


def all_audit_text(staff: StaffDirectory) -> str:
    return "\n".join(f"{e.actor} {e.target} {e.detail}" for e in staff.repo.audit_entries(limit=10_000))


# --- passwords ---------------------------------------------------------------------------------------------------
def test_passwords_are_stored_as_argon2id_hashes(service, staff: StaffDirectory) -> None:  # type: ignore[no-untyped-def]
    stored = staff.repo.account(ADMIN)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    raw = sqlite3.connect(web_db_path(service.settings)).execute("SELECT * FROM staff_accounts").fetchall()
    assert PASSWORD not in repr(raw)


def test_default_cost_is_argon2s_recommended_profile() -> None:
    from argon2 import PasswordHasher

    default = PasswordHasher()
    assert (default.memory_cost, default.time_cost) == (65536, 3)
    params = cheap_passwords().hash("x" * 12).split("$")[3]
    assert params == "m=64,t=1,p=1"  # tests only; real accounts use the defaults above


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(service, staff: StaffDirectory) -> None:  # type: ignore[no-untyped-def]
    stronger = StaffDirectory(staff.repo, type(staff.passwords)(time_cost=2, memory_kib=128, parallelism=1))
    assert stronger.sign_in(ADMIN, PASSWORD, "127.0.0.1").token
    stored = staff.repo.account(ADMIN)
    assert stored is not None and "m=128,t=2" in stored.password_hash
    assert stronger.sign_in(ADMIN, PASSWORD, "127.0.0.1").token  # and it still signs in


# --- account rules --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("a", "granskare", PASSWORD, "Ogiltigt kontonamn"),
        ("anna svensson", "granskare", PASSWORD, "Ogiltigt kontonamn"),
        ("<script>", "granskare", PASSWORD, "Ogiltigt kontonamn"),
        ("ny.person", "chef", PASSWORD, "Okänd roll"),
        ("ny.person", "granskare", "kort", "för kort"),
        ("ny.person", "granskare", "x" * 300, "för långt"),
        ("ny.person.lang", "granskare", "ny.person.lang", "får inte vara kontonamnet"),
        (ADMIN, "admin", PASSWORD, "finns redan"),
    ],
)
def test_bad_account_input_is_refused_with_a_reason(
    staff: StaffDirectory, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(StaffError, match=message):
        staff.add(admin(), name, role, password)


def test_the_last_admin_cannot_be_removed_or_demoted(staff: StaffDirectory) -> None:
    with pytest.raises(StaffError, match="enda administratören"):
        staff.remove(admin(), ADMIN)
    with pytest.raises(StaffError, match="enda administratören"):
        staff.set_role(admin(), ADMIN, "granskare")
    staff.add(admin(), "bo.admin", Role.ADMIN, PASSWORD)
    staff.set_role(admin(), "bo.admin", "granskare")
    assert staff.repo.account("bo.admin").account.role == Role.GRANSKARE  # type: ignore[union-attr]
    staff.remove(admin(), "bo.admin")
    assert staff.repo.account("bo.admin") is None


def test_names_are_case_insensitive(staff: StaffDirectory) -> None:
    assert staff.sign_in("Anna.Admin ", PASSWORD, "127.0.0.1").user == admin()


# --- roles -------------------------------------------------------------------------------------------------------------
def test_roles_table() -> None:
    assert ROLE_PERMISSIONS[Role.GRANSKARE] == {Permission.INSPECT}
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(Permission)


def test_a_granskare_cannot_reindex_or_manage_accounts_or_read_the_audit_trail(
    service, staff: StaffDirectory
) -> None:  # type: ignore[no-untyped-def]
    actions = actions_for(service, staff)
    g = granskare()
    for attempt in (
        lambda: actions.reindex(g),
        lambda: staff.add(g, "ny.person", "admin", PASSWORD),
        lambda: staff.set_role(g, GRANSKARE, "admin"),
        lambda: staff.set_password(g, ADMIN, "nytt-lösenord-som-är-långt"),
        lambda: staff.remove(g, ADMIN),
        lambda: staff.accounts(g),
        lambda: staff.audit_log(g),
    ):
        with pytest.raises(AccessDenied, match="får inte"):
            attempt()
    assert staff.repo.account(GRANSKARE).account.role == Role.GRANSKARE  # type: ignore[union-attr]
    assert staff.repo.account("ny.person") is None
    denied = [(a, o) for who, a, o in audit_actions(staff) if who == GRANSKARE]
    assert [o for _, o in denied] == [DENIED] * 7
    assert {a for a, _ in denied} == {
        "reindex",
        "account_add",
        "account_role",
        "account_password",
        "account_remove",
        "view_accounts",
        "view_audit",
    }


def test_a_granskare_inspects_answers_feedback_and_logs(service, staff: StaffDirectory) -> None:  # type: ignore[no-untyped-def]
    actions = actions_for(service, staff)
    g = granskare()
    final = actions.ask(g, PHONE_Q)
    assert final.answer_id and actions.explain(g, final.answer_id) is not None
    assert actions.check(g, PHONE_Q, "Ring 042-10 50 00.").supported == 1
    actions.assistant.store.add_feedback(answer_id=final.answer_id, rating=1, comment="bra")
    assert actions.feedback(g, rating=None, with_comment=False, search="", since="")
    assert actions.conversations(g, "")
    assert "bra" in actions.export_feedback(g, rating=None, with_comment=False, search="", since="")


# --- the audit trail -------------------------------------------------------------------------------------------------
def test_every_console_action_lands_in_the_audit_trail(service, staff: StaffDirectory) -> None:  # type: ignore[no-untyped-def]
    """Through HTTP where the action is HTTP (sign-in, export, sign-out), directly for the console's handlers."""
    client = TestClient(create_app(service, web=WebSettings(warm_up=False), staff=staff))
    assert client.post(LOGIN_PATH, data={"namn": ADMIN, "losenord": "fel-lösenord"}).status_code == 401
    assert client.post(LOGIN_PATH, data={"namn": "ingen.alls", "losenord": PASSWORD}).status_code == 401
    signed = client.post(LOGIN_PATH, data={"namn": ADMIN, "losenord": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303 and COOKIE in signed.cookies
    actions = actions_for(service, staff)
    a = admin()
    final = actions.ask(a, PHONE_Q)
    actions.explain(a, final.answer_id or "")
    actions.check(a, PHONE_Q, "Ring 042-10 50 00.")
    actions.feedback(a, rating=-1, with_comment=True, search="", since="")
    actions.conversations(a, "telefon")
    assert actions.document(a, actions.documents(a)[0]) is not None
    assert client.get(EXPORT_PATH).status_code == 200
    actions.reindex(a)
    staff.add(a, "ny.granskare", "granskare", PASSWORD)
    staff.set_role(a, "ny.granskare", "admin")
    staff.set_password(a, "ny.granskare", "ett-annat-långt-lösenord")
    staff.accounts(a)
    staff.remove(a, "ny.granskare")
    staff.audit_log(a)
    client.get("/personal/logga-ut")
    trail = audit_actions(staff)
    assert [x for x in trail if x[1] == "sign_in_failed"] == [
        (ADMIN, "sign_in_failed", "misslyckad"),
        ("(okänt konto)", "sign_in_failed", "misslyckad"),
    ]
    done = {action for who, action, outcome in trail if who == ADMIN and outcome == "ok"}
    assert done == {a.value for a in AuditAction} - {"sign_in_failed", "purge_logs"}
    assert "ingen.alls" not in all_audit_text(staff)  # a name that is no account is not kept


def test_the_audit_trail_holds_no_resident_personal_data(service, staff: StaffDirectory) -> None:  # type: ignore[no-untyped-def]
    actions = actions_for(service, staff)
    g = granskare()
    actions.ask(g, f"{PHONE_Q} Jag heter Kalle, pnr {PNR}, ring {PHONE}.")
    actions.check(g, f"Svar till {EMAIL}", f"Ring {PHONE}.")
    actions.feedback(g, rating=None, with_comment=False, search=EMAIL, since="")
    actions.conversations(g, PNR)
    actions.export_feedback(g, rating=None, with_comment=False, search=PHONE, since="")
    staff.sign_in(PNR, PASSWORD, "127.0.0.1")  # a personnummer typed as the name
    text = all_audit_text(staff)
    assert "[personnummer]" in text and "[telefonnummer]" in text and "[e-post]" in text
    for secret in (PNR, PHONE, EMAIL, "198503124321", PASSWORD):
        assert secret not in text, secret


# --- sessions ----------------------------------------------------------------------------------------------------------
def test_a_new_password_or_removal_ends_the_accounts_sessions(staff: StaffDirectory) -> None:
    staff.add(admin(), "tillfallig", "granskare", PASSWORD)
    first = staff.sign_in("tillfallig", PASSWORD, "127.0.0.1").token
    assert staff.user_for_token(first) == StaffUser("tillfallig", Role.GRANSKARE)
    staff.set_password(admin(), "tillfallig", "ett-helt-nytt-lösenord")
    assert staff.user_for_token(first) is None
    assert staff.sign_in("tillfallig", PASSWORD, "127.0.0.1").token is None
    second = staff.sign_in("tillfallig", "ett-helt-nytt-lösenord", "127.0.0.1").token
    staff.set_role(admin(), "tillfallig", "admin")
    assert staff.user_for_token(second) == StaffUser("tillfallig", Role.ADMIN)  # the new role at once
    staff.set_role(admin(), "tillfallig", "granskare")
    staff.remove(admin(), "tillfallig")
    assert staff.user_for_token(second) is None


def test_sessions_are_stored_by_hash_and_survive_a_restart(service, staff: StaffDirectory) -> None:  # type: ignore[no-untyped-def]
    token = staff.sign_in(GRANSKARE, PASSWORD, "127.0.0.1").token
    assert token
    stored = staff.repo.db.run("SELECT token_hash FROM staff_sessions")  # type: ignore[attr-defined]
    assert stored and all(token not in r["token_hash"] for r in stored)
    again = staff_with_accounts(service.settings, {})  # another process over the same file
    assert again.user_for_token(token) == granskare()


# --- migrations --------------------------------------------------------------------------------------------------------
def test_migrations_run_once_in_order(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "web.sqlite3")
    assert db.migrate() == [m.version for m in MIGRATIONS]
    assert db.migrate() == []
    assert db.version() == MIGRATIONS[-1].version


def test_a_database_from_before_migrations_is_adopted_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(MIGRATIONS[0].sql)  # what the app created before this change, without a version table
    con.execute(
        "INSERT INTO feedback (created, answer_id, rating, comment, question, answer, citations) "
        "VALUES ('2030-01-01T00:00:00+00:00', NULL, 1, 'behålls', '', '', '[]')"
    )
    con.commit()
    con.close()
    store = WebStore(path)
    assert [f.comment for f in store.feedback()] == ["behålls"]
    assert store.db.version() == MIGRATIONS[-1].version


def test_a_database_from_a_newer_app_is_refused(tmp_path: Path) -> None:
    newer = SqliteDatabase(tmp_path / "web.sqlite3", [*MIGRATIONS, Migration(99, "future", "SELECT 1")])
    newer.migrate()
    with pytest.raises(ConfigError, match="schema version 99"):
        SqliteDatabase(tmp_path / "web.sqlite3").migrate()


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    broken = Migration(3, "broken", "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1)")
    db = SqliteDatabase(tmp_path / "web.sqlite3", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        db.migrate()
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):  # and every later use says so again
        db.run("SELECT 1")
    con = sqlite3.connect(db.path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half" not in tables and "staff_accounts" in tables
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 2
    con.close()


def test_command_line_user_is_an_admin() -> None:
    me = command_line_user()
    assert me.role == Role.ADMIN and me.name.startswith("kommandoraden")


def test_audit_entries_past_their_retention_are_purged(service) -> None:  # type: ignore[no-untyped-def]
    now = [utc_now()]
    staff = staff_with_accounts(service.settings, {}, clock=lambda: now[0], audit_retention_days=30)
    staff.repo.db.run("DELETE FROM audit_log")  # type: ignore[attr-defined]
    staff.audit(admin(), AuditAction.VIEW_LOG, detail="gammal")
    now[0] += dt.timedelta(days=29)
    staff.audit(admin(), AuditAction.VIEW_LOG, detail="ny")
    now[0] += dt.timedelta(days=2)
    assert staff.purge_expired().audit_entries == 1
    assert [e.detail for e in staff.repo.audit_entries()] == ["ny"]
