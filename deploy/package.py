"""The Lambda zip, built for the function's platform, never from this interpreter: `python -m deploy.package`.

deploy.sh and the template's deployments (deploy/stack.sh) build it here, the same way:
the packages of requirements.lock (every one pinned, with its hashes: `make lock`) as wheels
for python3.12 on Amazon Linux (manylinux2014, or manylinux_2_28 where a package, Pillow 13,
builds no older; the runtime's glibc 2.34 runs both), then app/, zipped in a stable order
with fixed dates and modes and without what differs from one install to the next, so that
the same lock and app/ give the same zip, byte for byte.

    python -m deploy.package [x86_64|arm64]            prints the zip's path and its size in bytes
    python -m deploy.package --verify [x86_64|arm64]   installs the lock twice, into two fresh
        directories, zips each and prints both sha256 digests: exit 1 if they differ
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
RUNTIME = "python3.12"
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
# Never shipped: the runtime has boto3; caches and metadata only cost cold start.
_SKIP_DIRS = {"__pycache__", "tests", "boto3", "botocore", "s3transfer"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
# pip's own records of an install: RECORD hashes bin/'s scripts, whose first line names the
# interpreter that installed them; REQUESTED and INSTALLER say how, not what. importlib.metadata
# needs only METADATA. bin/'s console scripts cannot run in a Lambda anyway.
_SKIP_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
_SKIP_TOP = {"bin"}
LOCK = ROOT / "requirements.lock"


def lambda_architecture(name: str) -> str:
    """Lambda's name of an architecture (x86_64 or arm64)."""
    return "arm64" if ARCHITECTURES[name] == "aarch64" else "x86_64"


def dependencies(machine: str) -> Path:
    """The wheels of requirements.lock for the runtime, installed once per lock and machine."""
    key = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    target = BUILD / f"deps-{key}-{machine}"
    if target.is_dir():
        return target
    for stale in BUILD.glob("deps-*"):  # an older lock's directory and its zip
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    staging = target.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    install(machine, staging)
    staging.rename(target)
    return target


def install(machine: str, target: Path) -> None:
    """pip-install the lock's wheels for the runtime into target: hashes checked, nothing resolved."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
            "--no-compile", "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}",
            "--only-binary=:all:", "--python-version", RUNTIME.removeprefix("python"), "--implementation", "cp",
            "--require-hashes", "--no-deps", "-t", str(target), "-r", str(LOCK),
        ],
        check=True,
    )  # fmt: skip


def build(architecture: str) -> Path:
    """build/lambda.zip: the dependencies and app/ at the archive's root.

    The dependencies are zipped once per lock (build/deps-<lock>-<machine>.zip: compressing
    20 MiB of libraries takes seconds, and every deploy.sh run did it), then app/ is appended.
    The result is the same bytes as zipping both in one go, which --verify does.
    """
    deps = dependencies(ARCHITECTURES[architecture])
    zipped = deps.with_name(f"{deps.name}.zip")
    if not zipped.exists():
        staging = zipped.with_suffix(".tmp")
        zip_tree([deps], staging, prefixes=[""])
        staging.rename(zipped)
    out = BUILD / "lambda.zip"
    shutil.copyfile(zipped, out)
    zip_tree([ROOT / "app"], out, prefixes=["app/"], append=True)
    return out


def shipped(relative: Path) -> bool:
    """Whether a file of the dependencies or app/ goes into the zip."""
    parts = relative.parts
    if _SKIP_DIRS.intersection(parts) or relative.suffix in _SKIP_SUFFIXES or parts[0] in _SKIP_TOP:
        return False
    if parts[0].endswith(".dist-info"):
        # botocore's RECORD alone is 80 kB, for a package the zip leaves out.
        return parts[0].split("-")[0] not in _SKIP_DIRS and parts[-1] not in _SKIP_METADATA
    return True


def zip_tree(sources: list[Path], out: Path, prefixes: list[str], append: bool = False) -> int:
    """Zip each source's contents under its prefix, in a stable order (after what `out` holds, when
    appending); returns the size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if not append:
        out.unlink(missing_ok=True)
    with zipfile.ZipFile(out, "a" if append else "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for source, prefix in zip(sources, prefixes, strict=True):
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(source)
                if path.is_dir() or not shipped(relative):
                    continue
                info = zipfile.ZipInfo(prefix + relative.as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return out.stat().st_size


def verify(architecture: str) -> int:
    """Build the zip twice from the lock, each time into a fresh directory; 1 unless byte-identical."""
    machine = ARCHITECTURES[architecture]
    digests = []
    names = ("first", "second")
    # Two directories of different names: nothing of the install's path may reach the zip.
    with tempfile.TemporaryDirectory(prefix="lambda-verify-") as scratch:
        for name in names:
            install(machine, Path(scratch) / f"deps-{name}")
        # Zipped one right after the other: app/ is read twice, and an edit in between is no finding.
        for name in names:
            out = Path(scratch) / f"lambda-{name}.zip"
            size = zip_tree([Path(scratch) / f"deps-{name}", ROOT / "app"], out, prefixes=["", "app/"])
            digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
            print(f"{name} build ({lambda_architecture(architecture)}): sha256 {digests[-1]}, {size} bytes")
    if digests[0] != digests[1]:
        print("deploy.package: the two builds differ", file=sys.stderr)
        return 1
    print("identical")
    return 0


def main(argv: list[str]) -> int:
    checking = argv[:1] == ["--verify"]
    rest = argv[1:] if checking else argv
    architecture = rest[0] if rest else platform.machine()
    if architecture not in ARCHITECTURES or len(rest) > 1:
        print(f"deploy.package: unsupported architecture {architecture} (x86_64 or arm64)", file=sys.stderr)
        return 2
    if checking:
        return verify(architecture)
    out = build(architecture)
    print(out.relative_to(ROOT), out.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
