"""The staff console (Gradio, behind sign-in): explain any answer, check a drafted answer, read and export feedback,
read the redacted conversation log; admins also re-index the corpus, manage staff accounts and read the audit trail.

Every handler finds the signed-in account from the request's session and goes through
:class:`rag.web.console_actions.ConsoleActions`, which checks the role and writes the audit entry; tabs a role may not
use are hidden as well, but hiding is not what protects them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape
from typing import Any, Literal
from urllib.parse import urlencode

import gradio as gr
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from rag.errors import RagError
from rag.privacy import redact
from rag.repair import restored_words
from rag.web.auth import CONSOLE_PATH, LOGOUT_PATH, session_user
from rag.web.console_actions import ConsoleActions
from rag.web.gate import BUSY_SV, QueueFull
from rag.web.render import marked_unit, md_escape
from rag.web.staff import AUDIT_SV, AccessDenied, AuditAction, Permission, Role, StaffError, StaffUser

log = logging.getLogger(__name__)

TITLE = "Personalkonsol – Fråga Helsingborgs stad"
PASSAGE_HEADERS = [
    "#",
    "Fusionerad",
    "Dense (rank)",
    "Lexikal (rank)",
    "I prompten",
    "Dokument",
    "Stycke",
    "Text",
]
SENTENCE_HEADERS = [
    "Stöds",
    "Mening",
    "Ordöverlapp",
    "Bästa stycke",
    "Bindande enhet (fetstilt: det som binder)",
    "Fakta som saknas",
    "Skäl",
]
SENTENCE_TYPES: list[Literal["str", "markdown"]] = ["str", "str", "str", "str", "markdown", "str", "str"]
FEEDBACK_HEADERS = ["Tid (UTC)", "Betyg", "Kommentar", "Fråga", "Svar", "Källor", "Svar-id"]
LOG_HEADERS = ["Tid (UTC)", "Kanal", "Fråga (maskad)", "Svar", "Avböjt", "Svar-id"]
ACCOUNT_HEADERS = ["Konto", "Roll", "Skapat (UTC)", "Lösenord bytt (UTC)"]
AUDIT_HEADERS = ["Tid (UTC)", "Vem", "Roll", "Handling", "Gäller", "Detaljer", "Utfall"]
EXPORT_PATH = f"{CONSOLE_PATH}/export/aterkoppling.csv"
SIGNED_OUT = "Din inloggning har gått ut. Logga in igen."
PASSAGE_WIDTHS: list[str | int] = ["4%", "9%", "11%", "11%", "7%", "18%", "12%", "28%"]
SENTENCE_WIDTHS: list[str | int] = ["7%", "27%", "7%", "13%", "24%", "9%", "13%"]
RATINGS = {"Alla": None, "👍 Till hjälp": 1, "👎 Inte till hjälp": -1}
CSS = """
#konsol-rubrik{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:.5rem}
#konsol-rubrik h1{font-size:1.4rem;margin:0}
:focus-visible{outline:3px solid #0b5cad!important;outline-offset:2px}
"""


def _fmt(score: Any, rank: Any) -> str:
    if score is None and rank is None:
        return "–"
    s = "–" if score is None else f"{float(score):.4f}"
    return f"{s} ({rank})" if rank is not None else s


def explain(
    details: dict[str, Any], context_k: int
) -> tuple[str, list[list[Any]], list[list[Any]], list[list[Any]], str]:
    """Console views of one answer (Answer.to_json_dict(debug=True), live or from the log)."""
    status = (
        "Avböjt"
        if details.get("refused")
        else ("Citat ur bästa stycket" if details.get("fallback") else "Besvarat")
    )
    conf = details.get("confidence")
    summary = (
        f"**Fråga:** {md_escape(details.get('question', ''), as_typed=True)}\n\n"
        f"**Svar:** {md_escape(details.get('answer', ''))}\n\n"
        f"**Läge:** {status}"
        + (f" ({details['refusal_reason']})" if details.get("refusal_reason") else "")
        + f" · Relevans: {'–' if conf is None else f'{conf:.3f}'}"
        + f" · Språkmodellen anropad: {'ja' if details.get('llm_called') else 'nej'}"
        + f" · Genererade token: {details.get('tokens_generated', 0)}"
    )
    cited = {c["chunk_id"]: c["n"] for c in details.get("citations", [])}
    passages = []
    for i, p in enumerate(details.get("passages", []), 1):
        scores, ranks = p.get("scores", {}), p.get("ranks", {})
        n = cited.get(p["chunk_id"])
        passages.append(
            [
                i,
                f"{p.get('score', 0):.4f}",
                _fmt(scores.get("dense"), ranks.get("dense")),
                _fmt(scores.get("lexical"), ranks.get("lexical")),
                "ja" if i <= context_k and details.get("llm_called") else "nej",
                p.get("source") + (f", s. {p['page']}" if p.get("page") else ""),
                p["chunk_id"].split("#", 1)[-1] + (f" [{n}]" if n else ""),
                " ".join(p.get("text", "").split())[:240],
            ]
        )
    sentences = [
        [
            "✓ ja" if s["supported"] else "✗ nej",
            s["text"],
            f"{s['support']:.0%}",
            s.get("chunk_id") or "–",
            marked_unit(s.get("unit"), s.get("bound", [])),
            ", ".join(s.get("missing_facts", [])) or "–",
            s.get("reason", ""),
        ]
        for s in details.get("sentences", [])
    ]
    timings = [[k, f"{v:.1f}"] for k, v in details.get("timings_ms", {}).items()]
    return (
        summary,
        passages,
        sentences,
        timings,
        details.get("prompt") or "(Ingen prompt: språkmodellen anropades inte.)",
    )


def export_link(rating: str, with_comment: bool, search: str, since: str) -> str:
    query = urlencode(
        {
            k: v
            for k, v in (
                ("betyg", RATINGS.get(rating) or ""),
                ("kommentar", "1" if with_comment else ""),
                ("sok", search.strip()),
                ("fran", since.strip()),
            )
            if v
        }
    )
    href = EXPORT_PATH + (f"?{query}" if query else "")
    return (
        f'<p><a href="{escape(href)}" download>Exportera återkopplingen som CSV</a> '
        "(med fråga, svar och källor, maskat som i loggen; urvalet ovan gäller)</p>"
    )


def make_export_router(actions: ConsoleActions) -> APIRouter:
    """GET /personal/export/aterkoppling.csv?betyg=&kommentar=&sok=&fran= (behind the console's sign-in)."""
    router = APIRouter()

    @router.get(EXPORT_PATH, include_in_schema=False)
    async def export(request: Request) -> Response:
        user = await run_in_threadpool(session_user, actions.staff, request)
        if user is None:  # StaffGuard lets no one without a session this far; a session may just have ended
            return Response(SIGNED_OUT, status_code=401, media_type="text/plain; charset=utf-8")
        q = request.query_params
        rating = {"1": 1, "-1": -1}.get(q.get("betyg", ""))
        try:
            body = await run_in_threadpool(
                lambda: actions.export_feedback(
                    user,
                    rating=rating,
                    with_comment=q.get("kommentar") == "1",
                    search=q.get("sok", ""),
                    since=q.get("fran", ""),
                )
            )
        except AccessDenied as exc:
            return Response(str(exc), status_code=403, media_type="text/plain; charset=utf-8")
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="aterkoppling.csv"',
                "Cache-Control": "no-store",
            },
        )

    return router


