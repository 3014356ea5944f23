"""The conformance cases of the study body (`services/core/contract/conformance.json`), sent
to the real server's three endpoints: each must answer every case as the file says this server
answers it, which is lab-server's answer unless the case is marked as a difference (`differs`,
with its reason). lab-server's suite (`services/server/tests/conformance.rs`) runs the same file
against its five endpoints. Every error answer, expected or given, is a contract error kind
with the contract's status for it.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from conftest import CONTRACT, COUNTING_ENDPOINTS, REPO_ROOT, Server

CASES_FILE = REPO_ROOT / "services" / "core" / "contract" / "conformance.json"
CASES = json.loads(CASES_FILE.read_text())
#: This server's name in the cases file's `differs`.
THIS_SERVER = "fastapi"
DEFAULT_HEADERS = {"content-type": "application/json"}


def body_bytes(body: str | list) -> bytes:
    """A case's body: its text, or its parts (text, hex bytes, either repeated) joined."""
    if isinstance(body, str):
        return body.encode()
    joined = b""
    for part in body:
        if isinstance(part, str):
            joined += part.encode()
        else:
            unit = bytes.fromhex(part["hex"]) if "hex" in part else part["text"].encode()
            joined += unit * part.get("repeat", 1)
    return joined


def answer_of(case: dict, server: str) -> dict:
    """What `server` must answer to `case`."""
    difference = case.get("differs")
    return difference["answer"] if difference and difference["server"] == server else case["expect"]


def answer(client: httpx.Client, path: str, case: dict) -> dict:
    """What `path` answered, in the file's form."""
    response = client.post(path, content=body_bytes(case["body"]), headers=case.get("headers", DEFAULT_HEADERS))
    document = response.json()
    if response.status_code == 200:
        return {"status": 200, **{field: document[field] for field in ("name", "count", "maxval")}}
    assert set(document) == {"error", "message"} and 0 < len(document["message"]) <= 400, document
    assert CONTRACT.server_error(document["error"]).status == response.status_code, document
    return {"status": response.status_code, "error": document["error"]}


def test_the_readme_lists_exactly_the_marked_differences() -> None:
    """services/fastapi/README.md's "Where it differs" lists the file's reasons, by key, one
    bullet each, and no other."""
    readme = (REPO_ROOT / "services" / "fastapi" / "README.md").read_text()
    section = readme.split("**Where it differs from lab-server", 1)[1]
    listed = re.findall(r"^- `([a-z0-9-]+)`:", section, re.MULTILINE)
    assert sorted(listed) == sorted(CASES["reasons"])


def test_every_expected_error_is_a_contract_kind_with_its_status() -> None:
    """Each case's answers (the shared one and a marked difference's) name a contract error
    kind with the status the contract gives it."""
    answers = [case["expect"] for case in CASES["cases"]]
    answers += [case["differs"]["answer"] for case in CASES["cases"] if "differs" in case]
    errors = [answer for answer in answers if answer["status"] != 200]
    assert errors
    for answer in errors:
        assert CONTRACT.server_error(answer["error"]).status == answer["status"], answer


@pytest.mark.parametrize("case", CASES["cases"], ids=[case["name"] for case in CASES["cases"]])
def test_every_endpoint_answers_the_case_as_the_file_says(client: httpx.Client, case: dict) -> None:
    """The case's answer for this server, on /ping, /pong and /offload."""
    expected = answer_of(case, THIS_SERVER)
    answers = {path: answer(client, path, case) for path in COUNTING_ENDPOINTS}
    assert answers == dict.fromkeys(COUNTING_ENDPOINTS, expected), case.get("differs", {}).get("reason")


def test_the_server_logged_no_traceback(server: Server) -> None:
    """No case made the server log an unexpected error."""
    assert "Traceback" not in server.logs(), server.logs()
