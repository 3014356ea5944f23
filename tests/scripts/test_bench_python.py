"""scripts/bench_python.py writes the bodies it times with lab-core's generator, spelled as
lab-loadgen's JSON_SPACING and KEY_LETTERS spell them, so orjson and the Rust parse benchmark
time the very same bytes. Checked here on small bodies with Python's own json module (orjson
lives in the FastAPI server's venv; the timing itself is `just bench-python`'s)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import bench_python  # noqa: E402


@pytest.mark.parametrize("spacing", bench_python.SPACINGS)
@pytest.mark.parametrize("letters", bench_python.KEY_LETTERS)
def test_the_body_is_spelled_as_asked_and_its_answer_is_right(tmp_path, spacing, letters):
    path = tmp_path / "body.json"
    size, count, maxval = bench_python.write_body(0.02, 42, path, spacing, letters)
    text = path.read_text()
    assert len(text) == size
    data = json.loads(text)["data"]
    assert (len(data), max(data.values())) == (count, maxval)
    assert ('": ' in text and '", "' in text) == (spacing == "spaced")
    assert any(key != key.lower() for key in data) == (letters == "a-zA-Z")
    if spacing == "spaced":
        # Exactly what Python's json.dumps writes for the same document.
        assert text == json.dumps(json.loads(text))
