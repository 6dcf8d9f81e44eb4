"""The one service every door calls: the CLI, the chat, the HTTP API and the evaluation."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.attribution import SupportChecker, strip_markers
from rag.config import Settings
from rag.embedders.base import Embedder, make_embedder
from rag.errors import GenerationUnavailableError, InputError
from rag.evidence import (
    MAX_QUOTE_CHARS,
    Evidence,
    Kind,
    answers_kind,
    asks_yes_or_no,
    evidence_candidates,
    expected_kind,
    find_evidence,
    holds_kind,
    is_bare_fact,
    source_sentences,
    source_wording,
)
from rag.generation.base import Generator, make_generator, until_unavailable
from rag.guard import GuardVerdict, inspect_question
from rag.handoff import Handoff, find_handoff
from rag.privacy import find_personal_data, redact
from rag.prompting import build_messages, detect_language, render_prompt, say
from rag.retrieval import HybridRetriever, RetrievalSettings
from rag.store import IndexData, make_store
from rag.text import content_terms, extract_facts, fact_in_passage, split_sentences
from rag.translation import Translator
from rag.types import Answer, AnswerDelta, Chunk, Citation, Hit, SentenceCheck, Turn

log = logging.getLogger(__name__)

_SENTENCE_CACHE_SIZE = 50_000
_MIN_QUOTE_CHARS = 40  # shorter "sentences" are headings or chunk-edge fragments, not worth quoting
_ALREADY_SAID = 0.6  # share of a source sentence's new topic terms (not in the question) the answer holds

_DONT_KNOW = re.compile(
    r"\b(det vet jag inte|vet inte|framgår inte|i don'?t know|not in the sources)\b", re.I
)


@dataclass(frozen=True)
class _Prepared:
    question: str  # as the resident wrote it, personal data redacted, cut to the length limit
    retrieval_query: str  # standalone and in Swedish: what retrieval and the LLM work on
    gate_query: str | None  # what the relevance gate trusts when it is not retrieval_query
    language: str
    notices: list[str]
    guard: GuardVerdict


class AssistantService:
    """Answers questions from the index with verified, cited sentences, or refuses with a hand-off.

    Construction only stores; the index, the embedder and the LLM load on first use (once).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        index: IndexData | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
        self._index = index
        self._retriever: HybridRetriever | None = None
        self._handoff: Handoff | None = None
        self._names: frozenset[str] | None = None
        self._sentence_cache: dict[str, np.ndarray] = {}
        self._last_query: tuple[str, np.ndarray] | None = None  # see _query_vector
        self._lock = threading.Lock()
        self.checker = SupportChecker(settings.support_threshold)

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
    def translator(self) -> Translator:
        return Translator(self.generator)

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
                        relevance_threshold=self.settings.relevance_threshold,
                    ),
                )
            return self._retriever

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
            self._handoff = None
            self._names = None
            self._sentence_cache = {}

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
            prep = self._prepare(question, history)
        except InputError:
            lang = detect_language(question or "")
            yield Answer(
                question=question or "",
                text=say("empty", lang),
                refused=True,
                language=lang,
                refusal_reason="empty",
                timings_ms={"total": (time.perf_counter() - t_start) * 1000},
            )
            return
        log.info("question (%s): %s", prep.language, prep.question[:300])
        if prep.guard.injection or prep.guard.personal_case:
            reason = "injection" if prep.guard.injection else "personal_case"
            answer = self._refusal(prep, [], reason, 0.0, timings, t_start)
            yield AnswerDelta(answer.text)
            yield answer
            return

        retrieval = self.retriever.search(prep.retrieval_query, gate_query=prep.gate_query)
        timings.update(self.retriever.timings_ms)
        timings["retrieval"] = sum(self.retriever.timings_ms.values())
        hits = retrieval.hits
        if not retrieval.relevant:
            log.info("refused before the LLM: %s (%s)", retrieval.reason, retrieval.confidence)
            answer = self._refusal(prep, hits, "not_relevant", retrieval.confidence, timings, t_start)
            yield AnswerDelta(answer.text)
            yield answer
            return

        if not generate:
            timings["total"] = (time.perf_counter() - t_start) * 1000
            yield Answer(
                question=prep.question,
                text="",
                refused=False,
                language=prep.language,
                passages=hits,
                notices=prep.notices,
                confidence=retrieval.confidence,
                timings_ms=timings,
            )
            return
        passages = self._context(prep.retrieval_query, hits)
        spare = [h.chunk for h in hits if h.chunk not in passages]  # retrieved, left out of the prompt
        messages = build_messages(prep.retrieval_query if prep.language != "sv" else prep.question, passages)
        t_gen = time.perf_counter()
        first_token: float | None = None
        raw = ""
        n_tokens = 0
        kept: list[tuple[SentenceCheck, int]] = []
        checks: list[SentenceCheck] = []
        emitted = 0  # sentences of raw already verified
        llm_failed: list[GenerationUnavailableError] = []  # no LLM server answered, or the reply broke off
        pieces = self.generator.stream(messages, max_tokens=self.settings.llm_max_tokens)
        for piece in until_unavailable(pieces, llm_failed):
            if first_token is None:
                first_token = time.perf_counter()
            n_tokens += 1
            raw += piece
            sentences = split_sentences(strip_markers(raw))
            while len(sentences) - 1 > emitted:  # the last one may still be growing
                text = self._verify(sentences[emitted], passages, spare, prep, kept, checks)
                emitted += 1
                if text and prep.language == "sv":
                    yield AnswerDelta(text)
        for sentence in split_sentences(strip_markers(raw))[emitted:]:
            text = self._verify(sentence, passages, spare, prep, kept, checks)
            if text and prep.language == "sv":
                yield AnswerDelta(text)
        if llm_failed:  # staff read why in the log; the answer says llm_unavailable
            log.error("%s (kept %d characters of the reply)", llm_failed[0], len(raw))
            if not raw:
                answer = self._refusal(prep, hits, "llm_unavailable", retrieval.confidence, timings, t_start)
                answer.llm_called, answer.prompt = True, render_prompt(messages)
                yield AnswerDelta(answer.text)
                yield answer
                return
        written = [check.text for check, _ in kept]  # in Swedish, as verified
        if prep.language != "sv":
            # Translated only now: the LLM serves one request at a time, and the answer's own stream held it.
            order = _citation_order(kept)
            for i, (check, idx) in enumerate(kept):
                shown = self.translator.from_swedish(check.text, prep.language, self.corpus_names)
                kept[i] = (replace(check, text=shown), idx)
                yield AnswerDelta(f"{shown} [{order[idx]}]")
        t_end = time.perf_counter()
        timings["time_to_first_token"] = ((first_token or t_end) - t_gen) * 1000
        timings["generation"] = (t_end - t_gen) * 1000

        invented = any(c.missing_facts for c in checks)
        if not kept and (_DONT_KNOW.search(raw) or invented):
            # Nothing verifiable, and the model either said it does not know or made up facts the passages
            # lack: the documents do not hold the answer, so hand over instead of quoting something else.
            reason = "model_said_unknown" if _DONT_KNOW.search(raw) else "unsupported_facts"
            answer = self._refusal(prep, hits, reason, retrieval.confidence, timings, t_start)
            answer.llm_called, answer.prompt, answer.raw_generation = True, render_prompt(messages), raw
            answer.sentences, answer.tokens_generated = checks, n_tokens
            yield AnswerDelta(answer.text)
            yield answer
            return

        kind = expected_kind(prep.question) or expected_kind(prep.retrieval_query)
        fallback = not kept
        t_quote = time.perf_counter()
        if fallback:
            text, citations = self._quote_best(prep, passages, spare, kind)
            timings["quote"] = (time.perf_counter() - t_quote) * 1000
            yield AnswerDelta(text)
        else:
            quote = None
            if not answers_kind([c.text for c, _ in kept], kind, prep.question):
                # The sentence holding the asked fact may sit in a retrieved passage _context left out.
                query = prep.retrieval_query
                split = self.retriever.lexical.split_compound
                # Ranked with the prompt's passages, which win ties: "… kunde öppna upp redan på
                # torsdagen den 14 januari" in a left-out passage beats a prompt passage's Tuesday
                # sentence that borrows all of "när öppnade nattcafét hos LP" from the one before it.
                ev = find_evidence(query, passages + spare, kind, split=split)
                if ev is not None:
                    index = _adopt(passages, spare, ev.passage_index)
                    quote = (index, ev.sentence, f"no kept sentence held the asked {kind}")
            if quote is None:
                bare = self._bare_fact_quote(prep.retrieval_query, kept, passages, kind, prep.question)
                if bare is not None:
                    quote = (*bare, "a written sentence was a bare fact, shown here in its source sentence")
            if quote is None:
                cited = [i for _, i in kept]
                closer = self._closer_quote(prep.retrieval_query, written, passages, cited)
                if closer is not None:
                    quote = (*closer, "it is closer to the question than every written sentence")
            if quote is not None and quote[1] in written:
                quote = None  # a kept sentence is that source sentence already
            if quote is not None:
                index, sentence, why = quote
                log.info("quoting the source: %s", why)
                check = SentenceCheck(
                    sentence, True, 1.0, passages[index].chunk_id, [], f"quoted from the source: {why}"
                )
                checks.append(check)
                kept.append((check, index))
            text, citations = self._compose(kept, passages, prep.language, quoted=quote is not None)
            timings["quote"] = (time.perf_counter() - t_quote) * 1000  # choosing one, even when none is added
            if quote is not None:
                yield AnswerDelta(text.rsplit("\n\n", 1)[-1])
        extra = [say("dated", prep.language, n=c.n, date=c.chunk.date) for c in citations if c.chunk.date]
        if prep.guard.personal_data:
            extra.append(say("personal_data", prep.language))
        for line in extra:
            text += "\n\n" + line
            yield AnswerDelta(line)
        timings["total"] = (time.perf_counter() - t_start) * 1000
        log.info(
            "answered: %d sentences kept of %d, fallback=%s, %.0f ms",
            len(kept),
            len(checks),
            fallback,
            timings["total"],
        )
        yield Answer(
            question=prep.question,
            text=text,
            refused=False,
            language=prep.language,
            citations=citations,
            passages=hits,
            sentences=checks,
            notices=prep.notices,
            llm_called=True,
            fallback=fallback,
            prompt=render_prompt(messages),
            raw_generation=raw,
            confidence=retrieval.confidence,
            timings_ms=timings,
            tokens_generated=n_tokens,
        )

    # --- steps ----------------------------------------------------------------------------------------------
    def _prepare(self, question: str, history: Sequence[Turn]) -> _Prepared:
        if not isinstance(question, str):
            raise InputError(f"question must be text, got {type(question).__name__}")
        q = " ".join(question.split())
        if not q:
            raise InputError("the question is empty")
        language = detect_language(q)
        notices = []
        limit = self.settings.max_question_chars
        if len(q) > limit:
            q = q[:limit].rsplit(" ", 1)[0] or q[:limit]
            notices.append(say("truncated", language, n=limit))
        guard = inspect_question(q)
        topic = q
        if guard.personal_data:
            # Sentences carrying personal data are about the resident, not the topic: retrieval skips them.
            rest = [x for x in split_sentences(q) if not find_personal_data(x)]
            topic = " ".join(rest) if rest else redact(q)
            q = redact(q)  # nothing downstream (LLM, logs, stored answers) sees the resident's data
            notices.append(say("personal_data", language))
        query = self._condense(topic, history)
        gate = None
        if language != "sv" and not (guard.injection or guard.personal_case):
            query, gate = self.translator.to_swedish(query)
            log.info("retrieval query in Swedish: %s (gate: %s)", query[:300], gate[:200])
        return _Prepared(q, query, gate, language, notices, guard)

    def _condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone query for retrieval: a short follow-up borrows the topic of the previous user turn."""
        previous = [t.content for t in history if t.role == "user" and t.content.strip()]
        if not previous or len(content_terms(question)) > 3:
            return question
        return f"{previous[-1][-300:]} {question}"

    def _context(self, query: str, hits: list[Hit]) -> list[Chunk]:
        """The passages the LLM reads: the top context_k, less those that add nothing.

        Every prompt token costs ~10 ms on two cores, so when the best passages hold all of the question's
        topic words, passages holding far fewer of them are left out. When the top passage holds every one
        of them, a passage of another document that holds fewer is about something else that sounds alike
        (a night café's Thursday hours beside kontaktcenter's, for "har ni andra öppettider kring röda
        dagar?"): the 1.5B model answers from it all the same, so it is left out too."""
        top = hits[: self.settings.context_k]
        cover = [self.retriever.coverage(query, h.chunk.titled_text) for h in top]
        best = max(cover, default=0.0)
        if best < 0.8:  # lexical evidence is thin (paraphrase, another language): keep them all
            return [h.chunk for h in top]
        full_doc = top[0].chunk.doc_id if cover[0] >= 1.0 else None
        return [
            h.chunk
            for h, c in zip(top, cover, strict=True)
            if c >= 0.6 * best and (full_doc is None or c >= 1.0 or h.chunk.doc_id == full_doc)
        ]

    def _verify(
        self,
        sentence: str,
        passages: list[Chunk],
        spare: list[Chunk],
        prep: _Prepared,
        kept: list[tuple[SentenceCheck, int]],
        checks: list[SentenceCheck],
    ) -> str:
        """Check one generated sentence; keep it with its [n] marker when a passage supports it.

        A sentence whose facts the prompt's passages lack may still be backed by a retrieved passage that
        _context left out ("Han blev 69 år." in the chunk after the one about Leif Redestig): that passage
        moves from spare to passages and is cited like the others. Only a sentence with facts is tried
        there: more passages would otherwise back loose wording by chance ("Det vet jag inte.").

        A kept sentence that is a near-copy of one sentence of its passage is shown in the passage's own
        words (source_wording): the model's copy may have swapped a pronoun or dropped a negation."""
        if any(sentence == c.text for c in checks):  # small models repeat themselves
            return ""
        att = self.checker.check(sentence, passages, question=prep.retrieval_query)
        index = att.passage_index
        if index is None and spare and att.check.missing_facts:
            other = self.checker.check(sentence, spare, question=prep.retrieval_query)
            if other.passage_index is None:
                # The fact may open the chunk after a prompt passage that names its subject ("Leif
                # Redestig har avlidit. …" / "Han blev 69 år."): read the two as the one passage they are.
                joined = [_joined_with_previous(c, passages) for c in spare]
                if any(j is not c for j, c in zip(joined, spare, strict=True)):
                    other = self.checker.check(sentence, joined, question=prep.retrieval_query)
                    if other.passage_index is not None:
                        spare[other.passage_index] = joined[other.passage_index]
            if other.passage_index is not None:
                att = other
                index = _adopt(passages, spare, len(passages) + other.passage_index)
                log.info("supported by a retrieved passage the prompt left out")
        check = att.check
        if index is None:
            checks.append(check)
            log.info("dropped unsupported sentence: %s", check.reason)
            return ""
        own = source_wording(sentence, passages[index])
        if own is not None:
            check = replace(
                check, text=own, reason=f"supported; shown in the source's own words: {sentence!r}"
            )
        checks.append(check)
        if any(check.text == c.text for c, _ in kept):  # two written sentences copied the same one
            return ""
        kept.append((check, index))
        order = _citation_order(kept)
        return f"{check.text} [{order[index]}]"

    def _compose(
        self,
        kept: list[tuple[SentenceCheck, int]],
        passages: list[Chunk],
        language: str = "sv",
        *,
        quoted: bool = False,
    ) -> tuple[str, list[Citation]]:
        """The kept sentences with their [n]; with quoted, the last one is a source sentence shown as a quote."""
        order = _citation_order(kept)
        written = kept[:-1] if quoted else kept
        text = " ".join(f"{check.text} [{order[idx]}]" for check, idx in written)
        if quoted:
            check, idx = kept[-1]
            lead = say("fallback", language, title=passages[idx].title)
            text += f"\n\n{lead} ”{check.text}” [{order[idx]}]"
        support: dict[int, list[float]] = {}
        for check, idx in kept:
            support.setdefault(idx, []).append(check.support)
        citations = [
            Citation(n=order[idx], chunk=passages[idx], score=sum(v) / len(v))
            for idx, v in sorted(support.items(), key=lambda kv: order[kv[0]])
        ]
        return text, citations

    def _closest_sentence(
        self, qvec: np.ndarray, passages: list[Chunk], only: Collection[int] | None = None
    ) -> tuple[int, str, float] | None:
        """The source sentence of the given passages (or of those indexed by only) most similar to the query
        vector, as (passage index, quotable text, similarity). A heading or a FAQ's own question comes with
        the sentence after it."""
        units = [
            (pi, i, sentences)
            for pi, p in enumerate(passages)
            if only is None or pi in only
            for sentences in [source_sentences(p)]
            for i in range(len(sentences))
        ]
        if not units:
            return None
        similarity = self._sentence_vectors([u[2][u[1]] for u in units]) @ qvec
        best = int(similarity.argmax())
        pi, i, sentences = units[best]
        quote = sentences[i]
        if not quote.rstrip(" \"'”*)").endswith((".", "!", "…")) and i + 1 < len(sentences):
            quote += " " + sentences[i + 1]  # a question or a heading: its answer follows
        return pi, quote, float(similarity[best])

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector, kept for the last query: the quote steps of one answer (bare fact, closer
        sentence, fallback) each need it, and one embedding is ~20 ms on two cores."""
        last = self._last_query
        if last is None or last[0] != query:
            last = (query, self.embedder.embed_query(query))
            self._last_query = last
        return last[1]

    def _sentence_vectors(self, sentences: list[str]) -> np.ndarray:
        """Passage-side vectors of sentences, cached: the same passages come back question after question."""
        cache = self._sentence_cache
        missing = list(dict.fromkeys(s for s in sentences if s not in cache))
        if missing:
            if len(cache) + len(missing) > _SENTENCE_CACHE_SIZE:
                cache.clear()
            cache.update(zip(missing, self.embedder.embed_passages(missing), strict=True))
        return np.stack([cache[s] for s in sentences])

    def _closer_quote(
        self, query: str, written: list[str], passages: list[Chunk], cited: Collection[int]
    ) -> tuple[int, str] | None:
        """A source sentence to quote when it is closer to the question than every sentence the model wrote
        and says something they do not: the 1.5B model often writes a true, supported sentence beside the
        point ("Sip är ett sätt att samverka med invånare …" to "vad är en sip?").

        Only documents the answer already cites (by their passages' indexes in cited) are quoted from:
        another document's sentence may be about something else that merely sounds alike (a night café's
        Thursday hours beside kontaktcenter's)."""
        if not written:
            return None
        docs = {passages[i].doc_id for i in cited}
        same_docs = [i for i, p in enumerate(passages) if p.doc_id in docs]
        qvec = self._query_vector(query)
        closest = self._closest_sentence(qvec, passages, same_docs)
        if closest is None:
            return None
        pi, quote, similarity = closest
        if similarity <= float((self._sentence_vectors(written) @ qvec).max()):
            return None
        # What the quote adds is what the question did not already name: "Energibranschen … är en viktig
        # arbetsgivare för fysikerna" shares most words with "Fysikerar är en viktig arbetsgivare för
        # fysikerna" but not the one that answers.
        asked = content_terms(query)
        news = content_terms(quote) - asked
        said = set().union(*(content_terms(s) for s in written))
        if len(quote) < _MIN_QUOTE_CHARS or not news or len(news & said) >= _ALREADY_SAID * len(news):
            return None  # a fragment, or the answer already says what it adds
        return pi, quote

    def _bare_fact_quote(
        self,
        query: str,
        kept: list[tuple[SentenceCheck, int]],
        passages: list[Chunk],
        kind: Kind | None = None,
        question: str = "",
    ) -> tuple[int, str] | None:
        """The source sentence around a fact the model wrote bare ("042-10 50 00", "2030", "Skördare"), as
        (passage index, sentence): a resident needs to hear what the number or word is, and the 1.5B model
        often gives one of the right passage to the wrong question ("2030" to "how much earlier than the
        rest of Europe?", whose answer shares that sentence). Of the cited passage's sentences holding all
        the bare sentence's facts and words, the one the embedder finds closest to the question.

        A bare fact of another kind than the question asks for ("Bengt." to "when is breakfast?") is
        left alone: quoting around it would only dwell on a wrong answer."""
        for check, index in kept:
            if kind is not None and not holds_kind(check.text, kind, question):
                continue
            facts = extract_facts(check.text)
            terms = content_terms(check.text)
            if not terms or not is_bare_fact(check.text):
                continue
            holding = [
                s
                for s in source_sentences(passages[index])
                if len(s) <= MAX_QUOTE_CHARS
                and all(fact_in_passage(f, s) for f in facts)
                and terms <= content_terms(s)
                and not is_bare_fact(s)  # last: it extracts the facts of every sentence it sees
            ]
            if not holding:
                continue
            qvec = self._query_vector(query)
            return index, holding[int((self._sentence_vectors(holding) @ qvec).argmax())]
        return None

    def _best_evidence(
        self, query: str, qvec: np.ndarray, passages: list[Chunk], kind: Kind | None
    ) -> Evidence | None:
        """The on-topic sentence for a fallback quote: holding the asked kind of fact, or (kind None, for a
        yes-or-no question) any sentence that is no fragment. It needs at least half of the question's
        topic words, as for the quote beside an answer: with fewer, another document's clock times
        answered "har ni andra öppettider kring röda dagar?". Among those sharing the most topic words
        (and, for "hur många X", a number of X or none alike), the one the embedder finds closest to the
        question: word overlap often ties."""
        found = evidence_candidates(query, passages, kind, split=self.retriever.lexical.split_compound)
        if kind is None:
            found = [ev for ev in found if len(ev.sentence) >= _MIN_QUOTE_CHARS]
        tied = [ev for ev in found if (ev.overlap, ev.counts) == (found[0].overlap, found[0].counts)]
        if len(tied) <= 1:
            return found[0] if found else None
        return tied[int((self._sentence_vectors([ev.sentence for ev in tied]) @ qvec).argmax())]

    def _quote_best(
        self, prep: _Prepared, passages: list[Chunk], spare: list[Chunk], kind: Kind | None = None
    ) -> tuple[str, list[Citation]]:
        """No generated sentence survived: quote the source sentence that holds the asked kind of fact (in
        the prompt's passages or the retrieved ones left out), or else the sentence of the prompt's
        passages most similar to the question.

        A yes-or-no question is decided by the sentence that states what it asks about, which is the one
        sharing most of its words ("Teknologisk transformation är inte ett mål i sig, …" for "är
        teknologiska omvandlingen ett mål i sig?"); the embedder preferred a sentence that sounds like
        it ("Teknikutvecklingen omvandlar samhället …")."""
        query = prep.retrieval_query
        q_terms = content_terms(query)

        def score(s: str) -> float:
            return len(q_terms & content_terms(s)) / (len(q_terms) or 1)

        qvec = self._query_vector(query)
        ev = None
        if kind or asks_yes_or_no(prep.question):
            ev = self._best_evidence(query, qvec, passages + spare, kind)
        if ev is not None:
            passage = passages[_adopt(passages, spare, ev.passage_index)]
            text = f"{say('fallback', prep.language, title=passage.title)} ”{ev.sentence}” [1]"
            return text, [Citation(n=1, chunk=passage, score=ev.overlap)]
        # Word overlap picks the wrong sentence when the question paraphrases the source ("offentligt" for
        # "allmän handling"): rank the passages' sentences by the embedder's similarity to the question.
        closest = self._closest_sentence(qvec, passages)
        if closest is None:
            return say("fallback", prep.language, title=passages[0].title) + " [1]", [
                Citation(n=1, chunk=passages[0], score=0.0)
            ]
        pi, quote, _ = closest
        passage = passages[pi]
        text = f"{say('fallback', prep.language, title=passage.title)} ”{quote}” [1]"
        return text, [Citation(n=1, chunk=passage, score=score(quote))]

    def _refusal(
        self,
        prep: _Prepared,
        hits: list[Hit],
        reason: str,
        confidence: float,
        timings: dict[str, float],
        t_start: float,
    ) -> Answer:
        text = say(
            reason if reason in ("injection", "personal_case", "llm_unavailable") else "not_relevant",
            prep.language,
        )
        text += "\n" + self.handoff.render(prep.language)
        if prep.guard.personal_data:
            text += "\n\n" + say("personal_data", prep.language)
        timings["total"] = (time.perf_counter() - t_start) * 1000
        return Answer(
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
        )


def _citation_order(kept: list[tuple[SentenceCheck, int]]) -> dict[int, int]:
    """Passage index -> citation number, numbered by first use in the answer."""
    order: dict[int, int] = {}
    for _, idx in kept:
        order.setdefault(idx, len(order) + 1)
    return order


def _adopt(passages: list[Chunk], spare: list[Chunk], index: int) -> int:
    """The index in passages of entry `index` of passages + spare, moving a spare passage into passages (it
    is cited like the prompt's own)."""
    if index < len(passages):
        return index
    passages.append(spare.pop(index - len(passages)))
    return len(passages) - 1


def _joined_with_previous(chunk: Chunk, passages: Sequence[Chunk]) -> Chunk:
    """chunk joined to the chunk before it in its document when that one is among passages (their
    overlap counted once), else chunk itself."""
    prev = next((p for p in passages if p.doc_id == chunk.doc_id and p.ordinal == chunk.ordinal - 1), None)
    if prev is None or not prev.start <= chunk.start <= prev.end + 2:
        return chunk  # not adjacent in the document
    if chunk.start <= prev.end:  # they overlap: the document's text from prev's start to chunk's end
        text = prev.text + chunk.text[prev.end - chunk.start :]
    else:  # one or two whitespace characters between them, which the chunks left out
        text = prev.text + "\n" * (chunk.start - prev.end) + chunk.text
    return replace(chunk, chunk_id=f"{prev.chunk_id}+{chunk.chunk_id}", text=text, start=prev.start)
