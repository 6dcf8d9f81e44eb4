"""rag.checking.check_answer (staff console and `eval check`): sentence verdicts and unknown facts."""

from __future__ import annotations

import json

import pytest

from eval.__main__ import main
from rag.checking import check_answer, facts_not_in_passages
from rag.config import Settings
from rag.types import Chunk
from tests.conftest import make_service


def test_supported_draft(fake_index: Settings) -> None:
    service, _ = make_service(fake_index)
    res = check_answer(
        service,
        "Vilket telefonnummer har kontaktcenter?",
        "Du kan prata med en kommunvägledare på telefon 042-10 50 00.",
    )
    assert res.ok and res.supported == 1 and not res.facts_not_found
    (v,) = res.verdicts
    assert v.check.supported and v.passage is not None
    assert v.passage.source == "transformationsarena-almedalen.txt"
    assert v.check.chunk_id == v.passage.chunk_id
    data = res.to_dict()
    assert data["ok"] and data["sentences"][0]["passage"]["source"] == "transformationsarena-almedalen.txt"


def test_invented_facts_are_flagged(fake_index: Settings) -> None:
    service, _ = make_service(fake_index)
    res = check_answer(
        service,
        "Vilket telefonnummer har kontaktcenter?",
        "Ring kontaktcenter på telefon 040-99 99 99. Besök oss på Stortorget 17 [1]. "
        "Kontaktcenter leds av Kalle Anka.",
    )
    assert not res.ok
    assert "040-99 99 99" in res.facts_not_found and "Kalle Anka" in res.facts_not_found
    assert "Stortorget 17" not in " ".join(res.facts_not_found)
    verdicts = {v.check.text: v.check for v in res.verdicts}
    assert not verdicts["Ring kontaktcenter på telefon 040-99 99 99."].supported
    assert "040-99 99 99" in verdicts["Ring kontaktcenter på telefon 040-99 99 99."].missing_facts


def test_empty_answer_is_an_error(fake_index: Settings) -> None:
    service, _ = make_service(fake_index)
    with pytest.raises(ValueError, match="answer to check is empty"):
        check_answer(service, "fråga", "   ")


def test_facts_given_by_the_question_are_allowed() -> None:
    p = Chunk("d#0", "d", "d.txt", "D", "Öppet måndag.", 0, 13, "")
    assert facts_not_in_passages("Ärende 2023-1234 är öppet måndag.", [p], question="ärende 2023-1234?") == []
    assert set(facts_not_in_passages("Ärende 2023-1234 är öppet måndag.", [p])) == {"2023", "1234"}


def test_cli_check(
    fake_index: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_INDEX_DIR", str(fake_index.index_dir))
    monkeypatch.setenv("RAG_EMBEDDER", "fake")
    rc = main(
        [
            "check",
            "--question",
            "Vilket telefonnummer har kontaktcenter?",
            "--answer",
            "Ring 042-10 50 00. Besök oss på Drottninggatan 99.",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1  # not every sentence holds
    assert "OK 1." in out and "NO 2." in out and "best passage:" in out
    assert "Facts that no retrieved passage contains:" in out and "Drottninggatan" in out
    assert main(["check", "--question", "telefon?", "--answer", "Ring 042-10 50 00.", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
