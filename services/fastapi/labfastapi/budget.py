"""BODY_BUDGET_MB: how much memory request bodies and what is parsed from them may hold.

Without a bound, an open schedule can pile up dozens of 25 MB uploads in one process, each
followed by a parse that holds about nine times its body (a Python dict of 1.25M str → int).
lab-server charges a budget for both; this is the same idea, with Python's numbers:

1. Before the body is read, the gate charges what the declared Content-Length will hold
   (`BODY_COPIES`: /ping's framework read holds the chunks and their join at once, so twice
   the body; /pong and /offload read into one bytearray sized from Content-Length, so once).
   A chunked body declares nothing and is charged chunk by chunk as it arrives.
2. While the body arrives, `BodyShape` counts, chunk by chunk, what decides the parse's
   memory (a few C-speed passes over each chunk, ~10 ms in all for 25 MB, spread over the
   read). Once the body is complete, and before the parse starts, the gate charges
   `BodyShape.parse_memory()`: an upper bound of the parse's peak memory.
3. A request that does not fit what is left gets 503 `server_busy` (with `connection: close`
   when the rest of the body was still on its way), and `uploads_cut_off{reason=over_budget}`.
4. Everything a request charged is released when its response has been sent.

**The bound.** Every allocation of a parse belongs to a string, a key/value pair, a container
or an item, and each has a byte in the body that announces it: a `:` per pair, a `[` or `{`
per container, a `,` per item. So the bound is a sum of per-delimiter costs plus the strings'
characters. Delimiters inside strings are counted too: that only overestimates. CPython's
strings hold 1 byte per character when all are ASCII, but 4 when one character is outside the
BMP, so a body with any non-ASCII byte or any backslash (an escape may produce such a
character) is charged the wide factor. The constants were chosen above the peak RSS (VmHWM)
measured for one parse in a fresh process, the larger of orjson's (/pong, /offload) and
json + the pydantic model's (/ping), CPython 3.11, orjson 3.13, pydantic 2.14:

| body (JSON bytes)                              | measured peak | this bound |
|------------------------------------------------|---------------|------------|
| study body, 25 MB (10-letter keys, 1..10^6)    | 9.1×          | 11.8×      |
| dense pairs (3-character keys, value 1)        | 19.9×         | 26×        |
| keys with an emoji (UCS-4 strings)             | 15.4×         | 20.5×      |
| all keys `\\u`-escaped                         | 4.0×          | 12.5×      |
| values at i64's minimum                        | 7.5×          | 8.7×       |
| `[[],[],…]` in an unknown field                | 30.4×         | 57×        |
| `[1.5,1.5,…]` in an unknown field              | 15.0×         | 18×        |
| one 10 MB name with an emoji                   | 8.0×          | 9×         |

`tests/test_budget.py` checks the bound against the measured peak for some of these. The
study body's bound (11.8×, ~290 MB for 25 MB) is what sizes concurrency: the default 2048 MiB
admits six 25 MB uploads at once, where lab-server's Rust maps (6.8×) admit about ten.

**Per process, not shared.** Each worker process gets an equal share, BODY_BUDGET_MB / WORKERS
(`Settings.body_budget_bytes_per_worker`), so BODY_BUDGET_MB keeps lab-server's meaning (all
workers together) as a bound. A counter shared between processes would need a cross-process
lock on every charge, and a worker killed mid-request would leave its charges in it for
good. The price: a busy worker cannot borrow an idle one's share, so with several workers
this refuses sooner than lab-server's single counter (with WORKERS=4 and the default, each
worker admits one 25 MB upload at a time). Set BODY_BUDGET_MB higher to compare at equal
concurrency; the gauges show what each worker holds.
"""

from __future__ import annotations

from . import metrics

#: Bytes a parse may hold per character of string, at most: CPython's 1-byte strings plus
#: the parser's working copy (all ASCII, no escapes), or 4-byte strings plus the decoded
#: document json.loads makes first (anything else).
STRING_BYTES_NARROW = 2
STRING_BYTES_WIDE = 9
#: Per `:`: a key str object (~64 bytes), its value (a 32-byte int) and its slot in a dict
#: that grows by doubling (up to ~40 bytes); the pydantic copy of /ping's dict fits in it.
PAIR_BYTES = 130
#: Per `[` or `{`: an empty list or dict with its GC header (~72-80 bytes) and its pointer.
CONTAINER_BYTES = 100
#: Per `,`: an item's pointer, plus its value when that is not a cached small int (a float
#: or big int is 24-36 bytes), plus the parser's node for it.
ITEM_BYTES = 64

#: How many times the body itself is held while it is read, by endpoint: FastAPI's read for
#: /ping keeps the chunks and their join together; /pong and /offload fill one bytearray;
#: /drain throws each chunk away.
BODY_COPIES = {"ping": 2, "pong": 1, "offload": 1, "drain": 0}

#: The endpoints that parse the body they read (all but the floor, /drain).
PARSES_BODY = frozenset({"ping", "pong", "offload"})


class BodyShape:
    """Counts, chunk by chunk, what the parse of a body will allocate (see the module docs)."""

    def __init__(self) -> None:
        self.length = 0
        self.pairs = 0
        self.containers = 0
        self.items = 0
        self.narrow = True

    def feed(self, chunk: bytes) -> None:
        """Counts one chunk of the body (each count is one C-speed pass over it)."""
        self.length += len(chunk)
        self.pairs += chunk.count(b":")
        self.containers += chunk.count(b"[") + chunk.count(b"{")
        self.items += chunk.count(b",")
        if self.narrow and (not chunk.isascii() or b"\\" in chunk):
            self.narrow = False

    def parse_memory(self) -> int:
        """An upper bound of what parsing the body counted so far holds at its peak."""
        per_char = STRING_BYTES_NARROW if self.narrow else STRING_BYTES_WIDE
        return (
            per_char * self.length
            + PAIR_BYTES * self.pairs
            + CONTAINER_BYTES * self.containers
            + ITEM_BYTES * self.items
        )


class BodyBudget:
    """This process's share of BODY_BUDGET_MB. Charged and released on the event loop only
    (the gate runs there, also for /offload), so it needs no lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0

    def try_charge(self, amount: int) -> bool:
        """Charges `amount` bytes if they fit what is left; says whether they did."""
        if self.in_use + amount > self.capacity:
            return False
        self.in_use += amount
        metrics.body_budget_in_use.set(self.in_use)
        return True

    def release(self, amount: int) -> None:
        """Gives back `amount` bytes charged earlier."""
        self.in_use -= amount
        metrics.body_budget_in_use.set(self.in_use)
