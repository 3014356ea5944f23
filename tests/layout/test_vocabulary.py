"""One name for one thing: the lab's strategy paths and request class names are lab-core's
(`Strategy`, `Class`), and no crate outside lab-core spells them as string literals in its code
(tests and docs may); and no source file grows past what one reader holds in mind."""

import re
from pathlib import Path

import pytest

from labcontract import CONTRACT

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

#: The words that must come from lab-core: every strategy's path and every class's name.
VOCABULARY = sorted({strategy.path for strategy in CONTRACT.strategies} | set(CONTRACT.classes))

#: Longest a source file may be, in lines.
MAX_LINES = 620
#: Files allowed past it, with why.
LONG_FILES = {
    "services/server/src/stream/machine.rs": "the study body's grammar: one state machine, whose states read best together",
    "services/server/src/stream/lexer.rs": "the same state machine's tokens: its lexer, the other half of it",
}


def code_of(path: Path) -> str:
    """A Rust file's code: no `#[cfg(test)]` part, no comments."""
    code = path.read_text().split("#[cfg(test)]")[0]
    return "\n".join(line.split("//")[0] for line in code.splitlines())


def rust_sources_outside_core() -> list[Path]:
    """The crates' code outside lab-core, test modules (`tests.rs`) left out."""
    return sorted(
        path
        for path in SERVICES.glob("*/src/**/*.rs")
        if path.relative_to(SERVICES).parts[0] not in ("core", "fastapi") and path.name != "tests.rs"
    )


@pytest.mark.parametrize("path", rust_sources_outside_core(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_strategy_path_or_class_name_is_spelled_outside_lab_core(path: Path):
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', code_of(path))
    spelled = sorted({literal for literal in literals if literal in VOCABULARY})
    assert not spelled, f"{path.relative_to(ROOT)} spells {spelled}: use lab_core::Strategy / lab_core::Class"


def source_files() -> list[Path]:
    files = [*SERVICES.glob("*/src/**/*.rs"), *SERVICES.glob("*/tests/**/*.rs"), *SERVICES.glob("*/benches/*.rs")]
    files += [*SERVICES.glob("fastapi/**/*.py"), *(ROOT / "scripts").glob("**/*.py"), *(ROOT / "tests").glob("**/*.py")]
    return sorted(path for path in files if ".venv" not in path.parts and "target" not in path.parts)


def test_no_source_file_is_longer_than_a_reader_holds():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in source_files()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and str(path.relative_to(ROOT)) not in LONG_FILES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"
