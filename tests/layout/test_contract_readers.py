"""The Python side learns the lab's names from the contract file, never from our Rust sources.

lab-core writes every name the programs share to `services/core/contract/lab-contract.json`;
the Python tests read it through `tests/labcontract.py`. A test that opened a `.rs` file to
find a name with a regular expression would break the day the Rust code moves the name (as
happened when lab-server began registering its metrics from lab-core's definitions), and
would keep a second source of truth. So no Python file of the lab's checks or of the FastAPI
server names a `.rs` file in its code (docstrings and comments may point the reader at one).
"""

import ast
import json
import re
from pathlib import Path

import labcontract

ROOT = Path(__file__).resolve().parents[2]
#: Where the Python checks and the FastAPI server live.
PYTHON_TREES = [ROOT / "tests", ROOT / "services" / "fastapi"]
#: Files that name `.rs` files on purpose, and why.
ALLOWED = {
    # Its subject is the Rust code itself (which module imports which), not a name.
    ROOT / "tests" / "layout" / "test_module_graph.py",
    # Its subject is the Rust code too (which literals it spells, how long its files are).
    ROOT / "tests" / "layout" / "test_vocabulary.py",
    # This check, which must spell what it looks for.
    Path(__file__).resolve(),
}
#: A Rust source named in a string: `metrics.rs`, `src/*.rs`, `.rs`.
RUST_FILE = re.compile(r"\.rs(?![A-Za-z0-9_])")


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings or other bare string statements."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.add(id(node.value))
    return found


def rust_files_named(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string in the code of `source` that names a `.rs` file."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    found = [node for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and id(node) not in skip and RUST_FILE.search(node.value)]
    return [(node.lineno, node.value) for node in sorted(found, key=lambda node: (node.lineno, node.col_offset))]


def python_files() -> list[Path]:
    files = [path for tree in PYTHON_TREES for path in tree.rglob("*.py")
             if not any(part in (".venv", "__pycache__") or part.startswith(".") for part in path.relative_to(ROOT).parts)]
    assert files
    return sorted(files)


def test_no_python_check_opens_a_rust_source():
    """No file under tests/ or services/fastapi/ (its tests and the server) names a `.rs` file
    in its code: names come from the contract file."""
    offenders = []
    for path in python_files():
        if path.resolve() in ALLOWED:
            continue
        for line, text in rust_files_named(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert offenders == [], "read the name from labcontract instead:\n" + "\n".join(offenders)


def test_the_check_finds_a_rust_source_in_code_but_not_in_docs():
    """The check above is not vacuous: the ways the tests once read Rust sources are found,
    a docstring or a comment pointing at one is not."""
    source = '''
"""Checks the names of `services/server/src/metrics.rs`."""
# as services/core/src/buckets.rs computes them
BUCKETS_RS = REPO_ROOT / "services" / "core" / "src" / "buckets.rs"
def names(repo):
    """Read from metrics.rs."""
    for path in [repo / "services/server/src/metrics.rs", repo / f"{crate}/src/lib.rs"]:
        yield from path.read_text()
    return sorted(src.rglob("*.rs")), Path("x").with_suffix(".rs"), "parsers.rsync"
'''
    found = [text for _, text in rust_files_named(source)]
    assert found == ["buckets.rs", "services/server/src/metrics.rs", "/src/lib.rs", "*.rs", ".rs"]


def test_labcontract_reads_every_section_of_the_contract():
    """A section lab-core adds to the contract file gets a typed reader in labcontract (or is
    left out there on purpose), so no test goes back to the Rust code for it."""
    sections = set(json.loads(labcontract.CONTRACT_FILE.read_text()))
    assert sections == labcontract.SECTIONS


def test_labcontract_loads_the_whole_contract():
    """Every list of the contract is read whole, and every strategy, kind and metric once."""
    contract = labcontract.load()
    raw = json.loads(labcontract.CONTRACT_FILE.read_text())
    assert [strategy.path for strategy in contract.strategies] == [entry["path"] for entry in raw["strategies"]]
    assert [error.kind for error in contract.server_error_kinds] == [e["kind"] for e in raw["server_error_kinds"]]
    assert [metric.name for metric in contract.metrics] == [
        entry["name"] for side in ("server", "client") for entry in raw["metrics"][side]]
    assert len({metric.name for metric in contract.metrics}) == len(contract.metrics)
    assert contract.latency_buckets_seconds == tuple(raw["metrics"]["latency_buckets_seconds"])
    assert contract.csv.summary[-len(contract.csv.stats):] == contract.csv.stats
