"""The strategy endpoints' answers, and the headers and /healthz every client relies on."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from conftest import CONTRACT, COUNTING_ENDPOINTS, ENDPOINTS, HEALTH_PATH, Server

PING, PONG, OFFLOAD = (CONTRACT.strategy(path).path for path in ("/ping", "/pong", "/offload"))
READ_BODY, BLOCKING_WAIT, PARSE, COMPUTE, DROP = (
    CONTRACT.phase(phase) for phase in ("read_body", "blocking_wait", "parse", "compute", "drop")
)
REQUEST_ID, WORKER_ID = CONTRACT.http.request_id_header, CONTRACT.http.worker_id_header
JSON = {"content-type": "application/json"}
SMALL = b'{"name":"small","data":{"abcdefghij": 123, "klmnopqrst": 7, "uvwxyzabcd": 999}}'


def expected(body: bytes) -> tuple[str, int, int]:
    """name, count and maxval as Python's json module sees the body (last duplicate wins)."""
    document = json.loads(body)
    return document["name"], len(document["data"]), max(document["data"].values(), default=0)


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_a_small_study_body_is_counted(client: httpx.Client, path: str) -> None:
    """Every endpoint answers name, count, maxval, elapsed_server (int ms) and worker 0."""
    response = client.post(path, content=SMALL, headers=JSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"name", "count", "maxval", "elapsed_server", "profiling", "worker"}
    assert (body["name"], body["count"], body["maxval"]) == ("small", 3, 999)
    assert isinstance(body["elapsed_server"], int) and body["elapsed_server"] >= 0
    assert body["worker"] == 0


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_a_repeated_key_counts_once_and_keeps_its_last_value(client: httpx.Client, path: str) -> None:
    """Duplicate keys in data: the last value wins, as in a Python dict (and in lab-server)."""
    body = b'{"name":"dup","data":{"abcdefghij": 900, "b": 5, "abcdefghij": 1}}'
    answer = client.post(path, content=body, headers=JSON).json()
    assert (answer["count"], answer["maxval"]) == (2, 5)


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_empty_data_has_maxval_zero(client: httpx.Client, path: str) -> None:
    """An empty data object counts 0 keys and reports maxval 0."""
    answer = client.post(path, content=b'{"name":"none","data":{}}', headers=JSON).json()
    assert (answer["count"], answer["maxval"]) == (0, 0)


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_a_five_megabyte_body_is_counted(client: httpx.Client, path: str, five_mb_body: bytes) -> None:
    """A ~5 MB study body (~250,000 pairs) gives the same count and maxval on every endpoint."""
    assert 4_500_000 < len(five_mb_body) < 6_000_000
    answer = client.post(path, content=five_mb_body, headers=JSON).json()
    assert (answer["name"], answer["count"], answer["maxval"]) == expected(five_mb_body)


def test_ping_reports_no_phases(client: httpx.Client) -> None:
    """/ping is the framework's typed endpoint: its profiling is empty."""
    assert client.post(PING, content=SMALL, headers=JSON).json()["profiling"] == {}


def test_pong_reports_each_phase_in_ms(client: httpx.Client, five_mb_body: bytes) -> None:
    """/pong's profiling has read_body, parse, compute and drop in ms; for 5 MB the parse shows."""
    profiling = client.post(PONG, content=five_mb_body, headers=JSON).json()["profiling"]
    assert set(profiling) == {READ_BODY, PARSE, COMPUTE, DROP}
    assert all(isinstance(ms, float) and ms >= 0 for ms in profiling.values())
    assert profiling[PARSE] > 1.0


def test_offload_sends_only_large_bodies_to_a_thread(client: httpx.Client, five_mb_body: bytes) -> None:
    """/offload parses a small body on the loop, and a large one in a thread (blocking_wait)."""
    small = client.post(OFFLOAD, content=SMALL, headers=JSON).json()["profiling"]
    assert set(small) == {READ_BODY, PARSE, COMPUTE, DROP}
    large = client.post(OFFLOAD, content=five_mb_body, headers=JSON).json()["profiling"]
    assert set(large) == {READ_BODY, BLOCKING_WAIT, PARSE, COMPUTE, DROP}


def test_json_with_a_suffix_and_a_charset_is_accepted(client: httpx.Client) -> None:
    """`application/vnd.lab+json; charset=utf-8` is JSON too, as lab-server accepts it."""
    headers = {"content-type": "application/vnd.lab+json; charset=utf-8"}
    assert client.post(PONG, content=SMALL, headers=headers).status_code == 200


@pytest.mark.parametrize("body", [SMALL, b"{", b"", b"[1,2,3]"])
def test_the_floor_reads_any_body_and_answers_zeros(client: httpx.Client, body: bytes) -> None:
    """/drain parses nothing: any body, even malformed or empty, is read whole and answered 200
    with an empty name, count and maxval 0, and its read_body time in profiling."""
    floors = [path for path in ENDPOINTS if path not in COUNTING_ENDPOINTS]
    assert floors, "the FastAPI peer serves the floor, /drain"
    for path in floors:
        response = client.post(path, content=body, headers=JSON)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["name"], answer["count"], answer["maxval"]) == ("", 0, 0)
        assert READ_BODY in answer["profiling"]


def test_every_response_names_its_worker(client: httpx.Client) -> None:
    """x-worker-id is on answers, errors, /healthz and /metrics alike."""
    for response in [
        *(client.post(path, content=SMALL, headers=JSON) for path in ENDPOINTS),
        client.post(PING, content=b"{", headers=JSON),
        client.get(HEALTH_PATH),
        client.get("/metrics"),
        client.get("/nowhere"),
    ]:
        assert response.headers[WORKER_ID] == "0", response.request.url


def test_the_request_id_is_echoed_when_sent(client: httpx.Client) -> None:
    """x-request-id comes back as sent, and only when sent."""
    sent = client.post(PONG, content=SMALL, headers={**JSON, REQUEST_ID: "small-000042"})
    assert sent.headers[REQUEST_ID] == "small-000042"
    assert REQUEST_ID not in client.post(PONG, content=SMALL, headers=JSON).headers


def test_healthz_reports_the_settings(server: Server) -> None:
    """/healthz is lab-server's body (status, workers, keep_alive_seconds, endpoints, instance),
    plus workers_ready."""
    response = httpx.get(f"{server.url}{HEALTH_PATH}")
    health = response.json()
    assert re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", health.pop("instance"))
    assert health == {"status": "ok", "workers": 1, "keep_alive_seconds": 5,
                      "endpoints": list(ENDPOINTS), "workers_ready": 1}
    assert response.headers["content-type"] == "application/json"
