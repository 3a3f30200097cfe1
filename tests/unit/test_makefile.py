"""`make help` lists every command the README names."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_make_help_lists_every_command() -> None:
    listed = subprocess.run(["make", "-s", "help"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    names = {line.split()[1] for line in listed.splitlines() if line.strip().startswith("make ")}
    assert {"e2e", "e2e-local", "inspect", "test", "run", "dev", "reconcile", "bench", "openapi"} <= names


def test_make_help_prints_commands_as_they_are_typed() -> None:
    """A `$$` is a Makefile escape: in a help line it would be printed, and copied, as it is."""
    listed = subprocess.run(["make", "-s", "help"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "$$" not in listed
    assert 'eval "$(make -s ls-api)"' in listed
