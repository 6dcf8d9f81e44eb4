"""Named staff accounts with roles, server-side sessions, sign-in throttling and the audit trail.

Two layers:

- :class:`rag.web.staff_repository.StaffRepository` — the storage interface (accounts, sessions, sign-in failures,
  audit entries), SQLite today beside feedback; a PostgreSQL implementation joins in that module's factory.
- :class:`StaffDirectory` — the rules: argon2 password hashes, who may do what (:data:`ROLE_PERMISSIONS`), sign-in
  with throttling, sessions, and one audit entry for every action. The console, the sign-in routes and the `rag staff`
  command line all go through it.

The audit trail never holds resident personal data unredacted: every free text that lands in it goes through
:func:`rag.privacy.redact`, and a name typed at sign-in that is no account is not stored at all (people type their
password into the name field).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rag.errors import RagError
from rag.privacy import redact
from rag.web.database import iso, utc_now
from rag.web.staff_repository import (
    AuditEntry,
    Role,
    StaffAccount,
    StaffPurged,
    StaffRepository,
    StoredAccount,
)

log = logging.getLogger(__name__)


class Permission(StrEnum):
    INSPECT = "inspect"  # ask and explain, check an answer, read feedback and the log, export feedback
    REINDEX = "reindex"
    MANAGE_ACCOUNTS = "manage_accounts"
    VIEW_AUDIT = "view_audit"
    PURGE_LOGS = "purge_logs"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GRANSKARE: frozenset({Permission.INSPECT}),
    Role.ADMIN: frozenset(Permission),
}

ROLE_SV = {
    Role.GRANSKARE: "granskar svar, återkoppling och samtalslogg; exporterar återkoppling",
    Role.ADMIN: "allt en granskare gör, och indexerar om, hanterar konton, läser granskningsloggen, rensar loggar",
}


class AuditAction(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    ASK = "ask"
    EXPLAIN = "explain"
    CHECK_ANSWER = "check_answer"
    VIEW_FEEDBACK = "view_feedback"
    VIEW_LOG = "view_log"
    EXPORT_FEEDBACK = "export_feedback"
    REINDEX = "reindex"
    VIEW_ACCOUNTS = "view_accounts"
    ACCOUNT_ADD = "account_add"
    ACCOUNT_REMOVE = "account_remove"
    ACCOUNT_PASSWORD = "account_password"
    ACCOUNT_ROLE = "account_role"
    PURGE_LOGS = "purge_logs"
    VIEW_AUDIT = "view_audit"
    VIEW_DOCUMENT = "view_document"


AUDIT_SV = {
    AuditAction.SIGN_IN: "Inloggning",
    AuditAction.SIGN_IN_FAILED: "Misslyckad inloggning",
    AuditAction.SIGN_OUT: "Utloggning",
    AuditAction.ASK: "Fråga och förklara",
    AuditAction.EXPLAIN: "Förklara loggat svar",
    AuditAction.CHECK_ANSWER: "Kontrollera ett svar",
    AuditAction.VIEW_FEEDBACK: "Visa återkoppling",
    AuditAction.VIEW_LOG: "Visa samtalsloggen",
    AuditAction.EXPORT_FEEDBACK: "Exportera återkoppling",
    AuditAction.REINDEX: "Indexera om",
    AuditAction.VIEW_ACCOUNTS: "Visa konton",
    AuditAction.ACCOUNT_ADD: "Lägg till konto",
    AuditAction.ACCOUNT_REMOVE: "Ta bort konto",
    AuditAction.ACCOUNT_PASSWORD: "Byt lösenord",
    AuditAction.ACCOUNT_ROLE: "Byt roll",
    AuditAction.PURGE_LOGS: "Rensa loggar",
    AuditAction.VIEW_AUDIT: "Visa granskningsloggen",
    AuditAction.VIEW_DOCUMENT: "Visa dokument",
}

OK, DENIED, FAILED = "ok", "nekad", "misslyckad"
UNKNOWN_ACCOUNT = "(okänt konto)"
MAX_DETAIL_CHARS = 300
NAME_RE = re.compile(r"^[a-z0-9åäö][a-z0-9åäö._-]{1,39}$")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256


class StaffError(RagError):
    """A staff account operation that cannot be done; the message (Swedish) says why and what to do."""


class AccessDenied(StaffError):
    def __init__(self, user: StaffUser, permission: Permission) -> None:
        super().__init__(
            f"Din roll ({user.role}) får inte göra detta. Be en administratör om hjälp."
            if permission != Permission.INSPECT
            else "Du har inte behörighet."
        )
        self.user = user
        self.permission = permission


@dataclass(frozen=True)
class StaffUser:
    """Who is acting: a signed-in account, or the command line (an operator with access to the server)."""

    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def command_line_user() -> StaffUser:
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "okänd"
    return StaffUser(f"kommandoraden ({who})", Role.ADMIN)


class Passwords:
    """argon2id password hashes (argon2-cffi). Defaults are the library's (RFC 9106 low-memory profile: 64 MiB,
    3 passes); tests pass cheaper parameters. A hash made with older parameters is replaced at the next sign-in."""

    def __init__(
        self, *, time_cost: int | None = None, memory_kib: int | None = None, parallelism: int | None = None
    ) -> None:
        self._params: dict[str, Any] = {
            k: v
            for k, v in (("time_cost", time_cost), ("memory_cost", memory_kib), ("parallelism", parallelism))
            if v is not None
        }
        self._hasher: Any = None
        self._dummy: str | None = None

    @property
    def hasher(self) -> Any:
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher(**self._params)
        return self._hasher

    def hash(self, password: str) -> str:
        return str(self.hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self.hasher.check_needs_rehash(password_hash))
        except Exception:  # an unreadable hash: replace it
            return True

    def spend_time(self, password: str) -> None:
        """Verify against a throw-away hash, so an unknown name takes as long as a wrong password."""
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)


def normalise_name(name: str) -> str:
    return unicodedata.normalize("NFC", (name or "").strip().lower())


def check_name(name: str) -> str:
    n = normalise_name(name)
    if not NAME_RE.match(n):
        raise StaffError(
            f"Ogiltigt kontonamn {name!r}: 2–40 tecken, små bokstäver a–ö, siffror, punkt, bindestreck eller "
            "understreck, och det första tecknet en bokstav eller siffra (till exempel anna.svensson)."
        )
    return n


def check_password(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise StaffError(
            f"Lösenordet är för kort ({len(password)} tecken): välj minst {MIN_PASSWORD_CHARS} tecken, gärna "
            "flera ord."
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise StaffError(f"Lösenordet är för långt: högst {MAX_PASSWORD_CHARS} tecken.")
    if normalise_name(password) == name:
        raise StaffError("Lösenordet får inte vara kontonamnet.")


def parse_role(role: str) -> Role:
    try:
        return Role((role or "").strip().lower())
    except ValueError:
        raise StaffError(f"Okänd roll {role!r}: välj {' eller '.join(r.value for r in Role)}.") from None


def audit_text(text: str) -> str:
    """Free text as the audit trail keeps it: personal data redacted, one line, bounded."""
    flat = " ".join(redact(text or "").split())
    return flat if len(flat) <= MAX_DETAIL_CHARS else flat[: MAX_DETAIL_CHARS - 1] + "…"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a session token and the user, or why not (``wrong`` or ``throttled``)."""

    token: str | None = None
    user: StaffUser | None = None
    refused: str = ""


