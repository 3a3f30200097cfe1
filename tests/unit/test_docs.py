"""The README and the documentation site stay true: what they name exists.

- every repository path they name (in inline code or a link) exists;
- every `make` target they name is in the Makefile;
- every setting-like variable they name is a setting of app/settings.py, or a variable some tool
  of this repository reads, or an error code the API answers with;
- docs/architecture.md's map names every module of app/, and only paths that exist;
- the README stays a front door (at most 250 lines).
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from app.settings import BY_NAME

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Made by a run, never committed: a page may name them though they are absent from a clone.
GENERATED = ("build/", ".venv/", ".local-data/", "variant.webp", "site/", "../")
# `image/avif`, `multipart/form-data`: media types, not paths.
MEDIA_TYPES = ("image/", "multipart/", "application/", "text/")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
PATH_LIKE = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*/?")
FILE_SUFFIXES = (".py", ".sh", ".yml", ".yaml", ".json", ".md", ".txt", ".lock", ".toml", ".html", ".js", ".css")
MAKE = re.compile(r"(?<![\w-])make (?:-s )?([a-z][a-z0-9-]*)")
VARIABLE = re.compile(r"(?<![\w$])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,})(?==|\b)")
# Named by the pages, read by software that is not this repository's.
OUTSIDE = {"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "LOCALSTACK_AUTH_TOKEN", "PATH", "HOME"}
# What a usage line asks the reader to fill in (`upload FILE...`).
METAVARS = {"FILE", "ID", "TEXT", "DATE", "NAME", "KEY", "URL", "COMMAND"}


def prose(page: Path) -> str:
    return FENCE.sub("", page.read_text())


@cache
def tracked() -> frozenset[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    files = {line for line in listed.splitlines() if (ROOT / line).exists()}
    dirs = {parent.as_posix() for name in files for parent in Path(name).parents if parent.as_posix() != "."}
    return frozenset(files | {f"{d}/" for d in dirs} | dirs)


def named_paths(page: Path) -> set[str]:
    text = prose(page)
    names = {match.strip() for match in INLINE_CODE.findall(text)}
    names |= {link for link in LINK.findall(text) if "://" not in link}
    paths = set()
    for name in names:
        if not PATH_LIKE.fullmatch(name) or name.startswith(GENERATED + MEDIA_TYPES):
            continue
        if "/" in name.strip("/") or name.endswith(FILE_SUFFIXES):  # `a/b`, `a/b.c`, `file.py`
            paths.add(name)
    return paths


def exists(name: str, page: Path) -> bool:
    """A path from the root, from the page's folder (a link), or from app/ (`logic/uploads.py`); a bare
    file name anywhere; `logic/uploads.store_upload`: a module of app/ that defines that name."""
    for candidate in (name, f"app/{name}"):
        if candidate in tracked():
            return True
    relative = (page.parent / name).resolve()
    if relative.is_relative_to(ROOT) and relative.relative_to(ROOT).as_posix().rstrip("/") in tracked():
        return True
    module, _, attribute = name.rpartition(".")
    if "/" in module and not name.endswith(FILE_SUFFIXES):
        for source in (ROOT / f"{module}.py", ROOT / "app" / f"{module}.py"):
            if source.exists():
                return (
                    re.search(
                        rf"^\s*(?:async def|def|class) {attribute}\b|^{attribute}\b", source.read_text(), re.MULTILINE
                    )
                    is not None
                )
        return False
    return "/" not in name and any(Path(path).name == name for path in tracked())


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_path_named_exists(page: Path) -> None:
    missing = sorted(name for name in named_paths(page) if not exists(name, page))
    assert missing == [], f"{page.name} names paths that do not exist"


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_make_target_named_exists(page: Path) -> None:
    code = INLINE_CODE.findall(page.read_text()) + FENCE.findall(page.read_text())
    unknown = sorted({target for span in code for target in MAKE.findall(span)} - make_targets())
    assert unknown == [], f"{page.name} names make targets the Makefile lacks"


@cache
def known_variables() -> frozenset[str]:
    """Settings, error codes and the variables the repository's own tools read."""
    names = set(BY_NAME) | OUTSIDE | METAVARS
    sources = [ROOT / "Makefile", ROOT / "deploy.sh", ROOT / ".ci" / "run", ROOT / "docker-compose.yml"]
    sources += [
        path
        for folder in ("app", "deploy", "localserver", "ops", "imgapi", "bench", "tests")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".sh")
    ]
    for source in sources:
        if source.exists():
            names |= set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", source.read_text()))
    return frozenset(names)


def named_variables(page: Path) -> set[str]:
    blocks = FENCE.findall(page.read_text())
    spans = INLINE_CODE.findall(prose(page)) + blocks
    # A block's own shell variables (`ID=$(...)`, then `$ID`) are the reader's, not a setting.
    own = {name for block in blocks for name in re.findall(r"(?:^|[\s;(])([A-Z][A-Z0-9_]*)=\$", block, re.MULTILINE)}
    return {name for span in spans for name in VARIABLE.findall(span)} - own


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_variable_named_is_a_setting_or_read_by_a_tool(page: Path) -> None:
    unknown = sorted(named_variables(page) - known_variables())
    assert unknown == [], f"{page.name} names variables nothing reads"


def test_the_settings_named_as_settings_are_in_the_table() -> None:
    """`NAME=value` for the function (before make dev, deploy.sh or in the configuration page) is a setting."""
    assigned = set()
    for page in PAGES:
        assigned |= set(re.findall(r"`([A-Z][A-Z0-9_]+)=[^`]*` (?:make dev|bash deploy\.sh)", page.read_text()))
    assert assigned <= set(BY_NAME)


def architecture_map() -> list[str]:
    """The paths of docs/architecture.md's maps: a line's first word, under the folder it is indented below."""
    paths: list[str] = []
    for block in FENCE.findall((ROOT / "docs" / "architecture.md").read_text()):
        parents: list[tuple[int, str]] = []
        for line in block.splitlines()[1:-1]:
            words = line.split()
            if not words:
                continue
            indent, word = len(line) - len(line.lstrip()), words[0].rstrip(",")
            while parents and parents[-1][0] >= indent:
                parents.pop()
            if not PATH_LIKE.fullmatch(word) or not ("/" in word or word.endswith(FILE_SUFFIXES)):
                continue
            path = (parents[-1][1] if parents and indent else "") + word
            paths.append(path)
            if word.endswith("/"):
                parents.append((indent, path))
    return paths


def test_the_architecture_map_is_true() -> None:
    mapped = architecture_map()
    assert [path for path in mapped if path.rstrip("/") not in tracked()] == []
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "app").rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }
    assert sorted(modules - set(mapped)) == [], "docs/architecture.md's map lacks these modules of app/"


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
