"""How a body becomes a JSON document: the same answer on all three endpoints, and, as far as
Python's parsers allow, the answer lab-server's serde_json gives.

Two Python parsers read the bodies, and at the edges of JSON they disagree with each other
and with serde_json: FastAPI's `json.loads(body)` skips a UTF-8 BOM, guesses UTF-16, and takes
`NaN` and lone surrogates, all of which orjson refuses; and a name holding a lone surrogate
cannot even be encoded in the answer. The rules every endpoint follows, lab-server's:

| in the body                                      | answer                                |
|--------------------------------------------------|---------------------------------------|
| not JSON: a syntax error, a BOM, `NaN`,          | 400 `malformed_json`                  |
| `Infinity`, trailing data, an empty body         |                                       |
| a key, the name, or a string where an integer    | 400 `malformed_json`                  |
| belongs, that is not valid Unicode (invalid      |                                       |
| UTF-8, a lone surrogate escape)                  |                                       |
| the same inside an unknown field's value         | ignored, like the rest of that value  |
| a number beyond a double (`1e400`, 400 digits)   | 400 in `name` or `data`; ignored in   |
|                                                  | an unknown field                      |
| an integer outside i64, a float, `1e3`           | 422 `wrong_shape` in `data`           |

What each endpoint runs:

- `/pong` and `/offload`: `orjson.loads`, the fast path. orjson refuses everything the table
  refuses, and more: invalid UTF-8 and lone surrogates anywhere, numbers beyond a double
  anywhere, so a body it refuses gets a second reading, `careful_loads`.
- `/ping`: FastAPI calls `ping_loads` instead of its own `json.loads(body)`: the same json
  module, told to refuse `NaN` and `Infinity`, given text decoded as strict UTF-8 (so a BOM
  is refused, not skipped, and UTF-16 is not guessed); what it refuses gets `careful_loads`.
- `careful_loads`: the json module on the body decoded with every byte that is not UTF-8
  kept as a lone surrogate, with a hook that reads integers beyond u64 as doubles (infinity
  beyond 1.8e308). It accepts what serde_json skips in an unknown field, and refuses a lone
  surrogate in the strings serde_json reads (`_refuse_lone_surrogates`); the numbers are
  checked with the shape, by each endpoint. Only refused bodies take this path: a study body
  never does.

A body nested deeper than the json module's recursion limit lets it go (about 950 levels on
the event loop) is read by orjson, whose limit is 1024 levels: /ping then takes orjson's
document, so the three endpoints agree at every depth. What neither goes through, serde_json
skips in an unknown field at any depth: one of the differences the conformance cases mark.
"""

from __future__ import annotations

import json

import orjson

from .errors import LabError

#: What `json.loads` gives up with before it has read the body: a syntax error, a `NaN`
#: refused by `_refuse_constant`, an integer over Python's 4300-digit conversion limit, and
#: nesting deeper than its recursion limit.
_JSON_FAILURES = (ValueError, RecursionError)
#: The integers json keeps as `int` on the careful path: i64's and u64's, as orjson does. Any
#: other is read as a double (infinity beyond 1.8e308), as orjson and serde_json read it; so
#: Python's 4300-digit limit on `int()` never refuses one.
_I64_MIN = -(2**63)
_U64_MAX = 2**64 - 1
#: Digits of the longest integer that can be within u64 (or i64, with its sign).
_INTEGER_DIGITS = 20


def _refuse_constant(name: str) -> float:
    """json's hook for `NaN`, `Infinity` and `-Infinity`: they are not JSON numbers."""
    raise ValueError(f"{name} is not a JSON number")


def _integer(digits: str) -> int | float:
    """json's hook for integers on the careful path: an `int` within i64 and u64, else the
    double orjson would read (infinity beyond 1.8e308)."""
    if len(digits) <= _INTEGER_DIGITS + 1:
        value = int(digits)
        if _I64_MIN <= value <= _U64_MAX:
            return value
    return float(digits)


def _malformed(error: BaseException) -> LabError:
    """The 400 for a body json refused, with the position when json gives one."""
    if isinstance(error, json.JSONDecodeError):
        return LabError.malformed_json(f"{error.msg} at line {error.lineno} column {error.colno}")
    if isinstance(error, RecursionError):
        return LabError.malformed_json("nesting deeper than the parser's recursion limit")
    return LabError.malformed_json(str(error))


def _orjson_document(body: bytes | bytearray) -> object:
    """orjson's document, or its refusal as a 400."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise LabError.malformed_json(str(error)) from None


def careful_loads(body: bytes | bytearray) -> object:
    """The body's document as serde_json reads it: what it skips in an unknown field is not
    checked here either, while the keys and the name must be valid Unicode (see the module
    docs). Raises a 400 `LabError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "surrogateescape")
    try:
        document = json.loads(text, parse_constant=_refuse_constant, parse_int=_integer)
    except RecursionError:
        return _orjson_document(body)
    except _JSON_FAILURES as error:
        raise _malformed(error) from None
    _refuse_lone_surrogates(document)
    return document


def orjson_loads(body: bytes | bytearray) -> object:
    """`/pong`'s and `/offload`'s read: orjson, and `careful_loads` for what it refuses."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return careful_loads(body)


def ping_loads(body: bytes) -> object:
    """`/ping`'s read, in place of FastAPI's `json.loads(body)`: the json module on strict
    UTF-8 text without `NaN` or `Infinity`, and `careful_loads` for what it refuses."""
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        return _orjson_document(body)
    except _JSON_FAILURES:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return careful_loads(body)
    # Strict UTF-8 leaves the `\u` escapes as the one way to a lone surrogate: a body
    # without a backslash (a study body; one memchr, ~3 ms for 25 MB) needs no walk.
    if b"\\" in body:
        _refuse_lone_surrogates(document)
    return document


def _refuse_lone_surrogates(document: object) -> None:
    """A 400 when a string serde_json reads holds a lone surrogate (from a `\\u` escape, or
    from a byte that is not UTF-8, which `careful_loads` keeps as one): the top-level keys,
    the name, `data`'s keys, and a string where the document, `data` or one of its integers
    belongs (read to be named in the error). Python could not even encode such a name in the
    answer."""
    read: list[object] = [document]
    if isinstance(document, dict):
        data = document.get("data")
        read = [*document, document.get("name"), data]
        if isinstance(data, dict):
            read.extend(data)
            read.extend(data.values())
    try:
        "".join(text for text in read if type(text) is str).encode("utf-8")
    except UnicodeEncodeError:
        raise LabError.malformed_json(
            "a string the server reads (a key, the name, a value) is not valid Unicode: "
            "a lone surrogate escape or invalid UTF-8"
        ) from None
