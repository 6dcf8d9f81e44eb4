"""The staff console (Gradio, behind sign-in): explain any answer, check a drafted answer, read feedback and the
redacted conversation log, and re-index the corpus with a progress bar."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from rag.checking import check_answer
from rag.config import Settings
from rag.errors import RagError
from rag.ingest import make_ingestor
from rag.privacy import redact
from rag.repair import restored_words
from rag.web.auth import LOGOUT_PATH
from rag.web.gate import BUSY_SV, QueueFull
from rag.web.runtime import WebAssistant

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
SENTENCE_HEADERS = ["Stöds", "Mening", "Ordöverlapp", "Bästa stycke", "Fakta som saknas", "Skäl"]
FEEDBACK_HEADERS = ["Tid (UTC)", "Betyg", "Kommentar", "Fråga", "Svar", "Källor", "Svar-id"]
LOG_HEADERS = ["Tid (UTC)", "Kanal", "Fråga (maskad)", "Svar", "Avböjt", "Svar-id"]
PASSAGE_WIDTHS: list[str | int] = ["4%", "9%", "11%", "11%", "7%", "18%", "12%", "28%"]
SENTENCE_WIDTHS: list[str | int] = ["9%", "41%", "9%", "17%", "11%", "13%"]
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
        f"**Fråga:** {details.get('question', '')}\n\n**Svar:** {details.get('answer', '')}\n\n"
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


def build_console(assistant: WebAssistant, settings: Settings) -> gr.Blocks:
    service = assistant.service

    def ask(question: str) -> tuple[Any, ...]:
        if not (question or "").strip():
            return ("Skriv en fråga.", [], [], [], "", "")
        try:
            final = assistant.ask(question, (), channel="personal")
        except QueueFull:
            return (BUSY_SV, [], [], [], "", "")
        except RagError as exc:
            return (f"Fel: {exc}", [], [], [], "", "")
        details = final.answer.to_json_dict(debug=True)
        return (*explain(details, settings.context_k), final.answer_id or "")

    def explain_logged(answer_id: str) -> tuple[Any, ...]:
        row = assistant.store.conversation((answer_id or "").strip())
        if row is None:
            return (f"Hittar inget svar med id {answer_id!r}.", [], [], [], "", answer_id)
        return (*explain(row.details, settings.context_k), row.id)

    def check(question: str, draft: str) -> tuple[str, list[list[Any]]]:
        if not (draft or "").strip():
            return "Klistra in ett svarsutkast att kontrollera.", []
        try:
            result = check_answer(service, question, draft)
        except RagError as exc:
            return f"Fel: {exc}", []
        titles = {p.chunk_id: p.title for p in result.passages}
        rows = [
            [
                "✓ stöds" if s.supported else "✗ stöds inte",
                s.text,
                f"{s.support:.0%}",
                f"{titles.get(s.chunk_id or '', '–')} ({s.chunk_id})" if s.chunk_id else "–",
                ", ".join(s.missing_facts) or "–",
                s.reason,
            ]
            for s in result.sentences
        ]
        n = len(result.sentences)
        summary = f"**{result.supported} av {n} meningar stöds av stadens dokument.**"
        if result.facts_not_found:
            summary += " Fakta som inget stycke innehåller: " + ", ".join(
                f"`{f}`" for f in result.facts_not_found
            )
        else:
            summary += " Alla siffror, datum och namn i utkastet finns i något stycke."
        return summary, rows

    def feedback_list(rating: str, with_comment: bool, search: str, since: str) -> list[list[Any]]:
        rows = assistant.store.feedback(
            rating=RATINGS.get(rating), with_comment=with_comment, search=search, since=since
        )
        return [
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

    def conversation_list(search: str) -> list[list[Any]]:
        return [
            [r.created, r.channel, redact(r.question), r.answer, "ja" if r.refused else "nej", r.id]
            for r in assistant.store.conversations(search=search)
        ]

    def reindex(progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 - Gradio's injection idiom
        progress(0, desc="Läser dokumenten…")

        def bar(desc: str, unit: str) -> Callable[[int], Callable[[int], None]]:
            def factory(total: int) -> Callable[[int], None]:
                done = [0]

                def advance(n: int) -> None:
                    done[0] += n
                    progress((done[0], total), desc=desc, unit=unit)

                return advance

            return factory

        ingestor = make_ingestor(settings, service.embedder)
        try:
            report = ingestor.run(
                settings.corpus_dir,
                progress=bar("Bäddar in textstycken", "stycken"),
                ocr_progress=bar("Läser skannade sidor (OCR)", "sidor"),
            )
        except RagError as exc:
            return f"**Indexeringen misslyckades:** {exc}"
        service.reload()
        progress(1.0, desc="Klart")
        lines = [
            f"**Klart på {report.seconds:.1f} s.** Dokument: {len(report.added)} nya, {len(report.changed)} ändrade, "
            f"{len(report.removed)} borttagna, {len(report.unchanged)} oförändrade. "
            f"Inbäddade stycken: {report.chunks_embedded} av {report.chunks_total}.",
        ]
        if report.full_rebuild_reason:
            lines.append(f"Helt omindexerat: {report.full_rebuild_reason}")
        if not report.wrote_index:
            lines.append("Indexet var redan aktuellt; inget skrevs.")
        lines += [f"- Hoppade över {name}: {reason}" for name, reason in sorted(report.skipped.items())]
        lines += [
            f"- Att kontrollera i {name}: {note}"
            for name, notes in sorted(report.notes.items())
            for note in notes
        ]
        return "\n\n".join(lines)

    def document_sources() -> Any:
        try:
            sources = sorted(service.index.documents)
        except RagError:
            sources = []
        return gr.update(choices=sources, value=sources[0] if sources else None)

    def show_document(source: str) -> tuple[str, list[list[Any]], str]:
        """A document as indexed: pages, notes from reading it, the words whose å/ä/ö were restored, and
        the text as it was extracted (before the repair)."""
        try:
            doc = service.index.documents.get(source or "")
        except RagError as exc:
            return f"Fel: {exc}", [], ""
        if doc is None:
            return "Välj ett dokument.", [], ""
        facts = [
            f"**{doc.title}** · fil: `{doc.source}`",
            f"Sidor: {len(doc.pages)}" if doc.pages else "Utan sidnummer (inte ett sidindelat format)",
        ]
        facts += [f"- {note}" for note in doc.notes]
        rows: list[list[Any]] = []
        if doc.original_text:
            counts = restored_words(doc.original_text, doc.text)
            facts.append(
                f"Texten hade tappat å, ä och ö vid extraktionen; {sum(counts.values())} ord har rättats. "
                "Originaltexten står nedan."
            )
            rows = [[before, after, n] for (before, after), n in counts.most_common()]
        return "\n\n".join(facts), rows, doc.original_text or doc.text

    with gr.Blocks(title=TITLE) as demo:
        gr.HTML(
            "<div id='konsol-rubrik'><h1>Personalkonsol</h1><nav aria-label='Konsolens länkar'>"
            f"<a href='/' target='_blank' rel='noopener'>Invånarchatten ↗</a> · <a href='{LOGOUT_PATH}'>Logga ut</a>"
            "</nav></div>"
        )
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
                fb_table = gr.Dataframe(
                    headers=FEEDBACK_HEADERS,
                    label="Återkoppling",
                    interactive=False,
                    wrap=True,
                    elem_id="aterkoppling-tabell",
                )
                fb_inputs = [rating, with_comment, search, since]
                fb_btn.click(feedback_list, fb_inputs, fb_table, api_visibility="private")
                fb_tab.select(feedback_list, fb_inputs, fb_table, api_visibility="private")
            with gr.Tab("Samtalslogg", id="logg") as log_tab:
                gr.Markdown(
                    "Personuppgifter (personnummer, e-post, telefonnummer) är maskerade innan något sparas. "
                    "Kopiera ett svar-id till fliken *Fråga och förklara* för att se hur svaret kom till."
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
            with gr.Tab("Indexera om", id="indexera"):
                gr.Markdown(
                    f"Läser om dokumenten i `{settings.corpus_dir.name}/` och bygger indexet på nytt (bara ändrade "
                    "dokument bäddas in). Svaren använder det nya indexet direkt efteråt."
                )
                reindex_btn = gr.Button("Indexera om dokumenten", variant="primary", elem_id="indexera-knapp")
                reindex_out = gr.Markdown(elem_id="indexera-resultat")
                reindex_btn.click(reindex, None, reindex_out, api_visibility="private", concurrency_limit=1)
    demo.queue(default_concurrency_limit=4)
    return demo
