"""make audit's verdict from pip-audit's JSON, and when no database answers: canned, no network."""

from __future__ import annotations

import urllib.error
from pathlib import Path
from typing import Any

import pytest

from ops import audit

VULNERABLE_WITH_FIX = {
    "dependencies": [
        {"name": "pillow", "version": "13.0.0", "vulns": []},
        {
            "name": "urllib3",
            "version": "2.8.0",
            "vulns": [{"id": "GHSA-xxxx-yyyy-zzzz", "fix_versions": ["2.8.1"], "aliases": ["CVE-2099-1"]}],
        },
    ],
    "fixes": [],
}
VULNERABLE_WITHOUT_FIX = {
    "dependencies": [
        {"name": "six", "version": "1.17.0", "vulns": [{"id": "PYSEC-2099-1", "fix_versions": [], "aliases": []}]},
    ],
    "fixes": [],
}
CLEAN = {"dependencies": [{"name": "six", "version": "1.17.0", "vulns": []}], "fixes": []}
# What pip-audit printed here, where the release JSON answers 404: every package skipped, and
# on its stderr "No known vulnerabilities found".
ALL_SKIPPED = {
    "dependencies": [
        {"name": "six", "skip_reason": "Dependency not found on PyPI and could not be audited: six (1.17.0)"}
    ],
    "fixes": [],
}


def verdict(report: dict[str, Any], unavailable_ok: bool = False) -> tuple[int, list[str]]:
    return audit.decide({"requirements.lock": audit.parse(report)}, None, unavailable_ok)


def test_a_vulnerability_with_a_fix_fails() -> None:
    code, lines = verdict(VULNERABLE_WITH_FIX)
    assert code == 1
    assert "requirements.lock: urllib3==2.8.0 GHSA-xxxx-yyyy-zzzz: fixed in 2.8.1" in lines


def test_a_vulnerability_without_a_fix_is_listed_not_failed() -> None:
    code, lines = verdict(VULNERABLE_WITHOUT_FIX)
    assert code == 0
    assert "requirements.lock: six==1.17.0 PYSEC-2099-1: no fixed version yet" in lines


def test_nothing_found_passes() -> None:
    code, lines = verdict(CLEAN)
    assert code == 0
    assert lines[-1].startswith("vulnerability audit passed")


@pytest.mark.parametrize(("unavailable_ok", "expected"), [(False, 2), (True, 0)])
def test_skipped_packages_are_not_a_pass(unavailable_ok: bool, expected: int) -> None:
    code, lines = verdict(ALL_SKIPPED, unavailable_ok)
    assert code == expected
    assert "NOT RUN" in lines[-1]
    assert "passed" not in " ".join(lines)


def not_found(timeout: float) -> Any:
    raise urllib.error.HTTPError("https://example.invalid", 404, "Not Found", None, None)  # type: ignore[arg-type]


def unreachable(timeout: float) -> Any:
    raise urllib.error.URLError(OSError(-2, "Name or service not known"))


def test_the_probe_names_why_each_service_failed() -> None:
    service, why = audit.probe({"pypi": not_found, "osv": unreachable})
    assert service is None
    assert why.startswith("pypi: HTTP 404; osv: ")


def test_the_probe_wants_the_canarys_vulnerabilities() -> None:
    assert audit.probe({"pypi": lambda timeout: [], "osv": lambda timeout: [{"id": "X"}]}) == ("osv", "")


@pytest.mark.parametrize(("unavailable_ok", "expected"), [("", 2), ("1", 0)])
def test_no_database_means_not_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], unavailable_ok: str, expected: int
) -> None:
    monkeypatch.setattr(audit, "SERVICES", {"pypi": not_found, "osv": unreachable})
    monkeypatch.setenv("AUDIT_UNAVAILABLE_OK", unavailable_ok)

    def never(lock: Path, service: str) -> dict[str, Any]:
        raise AssertionError("pip-audit ran without a database")

    monkeypatch.setattr(audit, "run_pip_audit", never)
    assert audit.main(["requirements.lock"]) == expected
    assert capsys.readouterr().out.startswith("vulnerability audit NOT RUN: no vulnerability database answered")


def test_a_database_that_answers_runs_pip_audit_per_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "SERVICES", {"pypi": lambda timeout: [{"id": "X"}]})
    reports = {"requirements.lock": CLEAN, "requirements-dev.lock": VULNERABLE_WITH_FIX}
    monkeypatch.setattr(audit, "run_pip_audit", lambda lock, service: reports[str(lock)])
    assert audit.main(list(reports)) == 1
