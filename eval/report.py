"""Reports of a run: report.md for reading in a terminal or a merge request, and a self-contained
report.html (inline SVG plots, no external files or scripts)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Headline metrics: (key in the aggregated metrics, label, is a share 0..1)
HEADLINE: list[tuple[str, str]] = [
    ("hit@1", "Retrieval hit@1"),
    ("hit@3", "Retrieval hit@3"),
    ("recall@3", "Retrieval recall@3"),
    ("mrr", "Retrieval MRR"),
    ("ndcg@10", "Retrieval nDCG@10"),
    ("context_hit", "Gold source in LLM context"),
    ("key_facts", "Key-fact accuracy"),
    ("key_facts_all", "Key facts, refusals counted"),
    ("wrong_but_shown", "Wrong but shown"),
    ("answerable_refused", "Answerable refused"),
    ("unanswerable_refused", "Unanswerable refused + hand-off"),
    ("citation_precision", "Citation precision"),
    ("citation_support", "Citation support"),
    ("refusal_precision", "Refusal precision"),
    ("refusal_recall", "Refusal recall"),
    ("language_match", "Language match"),
    ("pass_rate", "Questions passed"),
]
LATENCY: list[tuple[str, str]] = [
    ("ttft_ms_p50", "Time to first token p50 (ms)"),
    ("ttft_ms_p95", "Time to first token p95 (ms)"),
    ("total_ms_p50", "Total time p50 (ms)"),
    ("total_ms_p95", "Total time p95 (ms)"),
    ("tokens_per_s", "Tokens per second"),
]


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def failures(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not r["scores"]["passed"]]


# --- markdown -------------------------------------------------------------------------------------


def render_markdown(summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    run, groups = summary["run"], summary["metrics"]
    names = list(groups)
    lines = [
        f"# Evaluation report: {run['label']}",
        "",
        f"- Questions: {run['questions']} from `{run['questions_file']}`; started {run['started']}, "
        f"{run['seconds']} s",
        f"- Embedder `{run['embedder']}`, generator `{run['generator']}`, index `{run['index_dir']}`",
        f"- top_k {run['top_k']}, context_k {run['context_k']}, relevance threshold "
        f"{run['relevance_threshold']}, support threshold {run['support_threshold']}",
        f"- Hand-off phone found in the corpus: {run['handoff_phone'] or 'NONE'}",
        "",
        "## Metrics",
        "",
        "| metric | " + " | ".join(f"{n} (n={groups[n]['n']})" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, label in HEADLINE + LATENCY:
        if all(groups[n].get(key) is None for n in names):
            continue
        digits = (
            0 if key.endswith("_ms_p50") or key.endswith("_ms_p95") else (1 if key == "tokens_per_s" else 3)
        )
        lines.append(f"| {label} | " + " | ".join(fmt(groups[n].get(key), digits) for n in names) + " |")
    fails = failures(records)
    lines += ["", f"## Failures ({len(fails)} of {len(records)})", ""]
    if fails:
        lines += ["| id | question | answer | what went wrong |", "|---|---|---|---|"]
        for r in fails:
            lines.append(
                "| "
                + " | ".join(
                    _md_cell(x, 300)
                    for x in (
                        r["id"],
                        r["gold"]["question"],
                        r["result"].get("answer") or "",
                        "; ".join(r["scores"]["failures"]),
                    )
                )
                + " |"
            )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _md_cell(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


# --- HTML with inline SVG ------------------------------------------------------------------------


def svg_bars(values: Sequence[tuple[str, float | None]], *, width: int = 640) -> str:
    """Horizontal bars for shares in 0..1; a missing value is drawn as 'n/a'."""
    row, label_w, pad = 24, 230, 8
    bar_w = width - label_w - 70
    h = row * len(values) + pad * 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" aria-label="metrics">'
    ]
    for i, (label, v) in enumerate(values):
        y = pad + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13">{html.escape(label)}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="16" fill="#eee"/>')
        if v is None:
            parts.append(f'<text x="{label_w + 6}" y="{y + 16}" font-size="12" fill="#888">n/a</text>')
            continue
        w = max(0.0, min(1.0, v)) * bar_w
        color = "#2e7d32" if v >= 0.8 else "#f9a825" if v >= 0.5 else "#c62828"
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="16" fill="{color}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}" font-size="12">{v:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: Sequence[float], bins: int = 12) -> list[tuple[float, float, int]]:
    """(low, high, count) per bin over the range of values."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi <= lo:
        return [(lo, hi, len(values))]
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    return [(lo + i * step, lo + (i + 1) * step, c) for i, c in enumerate(counts)]


