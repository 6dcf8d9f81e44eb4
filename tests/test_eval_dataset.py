"""The question-file loader: the documented format, unknown fields kept, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dataset import QuestionFileError, doc_key, load_questions
from eval.metrics import contains

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "eval" / "datasets" / "dev.jsonl"


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "q.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_full_record_and_unknown_fields_kept(tmp_path: Path) -> None:
    rec = {
        "id": "a1",
        "question": "och var ligger ni?",
        "answer": "Stortorget 17",
        "must_contain": [["Stortorget 17"], "042-10 50 00"],
        "sources": ["transformationsarena-almedalen.txt"],
        "answerable": True,
        "lang": "sv",
        "history": [
            {"role": "user", "content": "telefon?"},
            {"role": "assistant", "content": "042-10 50 00"},
        ],
        "difficulty": "hard",
        "tags": ["kontakt"],
    }
    (q,) = load_questions(_write(tmp_path, [json.dumps(rec, ensure_ascii=False)]))
    assert q.id == "a1" and q.answerable and q.lang == "sv"
    assert q.must_contain == [["Stortorget 17"], ["042-10 50 00"]]
    assert [t.role for t in q.history] == ["user", "assistant"]
    assert q.extra == {"difficulty": "hard", "tags": ["kontakt"]}
    assert q.source_ids == {"transformationsarena-almedalen"}
    assert q.to_dict()["difficulty"] == "hard"


def test_minimal_record_defaults(tmp_path: Path) -> None:
    (q,) = load_questions(_write(tmp_path, ["", "# a comment", '{"question": "Hej?"}']))
    assert q.id == "line-3" and q.answerable and q.must_contain == [] and q.sources == [] and q.history == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "ok"', "line 2: not valid JSON"),
        ('["question"]', "line 2: expected a JSON object"),
        ('{"id": "x"}', 'line 2: "question" must be a non-empty string'),
        ('{"question": "q", "must_contain": "042"}', 'line 2: "must_contain" must be a list'),
        ('{"question": "q", "must_contain": [[]]}', 'line 2: "must_contain" has an empty group'),
        ('{"question": "q", "answerable": "yes"}', 'line 2: "answerable" must be true or false'),
        ('{"question": "q", "sources": "a.txt"}', 'line 2: "sources" must be a list of strings'),
        ('{"question": "q", "history": [{"role": "bot", "content": "x"}]}', 'line 2: every "history" item'),
        ('{"id": "dup", "question": "q"}', "duplicate id 'dup' (first used on line 1)"),
    ],
)
def test_bad_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, ['{"id": "dup", "question": "fine"}', line])
    with pytest.raises(QuestionFileError) as err:
        load_questions(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(QuestionFileError, match="not found"):
        load_questions(tmp_path / "nope.jsonl")
    with pytest.raises(QuestionFileError, match="holds no questions"):
        load_questions(_write(tmp_path, [""]))


def test_doc_key_accepts_names_with_or_without_extension() -> None:
    assert doc_key("tre-transformationer.txt") == doc_key("tre-transformationer") == "tre-transformationer"
    assert doc_key("corpus/Faq.MD") == "faq"


# --- the dev set itself ---------------------------------------------------------------------------


def test_dev_set_shape() -> None:
    qs = load_questions(DEV)
    assert len(qs) >= 60
    assert sum(not q.answerable for q in qs) >= 15
    assert sum(q.lang == "en" for q in qs) >= 5
    assert sum(bool(q.history) for q in qs) >= 3
    for q in qs:
        if q.answerable:
            assert q.sources and q.must_contain, q.id
        else:
            assert not q.sources and not q.must_contain, q.id


def test_dev_set_gold_facts_occur_in_their_sources() -> None:
    """Every must_contain group has an alternative that the (cited) gold document really contains."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "corpus").glob("*.txt")}
    for q in load_questions(DEV):
        for s in q.sources:
            assert s in texts, f"{q.id}: source {s} is not in corpus/"
        for group in q.must_contain:
            assert any(contains(texts[s], alt) for s in q.sources for alt in group), (q.id, group)
