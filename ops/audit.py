"""Known vulnerabilities in the lock files: `python -m ops.audit LOCK...` (`make audit`).

pip-audit reads each lock (pinned and hashed, so it installs nothing) and asks a vulnerability
database about every pin. Exit codes:

    0  nothing with a fixed version (vulnerabilities without a fix are listed, not failed)
    1  a pinned version has a vulnerability that a newer version fixes: upgrade it (make lock)
    2  the audit did NOT run, or not for every package: no database answered. With
       AUDIT_UNAVAILABLE_OK=1 this is 0, and the NOT RUN line is printed all the same.

Where no database answers, pip-audit still prints "No known vulnerabilities found" (every
package is only skipped), so the databases are probed first and every skip counts as not run:
this never reports a pass it did not check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A release with published advisories: a database that answers for it, with vulnerabilities,
# has data, where an empty answer or a 404 may only mean a mirror without the JSON API.
CANARY = ("jinja2", "2.4.1")
TIMEOUT = 10.0


@dataclass(frozen=True)
class Vulnerability:
    package: str
    version: str
    id: str
    fix_versions: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    vulnerabilities: list[Vulnerability]
    skipped: dict[str, str]  # package: pip-audit's reason


def _pypi(timeout: float) -> Any:
    name, version = CANARY
    url = f"https://pypi.org/pypi/{name}/{version}/json"
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.load(answer).get("vulnerabilities")


def _osv(timeout: float) -> Any:
    name, version = CANARY
    body = json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).encode()
    request = urllib.request.Request(
        "https://api.osv.dev/v1/query", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (a constant https URL)
        return json.load(answer).get("vulns")


# pip-audit's services, asked as it asks them (-s pypi: a release's JSON; -s osv: OSV's query API).
SERVICES: dict[str, Callable[[float], Any]] = {"pypi": _pypi, "osv": _osv}


def probe(services: dict[str, Callable[[float], Any]] | None = None) -> tuple[str | None, str]:
    """(the first service that knows the canary's vulnerabilities, or None; why each other did not)."""
    failures = []
    for name, ask in (services or SERVICES).items():
        try:
            vulnerabilities = ask(TIMEOUT)
        except urllib.error.HTTPError as error:
            failures.append(f"{name}: HTTP {error.code}")
        except (OSError, ValueError) as error:  # unreachable, timed out, or not JSON
            failures.append(f"{name}: {getattr(error, 'reason', None) or error}")
        else:
            if vulnerabilities:
                return name, ""
            failures.append(f"{name}: answered without the vulnerabilities of {'=='.join(CANARY)}")
    return None, "; ".join(failures)


def parse(report: dict[str, Any]) -> Report:
    """pip-audit's JSON: every vulnerability with its fixes, and every package it skipped."""
    vulnerabilities, skipped = [], {}
    for dependency in report.get("dependencies", []):
        name = dependency["name"]
        if "skip_reason" in dependency:
            skipped[name] = dependency["skip_reason"]
            continue
        for vuln in dependency.get("vulns", []):
            fixes = tuple(vuln.get("fix_versions") or ())
            vulnerabilities.append(Vulnerability(name, dependency["version"], vuln["id"], fixes))
    return Report(vulnerabilities, skipped)


def decide(reports: dict[str, Report], not_run: str | None, unavailable_ok: bool) -> tuple[int, list[str]]:
    """(exit code, lines to print) for the reports of each lock, or for an audit that could not run."""
    if not_run is not None:
        return (0 if unavailable_ok else 2), [f"vulnerability audit NOT RUN: {not_run}"]
    lines, fixable, skipped = [], False, 0
    for lock, report in reports.items():
        for vuln in report.vulnerabilities:
            fixable = fixable or bool(vuln.fix_versions)
            fix = f"fixed in {', '.join(vuln.fix_versions)}" if vuln.fix_versions else "no fixed version yet"
            lines.append(f"{lock}: {vuln.package}=={vuln.version} {vuln.id}: {fix}")
        if report.skipped:
            reason = next(iter(report.skipped.values()))
            lines.append(f"{lock}: not checked: {', '.join(report.skipped)} (the first: {reason})")
        skipped += len(report.skipped)
    if fixable:
        return 1, [*lines, "vulnerability audit FAILED: upgrade those with a fixed version (make lock)"]
    if skipped:
        message = f"vulnerability audit NOT RUN for {skipped} package(s): the database did not answer for them"
        return (0 if unavailable_ok else 2), [*lines, message]
    return 0, [*lines, f"vulnerability audit passed: {len(reports)} lock file(s), nothing with a fixed version"]


def run_pip_audit(lock: Path, service: str) -> dict[str, Any]:
    """pip-audit's JSON for one lock; RuntimeError when it printed none."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "audit.json"
        # --disable-pip: the lock is every package, pinned and hashed; nothing to resolve or install.
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--disable-pip", "--format", "json",
             "--output", str(out), "--vulnerability-service", service, "--progress-spinner", "off"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if not out.is_file() or not out.read_text().strip():
            raise RuntimeError(f"pip-audit exited {done.returncode}: {done.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def main(argv: Sequence[str]) -> int:
    if not argv:
        print("usage: python -m ops.audit LOCK...", file=sys.stderr)
        return 2
    unavailable_ok = os.environ.get("AUDIT_UNAVAILABLE_OK") == "1"
    service, why = probe()
    reports: dict[str, Report] = {}
    not_run = None if service else f"no vulnerability database answered ({why})"
    if service:
        print(f"auditing {', '.join(argv)} against {service}")
        try:
            reports = {lock: parse(run_pip_audit(Path(lock), service)) for lock in argv}
        except (RuntimeError, ValueError) as error:
            not_run = str(error)
    code, lines = decide(reports, not_run, unavailable_ok)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
