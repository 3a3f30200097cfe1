"""The Lambda zip, built for the function's platform, never from this interpreter: `python -m deploy.package`.

deploy.sh and the template's deployments (deploy/stack.sh) build it here, the same way:
the packages of requirements.txt as wheels for python3.12 on Amazon Linux
(manylinux2014, or manylinux_2_28 where a package, Pillow 13, builds no older; the
runtime's glibc 2.34 runs both), then app/, zipped in a stable order.

    python -m deploy.package [x86_64|arm64]     prints the zip's path and its size in bytes
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
RUNTIME = "python3.12"
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
# Never shipped: the runtime has boto3; caches and metadata only cost cold start.
_SKIP_DIRS = {"__pycache__", "tests", "boto3", "botocore", "s3transfer"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def lambda_architecture(name: str) -> str:
    """Lambda's name of an architecture (x86_64 or arm64)."""
    return "arm64" if ARCHITECTURES[name] == "aarch64" else "x86_64"


def dependencies(machine: str) -> Path:
    """The wheels of requirements.txt for the runtime, installed once per requirements and machine."""
    requirements = ROOT / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = BUILD / f"deps-{key}-{machine}"
    if target.is_dir():
        return target
    for stale in BUILD.glob("deps-*"):
        shutil.rmtree(stale)
    staging = target.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
            "--no-compile", "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}",
            "--only-binary=:all:", "--python-version", RUNTIME.removeprefix("python"), "--implementation", "cp",
            "-t", str(staging), "-r", str(requirements),
        ],
        check=True,
    )  # fmt: skip
    staging.rename(target)
    return target


def build(architecture: str) -> Path:
    """build/lambda.zip: the dependencies and app/ at the archive's root."""
    machine = ARCHITECTURES[architecture]
    out = BUILD / "lambda.zip"
    zip_tree([dependencies(machine), ROOT / "app"], out, prefixes=["", "app/"])
    return out


def zip_tree(sources: list[Path], out: Path, prefixes: list[str]) -> int:
    """Zip each source's contents under its prefix, in a stable order; returns the size in bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for source, prefix in zip(sources, prefixes, strict=True):
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(source)
                if path.is_dir() or _SKIP_DIRS.intersection(relative.parts) or path.suffix in _SKIP_SUFFIXES:
                    continue
                info = zipfile.ZipInfo(prefix + relative.as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return out.stat().st_size


def main(argv: list[str]) -> int:
    architecture = argv[0] if argv else platform.machine()
    if architecture not in ARCHITECTURES:
        print(f"deploy.package: unsupported architecture {architecture} (x86_64 or arm64)", file=sys.stderr)
        return 2
    out = build(architecture)
    print(out.relative_to(ROOT), out.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