class StaffDirectory:
    """Accounts, sessions, throttling and the audit trail over one repository. Thread-safe (the repository is)."""

    def __init__(
        self,
        repo: StaffRepository,
        passwords: Passwords | None = None,
        *,
        session_hours: float = 8.0,
        max_sign_in_failures: int = 5,
        sign_in_window_s: float = 300.0,
        audit_retention_days: int = 365,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if session_hours <= 0 or max_sign_in_failures <= 0 or sign_in_window_s <= 0:
            raise ValueError(
                "session_hours, max_sign_in_failures and sign_in_window_s must be greater than 0"
            )
        if audit_retention_days <= 0:
            raise ValueError(f"audit_retention_days must be greater than 0, got {audit_retention_days}")
        self.repo = repo
        self.passwords = passwords or Passwords()
        self.session_hours = session_hours
        self.max_sign_in_failures = max_sign_in_failures
        self.sign_in_window_s = sign_in_window_s
        self.audit_retention_days = audit_retention_days
        self.clock = clock

    # --- the audit trail ------------------------------------------------------------------------------------
    def audit(
        self,
        user: StaffUser | None,
        action: AuditAction,
        *,
        target: str = "",
        detail: str = "",
        outcome: str = OK,
    ) -> None:
        self.repo.append_audit(
            AuditEntry(
                created=iso(self.clock()),
                actor=user.name if user else UNKNOWN_ACCOUNT,
                role=user.role.value if user else "",
                action=action.value,
                target=audit_text(target),
                detail=audit_text(detail),
                outcome=outcome,
            )
        )

    def require(self, user: StaffUser, permission: Permission, action: AuditAction, target: str = "") -> None:
        """Raise AccessDenied (and record the refusal) unless the user's role allows the permission."""
        if not user.can(permission):
            self.audit(user, action, target=target, detail="rollen saknar behörighet", outcome=DENIED)
            log.warning("staff action refused: role %s may not %s", user.role, action)
            raise AccessDenied(user, permission)

    def audit_log(
        self, user: StaffUser, *, actor: str = "", action: str = "", limit: int = 500
    ) -> list[AuditEntry]:
        self.require(user, Permission.VIEW_AUDIT, AuditAction.VIEW_AUDIT)
        entries = self.repo.audit_entries(actor=normalise_name(actor), action=action, limit=limit)
        self.audit(user, AuditAction.VIEW_AUDIT, detail=describe_filters(konto=actor, handling=action))
        return entries

    # --- accounts -----------------------------------------------------------------------------------------
    def has_accounts(self) -> bool:
        return bool(self.repo.accounts())

    def accounts(self, user: StaffUser) -> list[StaffAccount]:
        self.require(user, Permission.MANAGE_ACCOUNTS, AuditAction.VIEW_ACCOUNTS)
        accounts = self.repo.accounts()
        self.audit(user, AuditAction.VIEW_ACCOUNTS, detail=f"{len(accounts)} konton")
        return accounts

    def add(self, user: StaffUser, name: str, role: Role | str, password: str) -> StaffAccount:
        self.require(user, Permission.MANAGE_ACCOUNTS, AuditAction.ACCOUNT_ADD, name)
        name, role = check_name(name), parse_role(role) if isinstance(role, str) else role
        check_password(password, name)
        now = iso(self.clock())
        account = StaffAccount(name=name, role=role, created=now, password_changed=now)
        if not self.repo.create_account(account, self.passwords.hash(password)):
            self.audit(user, AuditAction.ACCOUNT_ADD, target=name, detail="finns redan", outcome=FAILED)
            raise StaffError(f"Kontot {name} finns redan. Byt lösenord med: rag staff password {name}")
        self.audit(user, AuditAction.ACCOUNT_ADD, target=name, detail=f"roll {role.value}")
        log.info("staff account added (%s)", role.value)
        return account

    def remove(self, user: StaffUser, name: str) -> None:
        self.require(user, Permission.MANAGE_ACCOUNTS, AuditAction.ACCOUNT_REMOVE, name)
        stored = self._existing(user, AuditAction.ACCOUNT_REMOVE, name)
        if stored.account.role == Role.ADMIN:
            self._keep_an_admin(user, AuditAction.ACCOUNT_REMOVE, stored.account.name)
        self.repo.delete_account(stored.account.name)
        self.audit(user, AuditAction.ACCOUNT_REMOVE, target=stored.account.name)

    def set_password(self, user: StaffUser, name: str, password: str) -> None:
        self.require(user, Permission.MANAGE_ACCOUNTS, AuditAction.ACCOUNT_PASSWORD, name)
        stored = self._existing(user, AuditAction.ACCOUNT_PASSWORD, name)
        check_password(password, stored.account.name)
        self.repo.set_password_hash(stored.account.name, self.passwords.hash(password), iso(self.clock()))
        ended = self.repo.delete_sessions_of(stored.account.name)
        self.audit(
            user,
            AuditAction.ACCOUNT_PASSWORD,
            target=stored.account.name,
            detail=f"{ended} sessioner avslutade",
        )

    def set_role(self, user: StaffUser, name: str, role: Role | str) -> None:
        self.require(user, Permission.MANAGE_ACCOUNTS, AuditAction.ACCOUNT_ROLE, name)
        new = parse_role(role) if isinstance(role, str) else role
        stored = self._existing(user, AuditAction.ACCOUNT_ROLE, name)
        if stored.account.role == Role.ADMIN and new != Role.ADMIN:
            self._keep_an_admin(user, AuditAction.ACCOUNT_ROLE, stored.account.name)
        self.repo.set_role(stored.account.name, new)
        self.audit(
            user,
            AuditAction.ACCOUNT_ROLE,
            target=stored.account.name,
            detail=f"{stored.account.role.value} → {new.value}",
        )

    def _existing(self, user: StaffUser, action: AuditAction, name: str) -> StoredAccount:
        stored = self.repo.account(normalise_name(name))
        if stored is None:
            self.audit(user, action, target=name, detail="kontot finns inte", outcome=FAILED)
            raise StaffError(f"Det finns inget konto som heter {name!r}. Se kontona med: rag staff list")
        return stored

    def _keep_an_admin(self, user: StaffUser, action: AuditAction, name: str) -> None:
        if sum(a.role == Role.ADMIN for a in self.repo.accounts()) <= 1:
            self.audit(user, action, target=name, detail="sista administratören", outcome=FAILED)
            raise StaffError(
                f"{name} är den enda administratören. Lägg först till en annan administratör, så att någon "
                "kan hantera konton och indexera om."
            )

    # --- sign-in and sessions ---------------------------------------------------------------------------------
    def throttled(self, client: str) -> bool:
        since = iso(self.clock() - dt.timedelta(seconds=self.sign_in_window_s))
        return self.repo.sign_in_failures(_client_key(client), since) >= self.max_sign_in_failures

    def sign_in(self, name: str, password: str, client: str) -> SignIn:
        """A new session for the right name and password; every attempt is in the audit trail."""
        key = _client_key(client)
        stored = self.repo.account(normalise_name(name)) if name else None
        user = StaffUser(stored.account.name, stored.account.role) if stored else None
        if self.throttled(client):
            self.audit(user, AuditAction.SIGN_IN_FAILED, detail="för många försök", outcome=DENIED)
            return SignIn(refused="throttled")
        if stored is None or user is None:
            self.passwords.spend_time(password)
            ok = False
        else:
            ok = self.passwords.verify(stored.password_hash, password)
        if not ok:
            self.repo.add_sign_in_failure(key, iso(self.clock()))
            why = "fel lösenord" if stored else "okänt kontonamn"
            self.audit(user, AuditAction.SIGN_IN_FAILED, detail=why, outcome=FAILED)
            log.warning("staff sign-in failed")
            return SignIn(refused="wrong")
        assert stored is not None and user is not None
        if self.passwords.needs_rehash(stored.password_hash):
            self.repo.set_password_hash(
                user.name, self.passwords.hash(password), stored.account.password_changed
            )
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.repo.create_session(
            _token_hash(token), user.name, iso(now), iso(now + dt.timedelta(hours=self.session_hours))
        )
        self.repo.clear_sign_in_failures(key)
        self.audit(user, AuditAction.SIGN_IN)
        log.info("staff signed in (%s)", user.role.value)
        return SignIn(token=token, user=user)

    def user_for_token(self, token: str | None) -> StaffUser | None:
        if not token:
            return None
        account = self.repo.session_account(_token_hash(token), iso(self.clock()))
        return StaffUser(account.name, account.role) if account else None

    def sign_out(self, token: str | None) -> None:
        user = self.user_for_token(token)
        if token:
            self.repo.delete_session(_token_hash(token))
        if user:
            self.audit(user, AuditAction.SIGN_OUT)

    # --- retention ------------------------------------------------------------------------------------------
    def purge_expired(self) -> StaffPurged:
        """Expired sessions, sign-in failures past their window, audit entries past their retention."""
        now = self.clock()
        return self.repo.purge(
            now=iso(now),
            failures_before=iso(now - dt.timedelta(seconds=self.sign_in_window_s)),
            audit_before=iso(now - dt.timedelta(days=self.audit_retention_days)),
        )


def _token_hash(token: str) -> str:
    """Sessions are stored by the hash of their token: a copy of the database signs no one in."""
    return hashlib.sha256(token.encode()).hexdigest()


def _client_key(client: str) -> str:
    """Throttling counts per client address, stored hashed (it is only compared, never read back)."""
    return hashlib.sha256(f"rag-sign-in:{client}".encode()).hexdigest()[:32]


def describe_filters(**filters: Any) -> str:
    """Filters as one audit detail, e.g. 'betyg=-1, sok=parkering' (the empty ones left out)."""
    return ", ".join(f"{k}={v}" for k, v in filters.items() if v not in (None, "", False))
