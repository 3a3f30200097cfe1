"""Every invocation logs its execution environment's memory (what `make soak` reads)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from app.observability import MEMORY_MESSAGE
from tests.events import proxy_event
from tests.integration.lambda_client import invoke


def test_each_invocation_logs_its_memory_once(aws: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    invoke(proxy_event("GET", "/list"))
    invoke(proxy_event("GET", "/view/no-such-image"))  # an error answer logs it too

    lines = [record for record in caplog.records if record.getMessage() == MEMORY_MESSAGE]
    assert len(lines) == 2
    for line in lines:
        rss, peak = line.__dict__["rss_mib"], line.__dict__["max_rss_mib"]  # set by extra=
        if sys.platform.startswith("linux"):  # this process stands for the environment: tens of MiB at least
            assert 10 < rss <= peak < 4096
        else:  # no /proc: said, not guessed
            assert (rss, peak) == (None, None)
