"""The workspace's shape: crates depend only downwards, and no two modules of a crate import
each other (an import circle means two modules share one job, or one has two)."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

# Which lab crates each crate may use (normal dependencies), from the bottom up.
ALLOWED_LAB_DEPENDENCIES = {
    "core": set(),
    "server": {"lab-core"},
    "loadgen": {"lab-core"},
    "matrix": {"lab-core", "lab-loadgen"},
}


def module_imports(src: Path) -> dict[str, set[str]]:
    """Top-level module -> the sibling modules its non-test, non-comment code names."""
    graph: dict[str, set[str]] = {}
    for path in src.rglob("*.rs"):
        module = path.relative_to(src).parts[0].removesuffix(".rs")
        if module in ("lib", "main"):
            continue
        code = path.read_text().split("#[cfg(test)]")[0]
        code = "\n".join(l for l in code.splitlines() if not l.strip().startswith("//"))
        names = set(re.findall(r"crate::([a-z_]+)", code))
        for block in re.findall(r"use crate::\{([^;]*)\};", code, re.S):
            names |= set(re.findall(r"(?:^|[\s,{])([a-z_]+)(?=::|[,\s}])", block))
        names.discard(module)
        graph.setdefault(module, set()).update(names)
    modules = set(graph)
    return {module: names & modules for module, names in graph.items()}


def submodule_imports(directory: Path, crate_path: str) -> dict[str, set[str]]:
    """For a module that is a directory (`src/options/`): each file -> the sibling files its
    non-test, non-comment code names through `super::` or `crate::<module>::`."""
    graph: dict[str, set[str]] = {}
    for path in directory.glob("*.rs"):
        module = path.stem
        if module == "mod":
            continue
        code = path.read_text().split("#[cfg(test)]")[0]
        code = "\n".join(l for l in code.splitlines() if not l.strip().startswith("//"))
        names = set(re.findall(r"super::([a-z_]+)", code))
        names |= set(re.findall(rf"crate::{crate_path}::([a-z_]+)", code))
        for block in re.findall(r"use super::\{([^;]*)\};", code, re.S):
            names |= set(re.findall(r"(?:^|[\s,{])([a-z_]+)(?=::|[,\s}])", block))
        names.discard(module)
        graph[module] = names
    modules = set(graph)
    return {module: names & modules for module, names in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every module that can reach itself, with the path back (depth-first search)."""
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    found.append(path + [start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


@pytest.mark.parametrize("crate", sorted(ALLOWED_LAB_DEPENDENCIES))
def test_no_module_import_circle(crate):
    """No module of the crate reaches itself through the modules it imports."""
    graph = module_imports(SERVICES / crate / "src")
    assert graph, f"no modules found in services/{crate}/src"
    assert cycles(graph) == []


@pytest.mark.parametrize("crate", sorted(ALLOWED_LAB_DEPENDENCIES))
def test_no_import_circle_inside_a_directory_module(crate):
    """Inside a module that is a directory (e.g. lab-loadgen's `options/`), no file reaches
    itself through its siblings."""
    for directory in (SERVICES / crate / "src").iterdir():
        if directory.is_dir():
            graph = submodule_imports(directory, directory.name)
            assert cycles(graph) == [], directory


@pytest.mark.parametrize("crate", sorted(ALLOWED_LAB_DEPENDENCIES))
def test_crates_depend_only_downwards(crate):
    """Each crate uses only the lab crates below it: core at the bottom, the matrix on top."""
    manifest = tomllib.loads((SERVICES / crate / "Cargo.toml").read_text())
    lab = {name for name in manifest.get("dependencies", {}) if name.startswith("lab-")}
    assert lab <= ALLOWED_LAB_DEPENDENCIES[crate]


def test_every_crate_is_checked():
    """A new crate under services/ must be given its place in the order above."""
    crates = {p.parent.name for p in SERVICES.glob("*/Cargo.toml")}
    assert crates == set(ALLOWED_LAB_DEPENDENCIES)


def test_a_circle_is_found():
    """The search finds a circle of three."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}})[0] == ["a", "b", "c", "a"]