def svg_histogram(values: Sequence[float], *, title: str, width: int = 640, height: int = 220) -> str:
    bins = histogram(values)
    if not bins:
        return f"<p><em>{html.escape(title)}: no values.</em></p>"
    left, bottom, top = 40, 40, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(c for _, _, c in bins) or 1
    bw = plot_w / len(bins)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" font-size="13">{html.escape(title)} (n={len(values)})</text>',
    ]
    for i, (a, b, c) in enumerate(bins):
        h = plot_h * c / peak
        x = left + i * bw
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="#1565c0">'
            f"<title>{a:.0f}–{b:.0f} ms: {c}</title></rect>"
        )
        if c:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="10" '
                f'text-anchor="middle">{c}</text>'
            )
    for a in (bins[0][0], bins[len(bins) // 2][0], bins[-1][1]):
        x = left + (a - bins[0][0]) / ((bins[-1][1] - bins[0][0]) or 1) * plot_w
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle">{a:.0f}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 4}" font-size="11" text-anchor="middle">ms</text>'
    )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:13px}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail td{background:#fff8f8}.small{color:#555;font-size:12px}
"""


def render_html(summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    run, groups = summary["run"], summary["metrics"]
    overall = groups["overall"]
    e = html.escape
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Evaluation: {e(run['label'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation report: {e(run['label'])}</h1>",
        f"<p class='small'>{run['questions']} questions from <code>{e(run['questions_file'])}</code>; "
        f"started {e(run['started'])}, {run['seconds']} s. Embedder <code>{e(str(run['embedder']))}</code>, "
        f"generator <code>{e(str(run['generator']))}</code>, index <code>{e(run['index_dir'])}</code>. "
        f"Hand-off phone: {e(str(run['handoff_phone']))}.</p>",
        "<h2>Metrics (all questions)</h2>",
        svg_bars([(label, overall.get(key)) for key, label in HEADLINE]),
        "<h2>Metrics by group</h2><table><tr><th>metric</th>",
    ]
    names = list(groups)
    out.append("".join(f"<th>{e(n)} (n={groups[n]['n']})</th>" for n in names) + "</tr>")
    for key, label in HEADLINE + LATENCY:
        if all(groups[n].get(key) is None for n in names):
            continue
        digits = 0 if "_ms_" in key else (1 if key == "tokens_per_s" else 3)
        out.append(
            f"<tr><td>{e(label)}</td>"
            + "".join(f"<td class='num'>{fmt(groups[n].get(key), digits)}</td>" for n in names)
            + "</tr>"
        )
    out.append("</table><h2>Latency</h2>")
    totals = [r["scores"]["total_ms"] for r in records if r["scores"].get("total_ms") is not None]
    ttfts = [r["scores"]["ttft_ms"] for r in records if r["scores"].get("ttft_ms") is not None]
    out.append(svg_histogram(totals, title="Total time per question"))
    if ttfts:
        out.append(svg_histogram(ttfts, title="Time to first token"))
    fails = failures(records)
    out.append(f"<h2>Failures ({len(fails)} of {len(records)})</h2>")
    if not fails:
        out.append("<p>None.</p>")
    else:
        out.append("<table><tr><th>id</th><th>question</th><th>answer</th><th>what went wrong</th></tr>")
        for r in fails:
            out.append(
                "<tr class='fail'>"
                f"<td>{e(r['id'])}</td><td>{e(r['gold']['question'])}</td>"
                f"<td>{e(str(r['result'].get('answer') or ''))}</td>"
                f"<td><ul>{''.join(f'<li>{e(f)}</li>' for f in r['scores']['failures'])}</ul></td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(summary: dict[str, Any], records: Sequence[dict[str, Any]], out_dir: Path) -> None:
    (out_dir / "report.md").write_text(render_markdown(summary, records), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(summary, records), encoding="utf-8")
