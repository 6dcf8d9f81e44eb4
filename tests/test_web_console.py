"""Staff console access, the document viewer's path checks, the feedback store and the chat/console handlers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.checking import check_answer
from rag.web import WebSettings, create_app
from rag.web.auth import COOKIE, LOGIN_PATH
from rag.web.fakes import fake_service, staff_with_accounts
from rag.web.feedback import WebStore, redact_keeping
from rag.web.staff import Role

NAME, PASSWORD = "granskare.ett", "test-lösenord-långt"
PHONE_Q = "Vilket telefonnummer har kontaktcenter?"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console")


@pytest.fixture(scope="module")
def client(workdir: Path) -> TestClient:
    service = fake_service(workdir)
    staff = staff_with_accounts(service.settings, {NAME: (Role.GRANSKARE, PASSWORD)})
    return TestClient(create_app(service, web=WebSettings(warm_up=False), staff=staff))


def sign_in(client: TestClient, password: str = PASSWORD, name: str = NAME):  # type: ignore[no-untyped-def]
    return client.post(LOGIN_PATH, data={"namn": name, "losenord": password}, follow_redirects=False)


# --- sign-in ----------------------------------------------------------------------------------------------------
def test_console_refuses_without_sign_in(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/personal/", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == LOGIN_PATH
    config = client.get("/personal/config")
    assert config.status_code == 401 and config.json()["error"]["code"] == "not_signed_in"
    api = client.post("/personal/gradio_api/queue/join", json={})
    assert api.status_code == 401


def test_wrong_password_is_refused_and_right_one_signs_in(client: TestClient) -> None:
    client.cookies.clear()
    bad = sign_in(client, "fel-lösenord")
    assert bad.status_code == 401 and "Fel användarnamn eller lösenord" in bad.text
    unknown = sign_in(client, PASSWORD, name="finns.inte")
    # an unknown name and a wrong password look the same (the typed name is shown back, never the password)
    assert unknown.status_code == 401 and unknown.text.replace("finns.inte", NAME) == bad.text
    assert "fel-lösenord" not in bad.text
    good = sign_in(client)
    assert good.status_code == 303 and good.headers["location"] == "/personal/"
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/personal" in cookie
    page = client.get("/personal/", headers={"accept": "text/html"})
    assert page.status_code == 200 and "Personalkonsol" in page.text
    client.get("/personal/logga-ut")
    client.cookies.clear()
    assert client.get("/personal/config").status_code == 401


def test_forged_cookie_is_refused(client: TestClient) -> None:
    client.cookies.clear()
    client.cookies.set(COOKIE, "forged-token", path="/personal")
    assert client.get("/personal/config").status_code == 401
    client.cookies.clear()


def test_repeated_failures_are_throttled(workdir: Path) -> None:
    service = fake_service(workdir)
    staff = staff_with_accounts(service.settings, {NAME: (Role.GRANSKARE, PASSWORD)}, max_sign_in_failures=3)
    client = TestClient(create_app(service, web=WebSettings(warm_up=False), staff=staff))
    for _ in range(3):
        assert sign_in(client, "fel-lösenord-igen").status_code == 401
    blocked = sign_in(client)  # even the right password waits out the window
    assert blocked.status_code == 429 and "För många" in blocked.text


def test_console_without_accounts_refuses_and_says_how(tmp_path: Path) -> None:
    service = fake_service(tmp_path)
    client = TestClient(create_app(service, web=WebSettings(warm_up=False)))
    page = client.get("/personal/", headers={"accept": "text/html"})
    assert page.status_code == 503 and "rag staff add" in page.text and "--role admin" in page.text
    assert client.get(LOGIN_PATH).status_code == 503
    assert sign_in(client, "vad-som-helst").status_code == 503
    assert client.get("/personal/config").status_code == 503


def test_resident_chat_page_is_public(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/")
    assert page.status_code == 200


# --- document viewer ---------------------------------------------------------------------------------------------
def test_document_viewer_shows_a_corpus_document_and_marks_the_passage(client: TestClient) -> None:
    data = client.post("/api/ask", json={"question": PHONE_Q}).json()
    cited = data["citations"][0]
    resp = client.get(f"/dokument/{cited['source']}", params={"stycke": cited["chunk_id"]})
    assert resp.status_code == 200
    assert '<mark id="stycke"' in resp.text and cited["title"] in resp.text
    assert resp.headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.parametrize(
    "path",
    [
        "/dokument/../../../../etc/passwd",
        "/dokument/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/dokument/%2Fetc%2Fpasswd",
        "/dokument//etc/passwd",
        "/dokument/..%5C..%5Cetc%5Cpasswd",
        "/dokument/metadata.json",
        "/dokument/finns-inte.txt",
        "/dokument/%00.txt",
        "/dokument/",
    ],
)
def test_document_viewer_refuses_paths_outside_the_corpus(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    assert "root:" not in resp.text


def test_document_viewer_refuses_symlink_out_of_corpus(workdir: Path, client: TestClient) -> None:
    secret = workdir / "hemlig.txt"
    secret.write_text("HEMLIGT innehåll utanför korpusen", encoding="utf-8")
    link = workdir / "corpus" / "lank.txt"
    link.symlink_to(secret)
    try:
        resp = client.get("/dokument/lank.txt")
        assert resp.status_code == 404 and "HEMLIGT" not in resp.text
        assert client.get("/dokument/../hemlig.txt").status_code == 404
    finally:
        link.unlink()


# --- feedback store ------------------------------------------------------------------------------------------------
def test_feedback_survives_recreating_the_app(tmp_path: Path) -> None:
    service = fake_service(tmp_path, script="Prata med en kommunvägledare på telefon 042-10 50 00.")
    web = WebSettings(warm_up=False)
    first = TestClient(create_app(service, web=web))
    data = first.post("/api/ask", json={"question": PHONE_Q}).json()
    private = first.post("/api/ask", json={"question": "Mitt nummer är 070-123 45 67, ring mig."}).json()
    stored = first.post(
        "/api/feedback",
        json={
            "answer_id": data["answer_id"],
            "rating": -1,
            "comment": "Maila mig på anna@example.se, pnr 19800101-1234",
        },
    )
    assert stored.status_code == 201
    # a new app (as after a restart) over the same data folder still has it
    store = WebStore(service.settings.data_dir / "web.sqlite3")
    create_app(service, web=web, store=store)
    rows = store.feedback(rating=-1)
    assert len(rows) == 1
    row = rows[0]
    assert row.answer_id == data["answer_id"] and row.rating == -1
    assert "anna@example.se" not in row.comment and "[e-post]" in row.comment
    assert "19800101-1234" not in row.comment and "[personnummer]" in row.comment
    assert row.question == PHONE_Q and row.citations and row.citations[0]["title"]
    assert "042-10 50 00" in row.answer  # public facts from the cited documents are kept
    conv = store.conversation(private["answer_id"])
    assert conv is not None and "070-123 45 67" not in str(conv.details)
    assert conv.question == "Mitt nummer är [telefonnummer], ring mig."
    assert store.feedback(rating=1) == [] and store.feedback(with_comment=True)
    assert store.feedback(search="example") == []  # the e-mail is gone for good


def test_redact_keeping_keeps_only_public_strings() -> None:
    text = "Ring 042-10 50 00 eller 070-123 45 67."
    assert redact_keeping(text, ["telefon 042-10 50 00"]) == "Ring 042-10 50 00 eller [telefonnummer]."


def test_retention_deletes_old_rows(tmp_path: Path) -> None:
    store = WebStore(tmp_path / "db.sqlite3", retention_days=1)
    store.db.migrate()
    store._run(
        "INSERT INTO feedback (created, answer_id, rating, comment, question, answer, citations) "
        "VALUES ('2000-01-01T00:00:00+00:00', NULL, 1, '', '', '', '[]')"
    )
    assert len(store.feedback()) == 1
    store.purge_expired()
    assert store.feedback() == []


# --- check an answer ----------------------------------------------------------------------------------------------
def test_check_answer_flags_unsupported_sentences_and_missing_facts(workdir: Path) -> None:
    service = fake_service(workdir)
    result = check_answer(
        service,
        PHONE_Q,
        "Ring kontaktcenter på telefon 042-10 50 00. "
        "Kontaktcenter har telefon 040-999 99 99 och öppet dygnet runt.",
    )
    assert [s.supported for s in result.sentences] == [True, False]
    assert "040-999 99 99" in result.facts_not_found
    assert "042-10 50 00" not in result.facts_not_found
