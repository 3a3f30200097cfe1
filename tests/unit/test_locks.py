"""The lock files: every package pinned with its hashes, and in step with requirements*.txt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.package import shipped

ROOT = Path(__file__).parents[2]
# Each human-edited list of direct requirements, and the lock `make lock` makes of it.
LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name: (the requirement as written, its --hash options), one entry per package; a package locked
    at different versions for different environments (a marker on each) is "name ; marker"."""
    found: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for raw in lock.read_text().splitlines():
        line = raw.split("#", 1)[0].strip().removesuffix("\\").strip()
        if not line:
            continue
        if line.startswith("--hash="):
            assert current, f"{lock.name}: a hash before any package"
            found[current][1].append(line)
            continue
        current = canonical(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0])
        if ";" in line:
            current += " ;" + line.split(";", 1)[1]
        assert current not in found, f"{lock.name}: {current} twice"
        found[current] = (line, [])
    return found


def direct(requirements: Path) -> dict[str, str]:
    """name: pinned version, for requirements.txt and the files it includes with -r."""
    pins: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(direct(requirements.parent / line.removeprefix("-r ").strip()))
        elif line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;]+)", line)
            assert match, f"{requirements.name}: {line!r} is not pinned with =="
            pins[canonical(match[1])] = match[3]
    return pins


@pytest.mark.parametrize("lock_name", sorted(LOCKS.values()))
def test_every_package_is_pinned_with_hashes(lock_name: str) -> None:
    lock = ROOT / lock_name
    assert "make lock" in lock.read_text().split("\n", 3)[1], f"{lock_name}'s header should name make lock"
    packages = entries(lock)
    assert packages
    for name, (line, hashes) in packages.items():
        pinned = r"[A-Za-z0-9._-]+(\[[^\]]*\])?==[^\s;=*]+(\s*;.*)?"  # an environment marker may follow
        assert re.fullmatch(pinned, line), f"{lock_name}: {line!r} is not pinned with =="
        assert hashes, f"{lock_name}: {name} has no hash"
        assert all(h.startswith("--hash=sha256:") for h in hashes), f"{lock_name}: {name}: {hashes}"


@pytest.mark.parametrize(("requirements_name", "lock_name"), sorted(LOCKS.items()))
def test_direct_requirements_are_locked_at_their_version(requirements_name: str, lock_name: str) -> None:
    locked = {name: line.split("==", 1)[1] for name, (line, _) in entries(ROOT / lock_name).items() if ";" not in name}
    for name, version in direct(ROOT / requirements_name).items():
        assert locked.get(name) == version, (
            f"{requirements_name} pins {name}=={version}, {lock_name} has {locked.get(name)}: run make lock"
        )


def test_the_zip_has_no_boto3() -> None:
    assert "boto3" not in entries(ROOT / "requirements.lock")  # the Lambda runtime has it


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("pydantic/main.py", True),
        ("pydantic-2.14.3.dist-info/METADATA", True),  # importlib.metadata.version() reads it
        ("pydantic-2.14.3.dist-info/RECORD", False),  # hashes bin/'s scripts, which name the interpreter
        ("pydantic-2.14.3.dist-info/INSTALLER", False),
        ("pydantic-2.14.3.dist-info/REQUESTED", False),
        ("pydantic-2.14.3.dist-info/direct_url.json", False),
        ("bin/jp.py", False),
        ("botocore/client.py", False),  # the runtime's
        ("botocore-1.44.8.dist-info/METADATA", False),
        ("PIL/__pycache__/Image.cpython-312.pyc", False),
        ("web/v1.py", True),
    ],
)
def test_what_the_zip_keeps(path: str, kept: bool) -> None:
    assert shipped(Path(path)) is kept
