"""How well the å/ä/ö repair (rag/repair.py) restores text whose damage is known, and what it does to the FAQ.

    .venv/bin/python scripts/eval_repair.py            # figures per document and in all
    .venv/bin/python scripts/eval_repair.py --errors   # also every wrong change and every missed word

Each healthy document of corpus/ is copied with å, ä and ö stripped (å, ä -> a, ö -> o) and repaired with the
corpus vocabulary of the *other* healthy documents (its own words would give the answer away). Precision:
changed words that now equal the original; recall: damaged words restored exactly. Then the damaged
corpus/faq-malbild-2027.txt is repaired as ingest does it, and its first lines are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rag.repair import AccentRepairer, corpus_vocabulary, measure

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(ROOT / "corpus"))
    p.add_argument("--errors", action="store_true", help="list wrong changes and missed words")
    args = p.parse_args(argv)
    corpus = Path(args.corpus)
    texts = {f.name: f.read_text(encoding="utf-8") for f in sorted(corpus.glob("*.txt"))}
    probe = AccentRepairer()
    healthy = {n: t for n, t in texts.items() if not probe.damage(t).is_damaged}
    damaged = sorted(set(texts) - set(healthy))
    print("Damage detection (share of words unknown as written but common with å/ä/ö):")
    for name, text in texts.items():
        d = probe.damage(text)
        print(
            f"  {name:40s} {d.damaged:4d} of {d.words:5d} words ({d.share:6.1%}), with å/ä/ö {d.accented / max(d.words, 1):6.1%}"
            f"  -> {'DAMAGED' if d.is_damaged else 'healthy'}"
        )
    print("\nRepair of copies with å/ä/ö stripped (vocabulary: the other healthy documents):")
    print(f"  {'document':40s} {'damaged':>8s} {'changed':>8s} {'precision':>10s} {'recall':>8s}")
    totals = [0, 0, 0]
    errors, missed = [], []
    t0 = time.perf_counter()
    for name, truth in healthy.items():
        vocab = corpus_vocabulary(t for n, t in healthy.items() if n != name)
        fig = measure(truth, AccentRepairer(vocab))
        totals[0] += fig.damaged_words
        totals[1] += fig.changed_words
        totals[2] += fig.correct_changes
        errors += fig.errors
        missed += fig.missed
        print(
            f"  {name:40s} {fig.damaged_words:8d} {fig.changed_words:8d} {fig.precision:10.2%} {fig.recall:8.2%}"
        )
    precision = totals[2] / totals[1] if totals[1] else 1.0
    recall = totals[2] / totals[0] if totals[0] else 1.0
    print(
        f"  {'all':40s} {totals[0]:8d} {totals[1]:8d} {precision:10.2%} {recall:8.2%}"
        f"   ({time.perf_counter() - t0:.1f} s)"
    )
    if args.errors:
        print("\nWrong changes (written -> changed to, truth):")
        for d, r, t in errors:
            print(f"  {d} -> {r} ({t})")
        print("\nMissed (written, truth):")
        for d, t in sorted(missed):
            print(f"  {d} ({t})")
    vocab = corpus_vocabulary(healthy.values())
    for name in damaged:
        fixed = AccentRepairer(vocab).repair(texts[name])
        print(f"\n{name}: {len(fixed.changes)} words restored: {fixed.summary(12)}\n")
        print("\n".join(fixed.text.splitlines()[:12]))
    return 0 if precision >= 0.99 and recall >= 0.90 else 1


if __name__ == "__main__":
    sys.exit(main())
