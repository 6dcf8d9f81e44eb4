#!/usr/bin/env python
"""What the support checker alone does to a run's answers: the LLM's stored replies checked again, sentence by
sentence, by the binding checker and by the older presence-only one, against the same retrieved passages.

    .venv/bin/python scripts/replay_checker.py eval-runs/dev [more runs …]

Per run it prints, for answerable questions, how many would show a written sentence that holds the key facts
(right) or one without them (wrong but shown), and for unanswerable ones how many would show any written
sentence. Only the checker differs between the two columns: the evidence decision and quotes are left out, so
these are the checker's share of the figures, not the service's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.dataset import parse_question  # noqa: E402
from eval.metrics import key_facts  # noqa: E402
from rag.attribution import SupportChecker  # noqa: E402
from rag.types import Chunk  # noqa: E402


def passages_of(result: dict[str, object]) -> list[Chunk]:
    out = []
    for p in result.get("passages") or []:  # type: ignore[attr-defined]
        text = str(p["text"])
        out.append(Chunk(p["chunk_id"], p["doc_id"], p["source"], p["title"], text, 0, len(text), "replay"))
    return out


def replay(run: Path, checker: SupportChecker) -> dict[str, int]:
    counts = {"right": 0, "wrong_shown": 0, "nothing_shown": 0, "unanswerable_shown": 0, "unanswerable": 0}
    for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        q = parse_question(rec["gold"], path=run / "results.jsonl", line_no=0)
        r = rec["result"]
        raw = str(r.get("raw_generation") or "")
        shown = ""
        if r.get("llm_called") and raw:
            checks = checker.check_answer(raw, passages_of(r), question=str(r.get("question") or ""))
            shown = " ".join(a.check.text for a in checks if a.check.supported)
        if not q.answerable:
            counts["unanswerable"] += 1
            counts["unanswerable_shown"] += bool(shown)
        elif not shown:
            counts["nothing_shown"] += 1
        elif key_facts(shown, q.must_contain).all_found:
            counts["right"] += 1
        else:
            counts["wrong_shown"] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="--out folders of eval runs (results.jsonl)")
    args = parser.parse_args()
    print("| run | checker | right | wrong but shown | nothing shown | unanswerable shown |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        for name, checker in (
            ("presence only", SupportChecker(bind_units=False)),
            ("binding", SupportChecker()),
        ):
            c = replay(run, checker)
            print(
                f"| {run.name} | {name} | {c['right']} | {c['wrong_shown']} | {c['nothing_shown']} | "
                f"{c['unanswerable_shown']} of {c['unanswerable']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
