"""A fuzz of the real server: no body gets a 500, and the three endpoints give every body one
answer (status and error kind, or name, count and maxval).

The bodies come from hypothesis: study bodies built from the places where JSON parsers
differ (escapes, lone and paired surrogates, invalid UTF-8 and control characters in keys,
the name and unknown fields; number spellings from `-0` to `1e400` and 400 digits; `NaN`;
whitespace and a BOM; nesting from 100 to 100,000 levels; repeated fields; the array form;
trailing bytes), some then damaged byte by byte, and some plain random bytes. A body that
fails is shrunk by hypothesis and printed.

It runs for `FASTAPI_FUZZ_SECONDS` (default 3: about 200 bodies, each sent to all three
endpoints), as a series of hypothesis searches of `BATCH` bodies each with a fresh seed, and
says how many bodies it sent (`pytest -s` shows it). `FASTAPI_FUZZ_SECONDS=300` for a long run.
"""

from __future__ import annotations

import os
import time

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CONTRACT, COUNTING_ENDPOINTS, Server

JSON = {"content-type": "application/json"}
#: Seconds the fuzz runs unless FASTAPI_FUZZ_SECONDS says otherwise.
DEFAULT_SECONDS = 3.0
#: Bodies per hypothesis search; the searches repeat, each with a new seed, until the time is up.
BATCH = 40

#: Pieces of a string every parser takes.
VALID_PIECES = [
    b"a", b"name", b"data", "é".encode(), "日本".encode(), "😀".encode(), b"\x7f", b'\\"', b"\\\\",
    b"\\/", b"\\b\\f\\n\\r\\t", b"\\u0041", b"\\u00e9", b"\\u0000", b"\\ud83d\\ude00", b"\\uffff",
]
#: Pieces some parser refuses, or reads differently: bad escapes, lone surrogates (escaped
#: and UTF-8-encoded), invalid UTF-8, control characters.
BAD_PIECES = [
    b"\\ud800", b"\\udc00", b"\\udbff\\u0041", b"\\udc00\\ud800", b"\\ud800x", b"\\u12zz", b"\\u",
    b"\\x41", b"\\'", b"\\", b"\xed\xa0\x80", b"\xff", b"\xc3", b"\xc3\x28", b"\xf0\x9f\x98",
    b"\xf4\x90\x80\x80", b"\x00", b"\x01", b"\t", b"\n", b"\x1f",
]
#: Number spellings: JSON's (integers at i64's and u64's edges, `-0`, floats, exponents, beyond
#: a double) and not JSON's.
NUMBERS = [
    b"0", b"-0", b"1", b"-1", b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808",
    b"-9223372036854775809", b"18446744073709551615", b"18446744073709551616", b"1.5", b"-0.0", b"1e3",
    b"1E2", b"1e-400", b"1e400", b"-1e400", b"9" * 400, b"-" + b"9" * 400, b"9" * 5000,
    b"NaN", b"Infinity", b"-Infinity", b"01", b"1.", b".5", b"+1", b"1e", b"0x10", b"-",
]
LITERALS = [b"true", b"false", b"null", b"tru", b"nul", b"True"]
SPACES = [b"", b" ", b"\n", b"\t", b"\r\n", b"  \n\t "]
#: Bytes some parser might take for whitespace: form feed, vertical tab, NBSP, a BOM.
BAD_SPACES = [b"\x0c", b"\x0b", b"\xc2\xa0", b"\xef\xbb\xbf"]
TRAILERS = [b"x", b"{}", b"\x00", b",", b"}", b"\xef\xbb\xbf", b"\xff", b"1"]
DEPTHS = [1, 2, 5, 100, 128, 129, 1000, 1024, 1025, 100_000]


def rarely(draw, odds: int = 10) -> bool:
    """True once in `odds` draws (hypothesis shrinks it towards False)."""
    return draw(st.integers(0, odds - 1)) == odds - 1


@st.composite
def json_strings(draw) -> bytes:
    """A string literal of valid pieces, now and then a bad one."""
    pieces = [
        draw(st.sampled_from(BAD_PIECES if rarely(draw) else VALID_PIECES))
        for _ in range(draw(st.integers(0, 3)))
    ]
    return b'"' + b"".join(pieces) + b'"'


@st.composite
def numbers(draw) -> bytes:
    """A number: mostly a plain integer, else one of the edge spellings."""
    if rarely(draw, 3):
        return draw(st.sampled_from(NUMBERS))
    return str(draw(st.integers(-(2**64), 2**64))).encode()


@st.composite
def spaces(draw) -> bytes:
    """Whitespace JSON allows, now and then a byte it does not."""
    return draw(st.sampled_from(BAD_SPACES if rarely(draw, 20) else SPACES))


