"""The resident chat widget (Gradio): Swedish, streamed answers, source cards, feedback, hand-off panel."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from html import escape
from typing import Any

import gradio as gr

from rag.errors import RagError
from rag.types import AnswerDelta, Turn
from rag.web.gate import BUSY_SV, QueueFull
from rag.web.render import handoff_html, md_escape, source_cards_md
from rag.web.runtime import Answered, WebAssistant

log = logging.getLogger(__name__)

TITLE = "Fråga Helsingborgs stad"
EXAMPLES = [
    "Vilket telefonnummer har kontaktcenter?",
    "När har kontaktcenter öppet?",
    "Vad är Helsingborgs målbild för 2027?",
    "Vad är en transformationsarena?",
]
ALLMAN_HANDLING = (
    "**Skriv inga personuppgifter.** Det du skriver till staden kan bli allmän handling, som vem som helst kan "
    "begära att få läsa. Skriv därför inte personnummer, adress, telefonnummer eller uppgifter om din hälsa. "
    "Svaren bygger bara på stadens dokument – källan visas under varje svar."
)
UNAVAILABLE = "Tjänsten kan tyvärr inte svara just nu. Ring kontaktcenter eller försök igen om en stund."
MAX_TURNS = 10  # earlier turns kept for follow-up questions

# Gradio's default orange (#f97316) under white text is 2.8:1; WCAG 2.1 AA wants 4.5:1. The city's blue instead:
# #1d4ed8 under white is 6.7:1, and as text on white the same.
CITY_BLUE = gr.themes.Color(
    name="stadsbla",
    c50="#eff6ff",
    c100="#dbeafe",
    c200="#bfdbfe",
    c300="#93c5fd",
    c400="#60a5fa",
    c500="#1d4ed8",
    c600="#1e40af",
    c700="#1e3a8a",
    c800="#1e3a8a",
    c900="#172554",
    c950="#0f172a",
)
_BUTTONS = {
    "button_primary_background_fill": "*primary_500",
    "button_primary_background_fill_hover": "*primary_600",
    "button_primary_text_color": "white",
    "button_cancel_background_fill": "#b91c1c",  # red-700: 6.5:1 under white
    "button_cancel_background_fill_hover": "#991b1b",
    "button_cancel_text_color": "white",
}
THEME = gr.themes.Default(primary_hue=CITY_BLUE).set(
    **_BUTTONS, **{f"{k}_dark": v for k, v in _BUTTONS.items()}
)

CSS = """
.sr-only{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);
white-space:nowrap;border:0}
#rubrik h1{font-size:1.5rem;margin:.2rem 0}
#samtal .bot blockquote{border:1px solid var(--border-color-primary);border-left:4px solid #0b5cad;
border-radius:8px;padding:.45rem .7rem;margin:.5rem 0;background:var(--background-fill-secondary);font-size:.93em}
#samtal .bot blockquote p{margin:.1rem 0}
.handoff h2{font-size:1.1rem;margin:0 0 .4rem 0}
.handoff-lista{list-style:none;padding:0;margin:0;display:grid;gap:.35rem}
.handoff-kalla{font-size:.8rem;opacity:.8}
#exempel button{white-space:normal;text-align:left}
:focus-visible{outline:3px solid #0b5cad!important;outline-offset:2px}
@media (max-width: 640px){#samtal{height:60vh!important} .gradio-container{padding:4px!important}}
"""


def _new_state() -> dict[str, Any]:
    return {"session": uuid.uuid4().hex[:12], "turns": [], "last_answer_id": None, "rated": set()}


def build_chat(assistant: WebAssistant) -> gr.Blocks:
    def handoff_panel() -> str:
        try:
            return handoff_html(assistant.service.handoff, dt.date.today())
        except RagError as exc:
            log.error("no hand-off details: %s", exc)
            return handoff_html(_empty_handoff(), dt.date.today())

    def respond(
        question: str,
        messages: list[dict[str, Any]] | None,
        state: dict[str, Any] | None,
    ) -> Iterator[tuple[Any, ...]]:
        state = state or _new_state()
        messages = list(messages or [])
        question = (question or "").strip()
        hide = gr.update(visible=False)
        if not question:
            yield messages, "", state, hide, _status("Skriv en fråga först."), gr.update()
            return
        # the resident's own words are shown as they were typed: as text, never as Markdown or HTML
        shown = md_escape(question, as_typed=True)
        messages += [{"role": "user", "content": shown}, {"role": "assistant", "content": "…"}]
        yield messages, "", state, hide, _status("Assistenten letar i stadens dokument…"), gr.update(value="")
        history = [Turn(role=r, content=c) for r, c in state["turns"][-MAX_TURNS:]]
        try:
            stream = assistant.stream(question, history, channel="chat", session=state["session"])
        except QueueFull:
            messages[-1] = {"role": "assistant", "content": BUSY_SV}
            yield messages, "", state, hide, _status(BUSY_SV), gr.update()
            return
        text = ""
        final: Answered | None = None
        try:
            for event in stream:
                if isinstance(event, AnswerDelta):
                    text = f"{text} {event.text}".strip()
                    messages[-1] = {"role": "assistant", "content": md_escape(text)}
                    yield messages, "", state, hide, gr.update(), gr.update()
                elif isinstance(event, Answered):
                    final = event
        except RagError as exc:
            log.error("chat could not answer: %s", exc)
            messages[-1] = {"role": "assistant", "content": UNAVAILABLE}
            yield messages, "", state, hide, _status(UNAVAILABLE), gr.update()
            return
        finally:
            stream.close()
        assert final is not None
        answer = final.answer
        notices = "".join(f"_{md_escape(n)}_\n\n" for n in answer.notices)
        body = "\n".join(md_escape(line) for line in answer.text.split("\n"))
        cards = source_cards_md(answer.citations, language=answer.language)
        messages[-1] = {"role": "assistant", "content": notices + body + (f"\n\n{cards}" if cards else "")}
        state["turns"] = [*state["turns"], ("user", question), ("assistant", answer.text)][-2 * MAX_TURNS :]
        state["last_answer_id"] = final.answer_id
        n = len(answer.citations)
        done = "Svaret är klart." + (
            f" Det har {n} källa." if n == 1 else f" Det har {n} källor." if n else ""
        )
        yield (
            messages,
            "",
            state,
            gr.update(visible=final.answer_id is not None),
            _status(done),
            gr.update(value=""),
        )

    def give_feedback(rating: int, comment: str, state: dict[str, Any] | None) -> tuple[Any, ...]:
        state = state or _new_state()
        answer_id = state.get("last_answer_id")
        if not answer_id:
            return gr.update(value="Ställ en fråga först."), comment, state
        if answer_id in state["rated"]:
            return (
                gr.update(value="Du har redan lämnat återkoppling på det här svaret. Tack!"),
                comment,
                state,
            )
        try:
            assistant.store.add_feedback(answer_id=answer_id, rating=rating, comment=comment or "")
        except (KeyError, ValueError, OSError) as exc:
            log.error("feedback not stored: %s", exc)
            return gr.update(value="Återkopplingen kunde inte sparas. Försök igen."), comment, state
        state["rated"] = {*state["rated"], answer_id}
        return gr.update(value="Tack för din återkoppling! 🙏"), "", state

    with gr.Blocks(title=TITLE, fill_width=False) as demo:
        state = gr.State(_new_state)
        gr.Markdown(
            f"<header id='rubrik'><h1>{TITLE}</h1><p>Ställ en fråga om Helsingborgs stad. Assistenten svarar utifrån "
            "stadens egna dokument och visar källan under varje svar.</p></header>",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                chatbot = gr.Chatbot(
                    label="Samtal med stadens assistent",
                    elem_id="samtal",
                    height=460,
                    layout="bubble",
                    feedback_options=None,
                    buttons=["copy"],
                    autoscroll=True,
                    placeholder="Här visas svaren. Välj en exempelfråga eller skriv en egen nedan.",
                    latex_delimiters=[],  # no maths: a "$" in a message is a dollar sign
                    sanitize_html=True,
                )
                status = gr.Markdown(_status_html(""), elem_id="status")
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="Din fråga",
                        placeholder="Skriv din fråga här",
                        elem_id="fraga",
                        lines=1,
                        max_lines=4,
                        scale=5,
                        min_width=200,
                        max_length=4000,
                    )
                    send = gr.Button("Skicka", variant="primary", elem_id="skicka", scale=1, min_width=90)
                with gr.Group(visible=False, elem_id="aterkoppling") as feedback_box:
                    gr.Markdown("**Var svaret till hjälp?**")
                    comment = gr.Textbox(
                        label="Kommentar (frivilligt, skriv inga personuppgifter)",
                        lines=2,
                        max_lines=5,
                        elem_id="kommentar",
                        max_length=2000,
                    )
                    with gr.Row():
                        up = gr.Button("👍 Ja, till hjälp", elem_id="tumme-upp", size="sm")
                        down = gr.Button("👎 Nej, inte till hjälp", elem_id="tumme-ned", size="sm")
                    thanks = gr.Markdown("", elem_id="tack")
                with gr.Column(elem_id="exempel"):
                    gr.Markdown("**Exempel på frågor**")
                    example_buttons = [gr.Button(e, size="sm", variant="secondary") for e in EXAMPLES]
                gr.Markdown(ALLMAN_HANDLING, elem_id="allman-handling")
            with gr.Column(scale=2, min_width=260):
                panel = gr.Markdown("", elem_id="handoff")

        outputs = [chatbot, question, state, feedback_box, status, thanks]
        question.submit(respond, [question, chatbot, state], outputs, api_visibility="private")
        send.click(respond, [question, chatbot, state], outputs, api_visibility="private")
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            button.click(lambda t=text: t, None, question, api_visibility="private", queue=False).then(
                respond,
                [question, chatbot, state],
                outputs,
                api_visibility="private",
            )
        up.click(
            lambda c, s: give_feedback(1, c, s),
            [comment, state],
            [thanks, comment, state],
            api_visibility="private",
        )
        down.click(
            lambda c, s: give_feedback(-1, c, s),
            [comment, state],
            [thanks, comment, state],
            api_visibility="private",
        )
        demo.load(handoff_panel, None, panel, api_visibility="private")
        # the bin icon empties the conversation: forget its turns too, so follow-ups start afresh
        chatbot.clear(
            lambda: (_new_state(), gr.update(visible=False)),
            None,
            [state, feedback_box],
            api_visibility="private",
        )
    demo.queue(default_concurrency_limit=16)
    return demo


def _status_html(text: str) -> str:
    return f'<div class="sr-only" role="status" aria-live="polite">{escape(text)}</div>'


def _status(text: str) -> Any:
    return gr.update(value=_status_html(text))


def _empty_handoff() -> Any:
    from rag.handoff import Handoff

    return Handoff()