def build_console(actions: ConsoleActions) -> gr.Blocks:
    settings = actions.settings

    def who(request: gr.Request | None) -> StaffUser | None:
        return (
            session_user(actions.staff, request.request) if request is not None and request.request else None
        )

    def ask(question: str, request: gr.Request) -> tuple[Any, ...]:
        user = who(request)
        if user is None:
            return (SIGNED_OUT, [], [], [], "", "")
        if not (question or "").strip():
            return ("Skriv en fråga.", [], [], [], "", "")
        try:
            final = actions.ask(user, question)
        except QueueFull:
            return (BUSY_SV, [], [], [], "", "")
        except RagError as exc:
            return (f"Fel: {md_escape(str(exc))}", [], [], [], "", "")
        details = final.answer.to_json_dict(debug=True)
        return (*explain(details, settings.context_k), final.answer_id or "")

    def explain_logged(answer_id: str, request: gr.Request) -> tuple[Any, ...]:
        user = who(request)
        if user is None:
            return (SIGNED_OUT, [], [], [], "", answer_id)
        row = actions.explain(user, answer_id)
        if row is None:
            return (f"Hittar inget svar med id {md_escape(repr(answer_id))}.", [], [], [], "", answer_id)
        return (*explain(row.details, settings.context_k), row.id)

    def check(question: str, draft: str, request: gr.Request) -> tuple[str, list[list[Any]]]:
        user = who(request)
        if user is None:
            return SIGNED_OUT, []
        if not (draft or "").strip():
            return "Klistra in ett svarsutkast att kontrollera.", []
        try:
            result = actions.check(user, question, draft)
        except RagError as exc:
            return f"Fel: {md_escape(str(exc))}", []
        titles = {p.chunk_id: p.title for p in result.passages}
        rows = [
            [
                "✓ stöds" if s.supported else "✗ stöds inte",
                s.text,
                f"{s.support:.0%}",
                f"{titles.get(s.chunk_id or '', '–')} ({s.chunk_id})" if s.chunk_id else "–",
                marked_unit(s.unit, s.bound),
                ", ".join(s.missing_facts) or "–",
                s.reason,
            ]
            for s in result.sentences
        ]
        n = len(result.sentences)
        summary = f"**{result.supported} av {n} meningar stöds av stadens dokument.**"
        if result.facts_not_found:
            summary += " Fakta som inget stycke innehåller: " + ", ".join(
                md_escape(f) for f in result.facts_not_found
            )
        else:
            summary += " Alla siffror, datum och namn i utkastet finns i något stycke."
        return summary, rows

    def feedback_list(
        rating: str, with_comment: bool, search: str, since: str, request: gr.Request
    ) -> tuple[list[list[Any]], str]:
        user = who(request)
        if user is None:
            return [], SIGNED_OUT
        rows = actions.feedback(
            user, rating=RATINGS.get(rating), with_comment=with_comment, search=search, since=since
        )
        table = [
            [
                r.created,
                "👍" if r.rating > 0 else "👎",
                r.comment,
                r.question,
                r.answer,
                "; ".join(f"[{c['n']}] {c['title']}" for c in r.citations),
                r.answer_id or "",
            ]
            for r in rows
        ]
        return table, export_link(rating, with_comment, search, since)

    def conversation_list(search: str, request: gr.Request) -> list[list[Any]]:
        user = who(request)
        if user is None:
            return []
        return [
            [r.created, r.channel, redact(r.question), r.answer, "ja" if r.refused else "nej", r.id]
            for r in actions.conversations(user, search)
        ]

    def reindex(request: gr.Request, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 - Gradio's idiom
        user = who(request)
        if user is None:
            return SIGNED_OUT
        progress(0, desc="Läser dokumenten…")

        def bar(desc: str, unit: str) -> Callable[[int], Callable[[int], None]]:
            def factory(total: int) -> Callable[[int], None]:
                done = [0]

                def advance(n: int) -> None:
                    done[0] += n
                    progress((done[0], total), desc=desc, unit=unit)

                return advance

            return factory

        try:
            report = actions.reindex(
                user,
                progress=bar("Bäddar in textstycken", "stycken"),
                ocr_progress=bar("Läser skannade sidor (OCR)", "sidor"),
            )
        except StaffError as exc:
            return f"**{md_escape(str(exc))}**"
        except RagError as exc:
            return f"**Indexeringen misslyckades:** {md_escape(str(exc))}"
        progress(1.0, desc="Klart")
        lines = [
            f"**Klart på {report.seconds:.1f} s.** Dokument: {len(report.added)} nya, {len(report.changed)} ändrade, "
            f"{len(report.removed)} borttagna, {len(report.unchanged)} oförändrade. "
            f"Inbäddade stycken: {report.chunks_embedded} av {report.chunks_total}.",
        ]
        if report.full_rebuild_reason:
            lines.append(f"Helt omindexerat: {md_escape(report.full_rebuild_reason)}")
        if not report.wrote_index:
            lines.append("Indexet var redan aktuellt; inget skrevs.")
        lines += [
            f"- Hoppade över {md_escape(name)}: {md_escape(reason)}"
            for name, reason in sorted(report.skipped.items())
        ]
        lines += [
            f"- Att kontrollera i {md_escape(name)}: {md_escape(note)}"
            for name, notes in sorted(report.notes.items())
            for note in notes
        ]
        return "\n\n".join(lines)

    def document_sources(request: gr.Request) -> Any:
        user = who(request)
        try:
            sources = actions.documents(user) if user is not None else []
        except RagError:
            sources = []
        return gr.update(choices=sources, value=sources[0] if sources else None)

    def show_document(source: str, request: gr.Request) -> tuple[str, list[list[Any]], str]:
        """A document as indexed: pages, notes from reading it, the words whose å/ä/ö were restored, and
        the text as it was extracted (before the repair)."""
        user = who(request)
        if user is None:
            return SIGNED_OUT, [], ""
        try:
            doc = actions.document(user, source)
        except RagError as exc:
            return f"Fel: {md_escape(str(exc))}", [], ""
        if doc is None:
            return "Välj ett dokument.", [], ""
        facts = [
            f"**{md_escape(doc.title)}** · fil: `{doc.source}`",
            f"Sidor: {len(doc.pages)}" if doc.pages else "Utan sidnummer (inte ett sidindelat format)",
        ]
        facts += [f"- {md_escape(note)}" for note in doc.notes]
        rows: list[list[Any]] = []
        if doc.original_text:
            counts = restored_words(doc.original_text, doc.text)
            facts.append(
                f"Texten hade tappat å, ä och ö vid extraktionen; {sum(counts.values())} ord har rättats. "
                "Originaltexten står nedan."
            )
            rows = [[before, after, n] for (before, after), n in counts.most_common()]
        return "\n\n".join(facts), rows, doc.original_text or doc.text

    # --- accounts and audit (admin) ------------------------------------------------------------------------------
    def account_rows(user: StaffUser) -> list[list[Any]]:
        return [[a.name, a.role.value, a.created, a.password_changed] for a in actions.staff.accounts(user)]

    def list_accounts(request: gr.Request) -> tuple[list[list[Any]], str]:
        user = who(request)
        if user is None:
            return [], SIGNED_OUT
        try:
            return account_rows(user), ""
        except StaffError as exc:
            return [], md_escape(str(exc))

    def change_account(
        what: str, name: str, role: str, password: str, request: gr.Request
    ) -> tuple[list[list[Any]], str, str]:
        user = who(request)
        if user is None:
            return [], SIGNED_OUT, ""
        try:
            if what == "add":
                actions.staff.add(user, name, role, password)
                done = f"Kontot {name} ({role}) är skapat."
            elif what == "password":
                actions.staff.set_password(user, name, password)
                done = f"Lösenordet för {name} är bytt; kontots inloggningar är avslutade."
            elif what == "role":
                actions.staff.set_role(user, name, role)
                done = f"{name} har nu rollen {role}."
            else:
                actions.staff.remove(user, name)
                done = f"Kontot {name} är borttaget."
            return account_rows(user), md_escape(done), ""
        except StaffError as exc:
            rows = account_rows(user) if user.can(Permission.MANAGE_ACCOUNTS) else []
            return rows, f"**{md_escape(str(exc))}**", ""

    def account_handler(what: str) -> Callable[..., tuple[list[list[Any]], str, str]]:
        def handler(
            name: str, role: str, password: str, request: gr.Request
        ) -> tuple[list[list[Any]], str, str]:
            return change_account(what, name, role, password, request)

        return handler

    def audit_list(actor: str, action: str, request: gr.Request) -> tuple[list[list[Any]], str]:
        user = who(request)
        if user is None:
            return [], SIGNED_OUT
        codes = {v: k.value for k, v in AUDIT_SV.items()}
        try:
            entries = actions.staff.audit_log(user, actor=actor, action=codes.get(action, ""))
        except StaffError as exc:
            return [], md_escape(str(exc))
        rows = [
            [
                e.created,
                e.actor,
                e.role,
                AUDIT_SV.get(AuditAction(e.action), e.action) if e.action in AUDIT_SV else e.action,
                e.target,
                e.detail,
                e.outcome,
            ]
            for e in entries
        ]
        return rows, f"{len(rows)} händelser (de senaste först)."

    def on_load(request: gr.Request) -> tuple[Any, ...]:
        user = who(request)
        admin = user is not None and user.role == Role.ADMIN
        name = (
            f"Inloggad som <strong>{escape(user.name)}</strong> ({escape(user.role.value)})" if user else ""
        )
        visible = gr.update(visible=admin)
        return name, visible, visible, visible

    with gr.Blocks(title=TITLE) as demo:
        with gr.Row(elem_id="konsol-rubrik", equal_height=True):
            gr.Markdown(
                "<h1>Personalkonsol</h1><p><a href='/'>Invånarchatten</a> (öppnas i en ny flik)</p>",
                elem_id="konsol-rubrik-text",
            )
            gr.Button(
                "Logga ut",
                link=LOGOUT_PATH,
                link_target="_self",
                variant="secondary",
                size="sm",
                scale=0,
                min_width=110,
                elem_id="logga-ut",
            )
        signed_in = gr.Markdown("", elem_id="inloggad")
        with gr.Tabs():
            with gr.Tab("Fråga och förklara", id="forklara"):
                gr.Markdown(
                    "Ställ en fråga, eller ange ett svar-id från återkopplingen eller samtalsloggen, för att se "
                    "hur svaret kom till: styckena med poäng och rang, prompten, tiderna och stödet för varje "
                    "mening."
                )
                with gr.Row():
                    q = gr.Textbox(label="Fråga", elem_id="konsol-fraga", scale=4)
                    ask_btn = gr.Button("Fråga", variant="primary", elem_id="konsol-fraga-knapp", scale=1)
                with gr.Row():
                    aid = gr.Textbox(label="Svar-id", elem_id="konsol-svar-id", scale=4)
                    aid_btn = gr.Button("Förklara loggat svar", elem_id="konsol-forklara-knapp", scale=1)
                summary = gr.Markdown(elem_id="konsol-sammanfattning")
                passages = gr.Dataframe(
                    headers=PASSAGE_HEADERS,
                    label="Hämtade stycken (poäng och rang per kanal)",
                    column_widths=PASSAGE_WIDTHS,
                    interactive=False,
                    wrap=True,
                    elem_id="konsol-stycken",
                )
                sentences = gr.Dataframe(
                    headers=SENTENCE_HEADERS,
                    datatype=SENTENCE_TYPES,
                    label="Stöd för varje mening",
                    column_widths=SENTENCE_WIDTHS,
                    interactive=False,
                    wrap=True,
                    elem_id="konsol-meningar",
                )
                timings = gr.Dataframe(
                    headers=["Steg", "ms"], label="Tider", interactive=False, elem_id="konsol-tider"
                )
                prompt = gr.Code(
                    "(Ställ en fråga eller ange ett svar-id, så visas prompten här.)",
                    label="Exakt prompt till språkmodellen",
                    language=None,
                    interactive=False,
                    elem_id="konsol-prompt",
                    max_lines=30,
                    wrap_lines=True,
                )
                explain_out = [summary, passages, sentences, timings, prompt, aid]
                ask_btn.click(ask, q, explain_out, api_visibility="private")
                q.submit(ask, q, explain_out, api_visibility="private")
                aid_btn.click(explain_logged, aid, explain_out, api_visibility="private")
                aid.submit(explain_logged, aid, explain_out, api_visibility="private")
            with gr.Tab("Kontrollera ett svar", id="kontrollera"):
                gr.Markdown(
                    "Klistra in frågan och ditt svarsutkast. Varje mening prövas mot stadens dokument: stöds den, "
                    "och vilka fakta saknas i källorna?"
                )
                cq = gr.Textbox(label="Fråga", elem_id="kontroll-fraga")
                draft = gr.Textbox(label="Svarsutkast", lines=5, elem_id="kontroll-utkast")
                check_btn = gr.Button("Kontrollera svaret", variant="primary", elem_id="kontroll-knapp")
                check_summary = gr.Markdown(elem_id="kontroll-resultat")
                check_table = gr.Dataframe(
                    headers=SENTENCE_HEADERS,
                    datatype=SENTENCE_TYPES,
                    label="Meningar",
                    column_widths=SENTENCE_WIDTHS,
                    interactive=False,
                    wrap=True,
                    elem_id="kontroll-tabell",
                )
                check_btn.click(check, [cq, draft], [check_summary, check_table], api_visibility="private")
            with gr.Tab("Återkoppling", id="aterkoppling") as fb_tab:
                with gr.Row():
                    rating = gr.Radio(list(RATINGS), value="Alla", label="Betyg", elem_id="filter-betyg")
                    with_comment = gr.Checkbox(label="Bara med kommentar", elem_id="filter-kommentar")
                    search = gr.Textbox(label="Sök i fråga, svar och kommentar", elem_id="filter-sok")
                    since = gr.Textbox(label="Från datum (ÅÅÅÅ-MM-DD)", elem_id="filter-datum")
                fb_btn = gr.Button("Visa återkoppling", elem_id="visa-aterkoppling")
                fb_export = gr.Markdown(export_link("Alla", False, "", ""), elem_id="exportera")
                fb_table = gr.Dataframe(
                    headers=FEEDBACK_HEADERS,
                    label="Återkoppling",
                    interactive=False,
                    wrap=True,
                    elem_id="aterkoppling-tabell",
                )
                fb_inputs = [rating, with_comment, search, since]
                fb_btn.click(feedback_list, fb_inputs, [fb_table, fb_export], api_visibility="private")
                fb_tab.select(feedback_list, fb_inputs, [fb_table, fb_export], api_visibility="private")
            with gr.Tab("Samtalslogg", id="logg") as log_tab:
                gr.Markdown(
                    "Personuppgifter (personnummer, e-post, telefonnummer) är maskerade innan något sparas. "
                    "Kopiera ett svar-id till fliken *Fråga och förklara* för att se hur svaret kom till. "
                    f"Loggen och återkopplingen raderas efter {actions.assistant.store.retention_days} dagar."
                )
                log_search = gr.Textbox(label="Sök", elem_id="logg-sok")
                log_btn = gr.Button("Visa samtalsloggen", elem_id="visa-logg")
                log_table = gr.Dataframe(
                    headers=LOG_HEADERS,
                    label="Samtalslogg",
                    interactive=False,
                    wrap=True,
                    elem_id="logg-tabell",
                )
                log_btn.click(conversation_list, log_search, log_table, api_visibility="private")
                log_tab.select(conversation_list, log_search, log_table, api_visibility="private")
            with gr.Tab("Dokument", id="dokument") as doc_tab:
                gr.Markdown(
                    "Dokumenten som de lästes in: sidor, anteckningar från inläsningen (till exempel sidor där "
                    "OCR-läsningen var osäker) och ord där å, ä och ö återställdes, med texten som den var innan."
                )
                doc_choice = gr.Dropdown(label="Dokument", choices=[], elem_id="dokument-val")
                doc_facts = gr.Markdown(elem_id="dokument-fakta")
                doc_words = gr.Dataframe(
                    headers=["Stod i texten", "Rättat till", "Antal"],
                    label="Återställda ord",
                    interactive=False,
                    elem_id="dokument-ord",
                )
                doc_original = gr.Textbox(
                    label="Texten som den lästes in (före rättning)",
                    lines=12,
                    max_lines=30,
                    interactive=False,
                    elem_id="dokument-original",
                )
                doc_tab.select(document_sources, None, doc_choice, api_visibility="private")
                doc_choice.change(
                    show_document, doc_choice, [doc_facts, doc_words, doc_original], api_visibility="private"
                )
            with gr.Tab("Indexera om", id="indexera", visible=False) as reindex_tab:
                gr.Markdown(
                    f"Läser om dokumenten i `{settings.corpus_dir.name}/` och bygger indexet på nytt (bara ändrade "
                    "dokument bäddas in). Svaren använder det nya indexet direkt efteråt."
                )
                reindex_btn = gr.Button("Indexera om dokumenten", variant="primary", elem_id="indexera-knapp")
                reindex_out = gr.Markdown(elem_id="indexera-resultat")
                reindex_btn.click(reindex, None, reindex_out, api_visibility="private", concurrency_limit=1)
            with gr.Tab("Konton", id="konton", visible=False) as accounts_tab:
                gr.Markdown(
                    "Personalkonton och roller. **granskare**: frågar och förklarar, kontrollerar svar, läser och "
                    "exporterar återkoppling och samtalslogg. **admin**: allt det, och indexerar om, hanterar konton "
                    "och läser granskningsloggen. Ett nytt lösenord avslutar kontots inloggningar."
                )
                accounts_table = gr.Dataframe(
                    headers=ACCOUNT_HEADERS, label="Konton", interactive=False, elem_id="konton-tabell"
                )
                with gr.Row():
                    acc_name = gr.Textbox(label="Användarnamn", elem_id="konto-namn")
                    acc_role = gr.Radio(
                        [r.value for r in Role],
                        value=Role.GRANSKARE.value,
                        label="Roll",
                        elem_id="konto-roll",
                    )
                    acc_password = gr.Textbox(
                        label="Lösenord (minst 12 tecken)", type="password", elem_id="konto-losenord"
                    )
                with gr.Row():
                    add_btn = gr.Button("Lägg till konto", variant="primary", elem_id="konto-lagg-till")
                    pw_btn = gr.Button("Byt lösenord", elem_id="konto-losenord-knapp")
                    role_btn = gr.Button("Byt roll", elem_id="konto-roll-knapp")
                    remove_btn = gr.Button("Ta bort konto", variant="stop", elem_id="konto-ta-bort")
                accounts_msg = gr.Markdown(elem_id="konto-resultat")
                acc_inputs = [acc_name, acc_role, acc_password]
                acc_outputs = [accounts_table, accounts_msg, acc_password]
                for btn, what in (
                    (add_btn, "add"),
                    (pw_btn, "password"),
                    (role_btn, "role"),
                    (remove_btn, "remove"),
                ):
                    btn.click(account_handler(what), acc_inputs, acc_outputs, api_visibility="private")
                accounts_tab.select(
                    list_accounts, None, [accounts_table, accounts_msg], api_visibility="private"
                )
            with gr.Tab("Granskningslogg", id="granskningslogg", visible=False) as audit_tab:
                gr.Markdown(
                    "Vem gjorde vad i konsolen och när: inloggningar, frågor, kontroller, visningar, export, "
                    "omindexering och kontoändringar. Fritext är maskad som i samtalsloggen."
                )
                with gr.Row():
                    audit_actor = gr.Textbox(label="Konto", elem_id="granskning-konto")
                    audit_action = gr.Dropdown(
                        ["Alla", *AUDIT_SV.values()],
                        value="Alla",
                        label="Handling",
                        elem_id="granskning-handling",
                    )
                audit_btn = gr.Button("Visa granskningsloggen", elem_id="visa-granskning")
                audit_msg = gr.Markdown(elem_id="granskning-resultat")
                audit_table = gr.Dataframe(
                    headers=AUDIT_HEADERS,
                    label="Granskningslogg",
                    interactive=False,
                    wrap=True,
                    elem_id="granskning-tabell",
                )
                audit_inputs = [audit_actor, audit_action]
                audit_btn.click(audit_list, audit_inputs, [audit_table, audit_msg], api_visibility="private")
                audit_tab.select(audit_list, audit_inputs, [audit_table, audit_msg], api_visibility="private")
        demo.load(on_load, None, [signed_in, reindex_tab, accounts_tab, audit_tab], api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    return demo
