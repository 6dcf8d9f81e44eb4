"""The dev set on every format of the corpus: the same documents as text, PDF, scanned PDF, Word, OpenDocument
and saved web page (made with LibreOffice, pdftoppm and img2pdf by eval/formats.py), each ingested and asked.

    .venv/bin/python scripts/eval_formats.py --out eval-runs/formats --retrieval-only   # minutes: reading + retrieval
    nice .venv/bin/python scripts/eval_formats.py --out eval-runs/formats                # + the LLM (15-25 min a format)
    .venv/bin/python scripts/eval_formats.py --out eval-runs/formats --formats txt pdf   # some formats only

Per format it prints: reading speed (pages per second for PDFs and scans, timed by reading every file alone),
the character error rate of the extracted text against the text that went into the file, and the dev-set
figures of `python -m eval run` (key facts, citation precision, gold source among the top passages). "txt-raw"
is corpus/ without the å/ä/ö repair (today's behaviour), for the repair's effect on the dev set.
Results: OUT/<format>/run/ (results.jsonl, report.md) and OUT/formats.md (the table).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

from eval.dataset import load_questions
from eval.formats import FORMATS, build_variants, character_error_rate, environment_note
from eval.runner import RunConfig, execute
from rag.config import Settings
from rag.embedders.base import make_embedder
from rag.ingest import make_ingestor
from rag.loaders import load_document, load_metadata
from rag.store import load_index

ROOT = Path(__file__).resolve().parent.parent
ALL = ("txt-raw", *FORMATS)


def read_figures(folder: Path, sources: dict[str, str], settings: Settings) -> dict[str, float | int | None]:
    """Pages, seconds and character error rate of reading every file of a variant folder on its own."""
    from rag.ocr import make_ocr

    ocr = make_ocr(settings)
    meta = load_metadata(folder)
    pages = 0
    seconds = 0.0
    cers = []
    for path in sorted(p for p in folder.iterdir() if p.name != "metadata.json"):
        t0 = time.perf_counter()
        doc = load_document(path, folder, meta, ocr=ocr)
        seconds += time.perf_counter() - t0
        pages += len(doc.pages) if doc.pages else 0
        if doc.doc_id in sources:
            cers.append(character_error_rate(sources[doc.doc_id], doc.text))
    return {
        "pages": pages,
        "read_s": round(seconds, 2),
        "pages_per_s": round(pages / seconds, 2) if pages and seconds else None,
        "cer_mean": round(statistics.mean(cers), 4) if cers else None,
        "cer_max": round(max(cers), 4) if cers else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for the variants, indexes, runs and formats.md")
    p.add_argument("--formats", nargs="+", choices=ALL, default=list(ALL))
    p.add_argument("--questions", default=str(ROOT / "eval" / "datasets" / "dev.jsonl"))
    p.add_argument(
        "--retrieval-only", action="store_true", help="no LLM: reading, retrieval and refusal gate"
    )
    p.add_argument(
        "--skip-done", action="store_true", help="keep a format whose run already has summary.json"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = Path(args.out)
    settings = Settings.from_env()
    made = [f for f in args.formats if f not in ("txt", "txt-raw")]
    variants = build_variants(ROOT / "corpus", out / "variants", made or ["txt"])
    questions = load_questions(Path(args.questions))
    embedder = make_embedder(settings)
    rows = {}
    for fmt in args.formats:
        folder = ROOT / "corpus" if fmt.startswith("txt") else variants.dirs[fmt]
        run_dir = out / fmt / ("run-retrieval" if args.retrieval_only else "run")
        index_dir = out / fmt / "index"
        figures = read_figures(folder, variants.sources, settings) if fmt not in ("txt", "txt-raw") else {}
        t0 = time.perf_counter()
        ingestor = make_ingestor(settings.with_(index_dir=index_dir), embedder)
        ingestor.repair = fmt != "txt-raw"
        report = ingestor.run(folder, progress=None, ocr_progress=None)
        figures["ingest_s"] = round(time.perf_counter() - t0, 1)
        figures["skipped"] = len(report.skipped)
        figures["repaired"] = sum(1 for d in load_index(index_dir).documents.values() if d.original_text)
        summary_path = run_dir / "summary.json"
        if not (args.skip_done and summary_path.is_file()):
            execute(
                settings,
                questions,
                RunConfig(
                    questions_file=args.questions,
                    out_dir=run_dir,
                    retrieval_only=args.retrieval_only,
                    index_dir=index_dir,
                    label=f"dev-{fmt}",
                ),
                service=None,
                progress=False,
            )
        m = json.loads(summary_path.read_text(encoding="utf-8"))["metrics"]
        ans, overall = m.get("answerable", {}), m.get("overall", {})
        figures |= {
            "key_facts": ans.get("key_facts"),
            "citation_precision": ans.get("citation_precision"),
            "hit@3": ans.get("hit@3"),
            "mrr": ans.get("mrr"),
            "passed": overall.get("pass_rate"),
        }
        rows[fmt] = figures
        print(f"{fmt}: {figures}", flush=True)
    table = render(rows, retrieval_only=args.retrieval_only)
    (out / ("formats-retrieval.md" if args.retrieval_only else "formats.md")).write_text(
        table, encoding="utf-8"
    )
    print(table)
    return 0


def _f(v: object, pct: bool = False) -> str:
    if v is None:
        return "–"
    if pct:
        return f"{float(v):.1%}"  # type: ignore[arg-type]
    return str(v)


def render(rows: dict[str, dict], *, retrieval_only: bool) -> str:
    head = (
        "| format | pages | read pages/s | CER (mean / max) | ingest s | hit@3 | MRR | key facts | citation precision | passed |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {fmt} | {_f(r.get('pages'))} | {_f(r.get('pages_per_s'))} | "
        f"{_f(r.get('cer_mean'), True)} / {_f(r.get('cer_max'), True)} | {_f(r.get('ingest_s'))} | "
        f"{_f(r.get('hit@3'), True)} | {_f(r.get('mrr'))} | {_f(r.get('key_facts'), True)} | "
        f"{_f(r.get('citation_precision'), True)} | {_f(r.get('passed'), True)} |"
        for fmt, r in rows.items()
    ]
    note = "retrieval only (no LLM)" if retrieval_only else "with the LLM"
    return f"Dev set per format, {note}. Tools: {environment_note()}\n\n" + head + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