@st.composite
def values(draw, depth: int = 2) -> bytes:
    """Any JSON-ish value: scalars, arrays and objects up to `depth`, or a tower of arrays."""
    kind = draw(st.integers(0, 9 if depth > 0 else 4))
    if kind <= 1:
        return draw(json_strings())
    if kind <= 3:
        return draw(numbers())
    if kind == 4:
        return draw(st.sampled_from(LITERALS))
    if kind == 9:
        levels = draw(st.sampled_from(DEPTHS))
        return b"[" * levels + draw(numbers()) + b"]" * levels
    space = draw(spaces())
    items = draw(st.lists(values(depth - 1), max_size=3))
    if kind <= 6:
        return b"[" + space + (b"," + space).join(items) + b"]"
    keys = draw(st.lists(json_strings(), min_size=len(items), max_size=len(items)))
    return b"{" + b",".join(key + b":" + space + item for key, item in zip(keys, items)) + b"}"


@st.composite
def study_bodies(draw) -> bytes:
    """`{"name": …, "data": {…}}`, fields in any order, now and then missing, repeated or joined
    by unknown fields; or the array form; or any value."""
    space = draw(spaces())
    name = draw(values(1) if rarely(draw) else json_strings())
    keys = st.sampled_from([b'"a"', b'"b"', b'"\\u0061"', b'"\xc3\xa9"', b'""'])
    pairs = [
        (draw(json_strings() if rarely(draw, 4) else keys), draw(values(1) if rarely(draw) else numbers()))
        for _ in range(draw(st.integers(0, 5)))
    ]
    data = b"{" + b",".join(key + b":" + space + value for key, value in pairs) + b"}"
    if rarely(draw, 20):
        data = draw(values(2))
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return b"[" + name + b"," + space + data + b"]"
    if shape == 1:
        return draw(values(3))
    fields = [b'"name":' + space + name, b'"data":' + space + data]
    if rarely(draw, 20):
        fields.pop(draw(st.integers(0, 1)))
    for _ in range(draw(st.integers(0, 2))):
        fields.append(draw(json_strings()) + b":" + space + draw(values(3)))
    if rarely(draw, 20):
        fields.append(draw(st.sampled_from(fields)))
    fields = draw(st.permutations(fields))
    body = draw(spaces()) + b"{" + b",".join(fields) + b"}" + draw(spaces())
    return body + (draw(st.sampled_from(TRAILERS)) if rarely(draw, 20) else b"")


@st.composite
def damaged(draw, bodies: st.SearchStrategy[bytes]) -> bytes:
    """A body with one to three bytes overwritten, inserted or removed, or cut short."""
    body = bytearray(draw(bodies))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(body)))
        edit = draw(st.integers(0, 3))
        byte = draw(st.sampled_from(b'"\\{}[],:0-.eu \x00\x80\xc3\xed\xff'))
        if edit == 0 and at < len(body):
            body[at] = byte
        elif edit == 1:
            body.insert(at, byte)
        elif edit == 2 and at < len(body):
            del body[at]
        else:
            del body[at:]
    return bytes(body)


BODIES = st.one_of(study_bodies(), study_bodies(), study_bodies(), damaged(study_bodies()), st.binary(max_size=64))


def answer(client: httpx.Client, path: str, body: bytes) -> tuple:
    """What `path` answers `body`: `(200, name, count, maxval)` or `(status, error kind)`."""
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code != 500, f"{path}: 500 {response.text}"
    document = response.json()
    if response.status_code == 200:
        return (200, document["name"], document["count"], document["maxval"])
    assert set(document) == {"error", "message"}, (path, response.status_code, document)
    assert CONTRACT.server_error(document["error"]).status == response.status_code, (path, document)
    return (response.status_code, document["error"])


def test_no_body_gets_a_500_and_every_endpoint_gives_the_same_answer(server: Server) -> None:
    """For FASTAPI_FUZZ_SECONDS, generated bodies: never a 500, one answer from all three."""
    seconds = float(os.environ.get("FASTAPI_FUZZ_SECONDS", DEFAULT_SECONDS))
    sent = 0
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=server.url, timeout=60) as client:

        @settings(
            max_examples=BATCH,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
        )
        @given(BODIES)
        def one_answer_for(body: bytes) -> None:
            nonlocal sent
            sent += 1
            answers = {path: answer(client, path, body) for path in COUNTING_ENDPOINTS}
            assert len(set(answers.values())) == 1, f"{body!r}: {answers}"
            status = answers[COUNTING_ENDPOINTS[0]][0]
            statuses[status] = statuses.get(status, 0) + 1

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            one_answer_for()
    print(f"\nfastapi fuzz: {sent} bodies in {seconds} s, each to {len(COUNTING_ENDPOINTS)} endpoints; statuses {statuses}")
    assert "Traceback" not in server.logs(), server.logs()
    # The generator reaches the three answers, or the fuzz is not testing much.
    assert {200, 400, 422} <= set(statuses), statuses
