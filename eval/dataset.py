"""The question-set format (JSONL) and its loader.

One JSON object per line::

    {"id": str, "question": str, "answer": str|null, "must_contain": [[alt, ...], ...],
     "sources": [str, ...], "answerable": bool, "lang": "sv"|"en"|..., "history": [{"role", "content"}, ...]}

Only ``question`` is required. Unknown extra fields are kept (``Question.extra``) and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from rag.types import Turn

KNOWN_FIELDS = ("id", "question", "answer", "must_contain", "sources", "answerable", "lang", "history")


class QuestionFileError(ValueError):
    """A question file that cannot be read; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str | None = None
    must_contain: list[list[str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    answerable: bool = True
    lang: str | None = None
    history: list[Turn] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source_ids(self) -> set[str]:
        """Gold sources as document ids (file names without extension), for matching against passages."""
        return {doc_key(s) for s in self.sources}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "must_contain": [list(g) for g in self.must_contain],
            "sources": list(self.sources),
            "answerable": self.answerable,
            "lang": self.lang,
            "history": [{"role": t.role, "content": t.content} for t in self.history],
        }
        data.update(self.extra)
        return data


def doc_key(name: str) -> str:
    """'tre-transformationer.txt', 'tre-transformationer', 'corpus/tre-transformationer.txt' and the same document
    as .pdf, .docx, .odt or a scan -> same key."""
    stem = PurePath(name.strip()).name
    for ext in (
        ".txt",
        ".md",
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".odt",
        ".png",
        ".jpg",
        ".jpeg",
        ".tif",
        ".tiff",
    ):
        if stem.lower().endswith(ext):
            return stem[: -len(ext)].lower()
    return stem.lower()


def _fail(path: Path, line_no: int, msg: str) -> QuestionFileError:
    return QuestionFileError(f"{path}, line {line_no}: {msg}")


def _str_list(value: Any, name: str, path: Path, line_no: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, line_no, f"{name} must be a list of strings, got {value!r}")
    return list(value)


def parse_question(data: Any, *, path: Path, line_no: int) -> Question:
    if not isinstance(data, dict):
        raise _fail(path, line_no, f"expected a JSON object, got {type(data).__name__}")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _fail(path, line_no, f'"question" must be a non-empty string, got {question!r}')
    qid = data.get("id", f"line-{line_no}")
    if not isinstance(qid, (str, int)):
        raise _fail(path, line_no, f'"id" must be a string, got {qid!r}')
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise _fail(path, line_no, f'"answer" must be a string or null, got {answer!r}')

    raw_groups = data.get("must_contain") or []
    if not isinstance(raw_groups, list):
        raise _fail(
            path, line_no, f'"must_contain" must be a list of groups like [["a", "b"]], got {raw_groups!r}'
        )
    groups: list[list[str]] = []
    for g in raw_groups:
        if isinstance(g, str):  # a lone string is a group with one alternative
            g = [g]
        alts = _str_list(g, '"must_contain" group', path, line_no)
        alts = [a for a in alts if a.strip()]
        if not alts:
            raise _fail(path, line_no, f'"must_contain" has an empty group: {raw_groups!r}')
        groups.append(alts)

    sources = _str_list(data.get("sources"), '"sources"', path, line_no)
    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        raise _fail(path, line_no, f'"answerable" must be true or false, got {answerable!r}')
    lang = data.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise _fail(path, line_no, f'"lang" must be a language code such as "sv", got {lang!r}')

    history: list[Turn] = []
    for turn in data.get("history") or []:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise _fail(
                path,
                line_no,
                f'every "history" item must be {{"role": "user"|"assistant", "content": str}}, got {turn!r}',
            )
        history.append(Turn(role=turn["role"], content=turn["content"]))

    extra = {k: v for k, v in data.items() if k not in KNOWN_FIELDS}
    return Question(
        id=str(qid),
        question=question,
        answer=answer,
        must_contain=groups,
        sources=sources,
        answerable=answerable,
        lang=lang,
        history=history,
        extra=extra,
    )


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question file; blank lines and lines starting with '#' or '//' are skipped."""
    path = Path(path)
    if not path.is_file():
        raise QuestionFileError(f"question file not found: {path} (pass --questions FILE.jsonl)")
    out: list[Question] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", "//")):
                continue
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise _fail(path, line_no, f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
            q = parse_question(data, path=path, line_no=line_no)
            if q.id in seen:
                raise _fail(path, line_no, f"duplicate id {q.id!r} (first used on line {seen[q.id]})")
            seen[q.id] = line_no
            out.append(q)
    if not out:
        raise QuestionFileError(f"{path} holds no questions (one JSON object per line expected)")
    return out
