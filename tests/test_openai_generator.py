"""The openai generator and its server pool, against small real HTTP servers that misbehave on purpose."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedders.fake import HashEmbedder
from rag.errors import ConfigError, GenerationUnavailableError
from rag.generation.base import make_generator
from rag.generation.fake import echo_first_passage
from rag.generation.openai import BACKOFF_S, OpenAIGenerator
from rag.service import AssistantService
from tests.helpers_llm_server import FakeLLMServer, SilentListener, closed_port_url

MESSAGES = [{"role": "system", "content": "Svara kort."}, {"role": "user", "content": "Hej?"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def servers() -> Iterator[list[FakeLLMServer]]:
    made: list[FakeLLMServer] = []
    yield made
    for s in made:
        s.close()


def serve(servers: list[FakeLLMServer], *args: object, **kwargs: object) -> FakeLLMServer:
    server = FakeLLMServer(*args, **kwargs)  # type: ignore[arg-type]
    servers.append(server)
    return server


def generator(urls: list[str], **kwargs: object) -> tuple[OpenAIGenerator, list[float]]:
    slept: list[float] = []
    options: dict[str, object] = {"connect_timeout_s": 1.0, "read_timeout_s": 5.0, "sleep": slept.append}
    options.update(kwargs)
    return OpenAIGenerator(urls, **options), slept  # type: ignore[arg-type]


def test_streams_the_reply_greedily_with_the_model_the_server_names(servers: list[FakeLLMServer]) -> None:
    server = serve(servers, "Kontaktcenter har öppet 8-17.", model="qwen-test")
    gen, _ = generator([server.url])
    pieces = list(gen.stream(MESSAGES, max_tokens=50))  # type: ignore[arg-type]
    assert len(pieces) > 1 and "".join(pieces) == "Kontaktcenter har öppet 8-17."
    body = server.requests[0]
    assert body["model"] == "qwen-test" and body["stream"] is True and body["temperature"] == 0
    assert body["max_tokens"] == 50 and body["messages"] == MESSAGES
    assert gen.name == "openai:qwen-test"


def test_a_refused_connection_goes_to_the_next_server_and_cools_the_first_down(
    servers: list[FakeLLMServer],
) -> None:
    up = serve(servers, "Svar.")
    dead = closed_port_url()
    gen, slept = generator([dead, up.url], clock=FakeClock())
    gen.pool.servers[1].last_pick = 10**6  # make the dead server the first choice
    assert "".join(gen.stream(MESSAGES, max_tokens=20)) == "Svar."  # type: ignore[arg-type]
    assert len(up.requests) == 1 and slept == [BACKOFF_S]
    states = {s["url"]: s for s in gen.health()["servers"]}  # type: ignore[union-attr]
    assert states[dead]["state"] == "cooling down" and "ConnectError" in states[dead]["last_error"]
    assert states[up.url]["state"] == "up"


def test_a_failed_server_is_left_out_for_its_cool_down_then_tried_again(servers: list[FakeLLMServer]) -> None:
    flaky = serve(servers, "Från A.", mode="status", status=503)
    steady = serve(servers, "Från B.")
    clock = FakeClock()
    gen, _ = generator([flaky.url, steady.url], clock=clock, cooldown_s=30.0)
    assert "".join(gen.stream(MESSAGES, max_tokens=20)) == "Från B."  # type: ignore[arg-type]
    assert len(flaky.requests) == 1  # 503: not taken, so the request went on to B
    for _ in range(3):  # A cools down: even when it is the least recently used, B takes everything
        assert "".join(gen.stream(MESSAGES, max_tokens=20)) == "Från B."  # type: ignore[arg-type]
    assert len(flaky.requests) == 1
    flaky.mode = "ok"
    clock.now += 31
    assert "".join(gen.stream(MESSAGES, max_tokens=20)) == "Från A."  # type: ignore[arg-type]
    assert gen.health()["servers"][0]["state"] == "up"  # type: ignore[index]


def test_least_busy_routing_one_request_per_server(servers: list[FakeLLMServer]) -> None:
    a = serve(servers, "ett två tre fyra", piece_delay=0.1)
    b = serve(servers, "ett två tre fyra", piece_delay=0.1)
    gen, _ = generator([a.url, b.url])
    results: list[str] = []

    def ask() -> None:
        results.append("".join(gen.stream(MESSAGES, max_tokens=20)))  # type: ignore[arg-type]

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert results == ["ett två tre fyra"] * 4
    assert len(a.requests) == len(b.requests) == 2  # spread evenly ...
    assert a.max_in_flight == b.max_in_flight == 1  # ... and never two at once on one server


def test_slots_let_a_batching_server_take_several_requests(servers: list[FakeLLMServer]) -> None:
    server = serve(servers, "ett två tre", piece_delay=0.15)
    gen, _ = generator([server.url], slots=3)
    threads = [
        threading.Thread(target=lambda: list(gen.stream(MESSAGES, max_tokens=20)))  # type: ignore[arg-type]
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert gen.capacity == 3 and server.max_in_flight == 3


def test_a_read_timeout_is_not_retried_elsewhere(servers: list[FakeLLMServer]) -> None:
    slow = serve(servers, "För sent.", mode="hang", delay=1.5)
    other = serve(servers, "Svar.")
    gen, _ = generator([slow.url, other.url], read_timeout_s=0.3)
    gen.pool.servers[1].last_pick = 10**6
    with pytest.raises(GenerationUnavailableError, match="sent nothing for") as info:
        list(gen.stream(MESSAGES, max_tokens=20))  # type: ignore[arg-type]
    assert not info.value.partial
    assert other.requests == []  # the slow server may still be writing it: no second copy of the work
    assert gen.health()["servers"][0]["state"] == "cooling down"  # type: ignore[index]


def test_a_connect_timeout_moves_on_to_the_next_server(servers: list[FakeLLMServer]) -> None:
    silent = SilentListener()
    try:
        up = serve(servers, "Svar.")
        gen, _ = generator([silent.url, up.url], connect_timeout_s=0.3)
        gen.pool.servers[1].last_pick = 10**6
        assert "".join(gen.stream(MESSAGES, max_tokens=20)) == "Svar."  # type: ignore[arg-type]
        assert "ConnectTimeout" in gen.health()["servers"][0]["last_error"]  # type: ignore[index]
    finally:
        silent.close()


def test_no_retry_after_part_of_the_reply_arrived(servers: list[FakeLLMServer]) -> None:
    broken = serve(
        servers, "Första delen av svaret och sedan inget mer.", mode="break", pieces_before_break=3
    )
    other = serve(servers, "Ett helt annat svar.")
    gen, _ = generator([broken.url, other.url])
    gen.pool.servers[1].last_pick = 10**6
    got: list[str] = []
    with pytest.raises(GenerationUnavailableError) as info:
        for piece in gen.stream(MESSAGES, max_tokens=50):  # type: ignore[arg-type]
            got.append(piece)
    assert "".join(got) == "Första delen av" and info.value.partial
    assert other.requests == []  # another server would write another reply after the first one's start


def test_every_server_down_is_a_domain_error_naming_them_after_backed_off_retries() -> None:
    dead = [closed_port_url(), closed_port_url()]
    gen, slept = generator(dead, retries=2)
    with pytest.raises(GenerationUnavailableError) as info:
        list(gen.stream(MESSAGES, max_tokens=20))  # type: ignore[arg-type]
    assert slept == [BACKOFF_S, 2 * BACKOFF_S]
    assert all(url in str(info.value) for url in dead) and "RAG_LLM_URLS" in str(info.value)
    assert all(s["state"] == "cooling down" for s in gen.health()["servers"])  # type: ignore[union-attr]


def test_a_request_the_server_rejects_fails_without_cooling_the_server_down(
    servers: list[FakeLLMServer],
) -> None:
    server = serve(servers, mode="status", status=400)
    gen, slept = generator([server.url])
    with pytest.raises(GenerationUnavailableError, match="HTTP 400"):
        list(gen.stream(MESSAGES, max_tokens=20))  # type: ignore[arg-type]
    assert slept == [] and len(server.requests) == 1
    state = gen.health()["servers"][0]  # type: ignore[index]
    assert state["state"] == "up" and state["failures"] == 0


def test_settings_name_the_variable_to_fix() -> None:
    with pytest.raises(ConfigError, match="RAG_LLM_URLS"):
        Settings.from_env(environ={"RAG_GENERATOR": "openai"})
    with pytest.raises(ConfigError, match="RAG_LLM_URLS: 'llm1:8000'"):
        Settings.from_env(environ={"RAG_GENERATOR": "openai", "RAG_LLM_URLS": "llm1:8000"})
    with pytest.raises(ConfigError, match="RAG_LLM_SLOTS"):
        Settings.from_env(environ={"RAG_LLM_SLOTS": "0"})
    with pytest.raises(ConfigError, match="RAG_LLM_READ_TIMEOUT_S"):
        Settings.from_env(environ={"RAG_LLM_READ_TIMEOUT_S": "abc"})
    settings = Settings.from_env(
        environ={
            "RAG_GENERATOR": "openai",
            "RAG_LLM_URLS": " http://a:8000/v1/ , http://b:8000/v1",
            "RAG_LLM_SLOTS": "2",
        }
    )
    gen = make_generator(settings)
    assert isinstance(gen, OpenAIGenerator) and gen.capacity == 4
    assert [s.url for s in gen.pool.servers] == ["http://a:8000/v1", "http://b:8000/v1"]


def test_the_resident_gets_the_hand_off_when_no_server_answers(fake_index: Settings) -> None:
    gen, _ = generator([closed_port_url()], retries=1)
    service = AssistantService(fake_index, embedder=HashEmbedder(), generator=gen)
    answer = service.ask("Vilket telefonnummer har kontaktcenter?")
    assert answer.refused and answer.refusal_reason == "llm_unavailable" and answer.llm_called
    assert answer.text.startswith("Jag kan tyvärr inte svara just nu")
    assert "042-10 50 00" in answer.text and "Stortorget 17" in answer.text  # phone and visit address


def test_a_reply_that_broke_off_keeps_its_verified_sentences(
    fake_index: Settings, servers: list[FakeLLMServer]
) -> None:
    def reply(messages: list) -> str:  # type: ignore[type-arg]
        return echo_first_passage(messages) + " Och sedan"

    server = serve(servers, reply, mode="break", pieces_before_break=10**6)  # never says [DONE]
    gen, _ = generator([server.url])
    service = AssistantService(fake_index, embedder=HashEmbedder(), generator=gen)
    answer = service.ask("Vilket telefonnummer har kontaktcenter?")
    assert not answer.refused and answer.citations, answer.text
    assert answer.raw_generation and answer.raw_generation.endswith("Och sedan")  # all that arrived
    assert any(s.supported for s in answer.sentences)  # the whole sentence before the break was verified
    assert "Och sedan" not in answer.text  # the cut-off fragment was not


def test_the_web_app_answers_as_many_at_once_as_the_pool_has_slots_and_shows_the_servers(
    tmp_path: Path, servers: list[FakeLLMServer]
) -> None:
    from fastapi.testclient import TestClient

    from rag.web import WebSettings, create_app
    from rag.web.fakes import fake_service

    up = serve(servers, "Svar.")
    dead = closed_port_url()
    service = fake_service(tmp_path)
    service._generator = generator([up.url, dead], slots=2)[0]
    app = create_app(service, web=WebSettings(warm_up=False))
    assert app.state.assistant.gate.workers == 4
    list(service.generator.stream(MESSAGES, max_tokens=5))  # type: ignore[arg-type]
    health = TestClient(app).get("/api/health").json()
    assert health["generator"]["name"] == "openai:fake-model"
    assert [s["url"] for s in health["generator"]["servers"]] == [up.url, dead]
