"""The README and the pages under docs/: every link, anchor and repository path they name exists.

What counts as a reference, in README.md and every docs/**/*.md:

- a markdown link or image, inline (`[text](target)`), by reference (`[ref]: target`) or as
  HTML (`href="…"`, `src="…"`): a relative target must exist, relative to the page; URLs with
  a scheme (`https:`, `mailto:`) are not followed;
- an anchor (`page.md#heading` or `#heading`): it must match a heading of that page, by
  GitHub's slug rules (lower case, punctuation dropped, spaces to hyphens, `-1`, `-2` for
  repeats), or an HTML `id`/`name`;
- a repository path named in the text, in backticks or not (`services/…`, `docs/…`,
  `scripts/…`, `grafana/…`, `docker/…`, `tests/…`, `.ci/…` and the top-level files such as
  `docker-compose.yml`, `justfile`, `prometheus.yml`, `Dockerfile`, `.env`): it must exist,
  relative to the repository root. Paths under `results/` (a run's output, ignored by git)
  and templated paths (with `<`, `*` or `{`) are skipped.

Every problem is reported with its page and line, all at once.
"""

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]

# Directories whose paths a page may name in its text; `results/` is output, never committed.
PATH_PREFIXES = ("services", "docs", "scripts", "grafana", "docker", "tests", r"\.ci", "results")
TOP_LEVEL_FILES = (
    r"docker-compose\.yml",
    r"docker-compose\.local\.yml",
    r"justfile",
    r"prometheus\.yml",
    r"Dockerfile",
    r"\.env",
    r"\.gitignore",
    r"\.dockerignore",
    r"Cargo\.toml",
    r"Cargo\.lock",
    r"README\.md",
)
SKIPPED_PREFIXES = ("results/",)
TEMPLATE_MARKS = ("<", ">", "*", "{", "}", "…")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HTML_TARGET = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
REPO_PATH = re.compile(
    r"(?<![\w./-])(?:\./)?((?:" + "|".join(PATH_PREFIXES) + r")/[^\s`'\"()\[\]|,;:]*)"
)
TOP_LEVEL_PATH = re.compile(r"(?<![\w./-])(" + "|".join(TOP_LEVEL_FILES) + r")(?![\w.-])")


def page_id(page: Path) -> str:
    return str(page.relative_to(REPO))


def lines_with_fences(page: Path):
    """(line number, line, inside a fenced code block) for every line of a page."""
    fence = None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            yield number, line, True
        elif fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
            yield number, line, True
        else:
            yield number, line, False


def link_targets(page: Path):
    """(line number, target) of every markdown or HTML link and image outside code."""
    for number, line, in_code in lines_with_fences(page):
        if in_code:
            continue
        prose = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        for pattern in (INLINE_LINK, REFERENCE_DEFINITION, HTML_TARGET):
            for match in pattern.finditer(prose):
                yield number, match.group(1)


def heading_text(raw: str) -> str:
    """A heading's text as GitHub renders it: code, links, emphasis and tags reduced to text."""
    spans = []

    def keep_code(match):
        spans.append(match.group(2).strip())
        return f"\0{len(spans) - 1}\0"

    text = CODE_SPAN.sub(keep_code, raw)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("*", "")
    text = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", text)
    return re.sub(r"\0(\d+)\0", lambda m: spans[int(m.group(1))], text)


def slug(text: str) -> str:
    """GitHub's anchor for a heading: lower case, only letters, digits, `_`, `-` and spaces kept, spaces to `-`."""
    kept = []
    for char in text.strip().lower():
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LNM" or category == "Pc":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def anchors(page: Path) -> set:
    """Every anchor a page offers: its headings' slugs (repeats numbered) and HTML ids."""
    found, seen = set(), {}
    previous = None
    for _, line, in_code in lines_with_fences(page):
        if in_code:
            previous = None
            continue
        text = None
        atx = ATX_HEADING.match(line)
        if atx:
            text = atx.group(2) or ""
        elif previous and SETEXT_UNDERLINE.match(line) and not previous.lstrip().startswith(("|", "-", "*", ">")):
            text = previous.strip()
        if text is not None:
            base = slug(heading_text(text))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        for match in HTML_ANCHOR.finditer(line):
            found.add(match.group(1))
        previous = line if line.strip() and not atx else None
    return found


def named_paths(page: Path):
    """(line number, path) of every repository path named in a page's text, code included."""
    for number, line, _ in lines_with_fences(page):
        text = INLINE_LINK.sub(lambda m: m.group(0)[: m.group(0).rfind("](") + 1], line)
        text = URL.sub(" ", text)
        for pattern in (REPO_PATH, TOP_LEVEL_PATH):
            for match in pattern.finditer(text):
                yield number, match.group(1).split("#", 1)[0].rstrip(".")


def resolve(page: Path, target: str):
    """The file or directory a relative link target points at, and its anchor (or None)."""
    path, _, anchor = target.partition("#")
    path = unquote(path)
    resolved = page if not path else (page.parent / path)
    return resolved.resolve(), (unquote(anchor) if anchor else None)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_exist(page):
    """Every relative link and image target on the page exists in the repository."""
    missing = []
    for number, target in link_targets(page):
        if not target or SCHEME.match(target):
            continue
        resolved, _ = resolve(page, target)
        if not resolved.exists():
            missing.append(f"{page_id(page)}:{number}: {target}")
    assert not missing, "links to nothing:\n" + "\n".join(missing)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_anchors_match_headings(page):
    """Every #anchor into a markdown page matches one of that page's headings."""
    wrong = []
    cache = {}
    for number, target in link_targets(page):
        if not target or SCHEME.match(target):
            continue
        resolved, anchor = resolve(page, target)
        if anchor is None or resolved.suffix != ".md" or not resolved.is_file():
            continue
        if resolved not in cache:
            cache[resolved] = anchors(resolved)
        if anchor not in cache[resolved]:
            wrong.append(f"{page_id(page)}:{number}: {target}")
    assert not wrong, "anchors with no heading:\n" + "\n".join(wrong)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_named_paths_exist(page):
    """Every repository path the page names (outside results/, not templated) exists."""
    missing = []
    for number, path in named_paths(page):
        if path.startswith(SKIPPED_PREFIXES) or any(mark in path for mark in TEMPLATE_MARKS):
            continue
        if not (REPO / path).exists():
            missing.append(f"{page_id(page)}:{number}: {path}")
    assert not missing, "paths that do not exist:\n" + "\n".join(missing)


def test_readme_keeps_the_test_command():
    """README's "The two commands" names `cargo test --workspace`, the command .ci/run runs as the README's."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    assert "cargo test --workspace" in section


def test_slug_follows_github():
    """The slug rules give GitHub's anchors for the kinds of heading these pages use."""
    assert slug(heading_text("Settings (`.env`)")) == "settings-env"
    assert slug(heading_text("The end-to-end check (`just e2e`)")) == "the-end-to-end-check-just-e2e"
    assert slug(heading_text("How `/lean` stays exactly as correct as `serde_json`")) == (
        "how-lean-stays-exactly-as-correct-as-serde_json"
    )
    assert slug(heading_text("The dashboard's layout")) == "the-dashboards-layout"
    assert slug(heading_text("`--json`")) == "--json"
