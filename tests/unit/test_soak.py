"""The soak's arithmetic and verdicts (bench/soak.py), without running one."""

from __future__ import annotations

import json
from typing import Any

from bench import soak


def test_percentiles_are_latencies_some_request_had() -> None:
    samples = [float(n) for n in range(100, 0, -1)]  # 1..100, in any order

    assert (soak.percentile(samples, 50), soak.percentile(samples, 95), soak.percentile(samples, 99)) == (50, 95, 99)
    assert soak.percentile([7.0], 99) == 7.0
    assert soak.percentile([1.0, 2.0, 3.0], 0) == 1.0  # the first rank, never the zeroth
    assert soak.percentile([], 50) == 0.0


def test_route_stats_rate_and_errors() -> None:
    stats = soak.route_stats([10.0, 20.0, 30.0, 40.0], errors=1, seconds=2.0)

    assert (stats["count"], stats["per_s"], stats["p50_ms"], stats["p99_ms"], stats["errors"]) == (4, 2.0, 20, 40, 1)


def line(stream: str, at: int, rss: float | None, peak: float = 100.0) -> dict[str, Any]:
    return {"stream": stream, "at": at, "rss_mib": rss, "max_rss_mib": peak, "cold_start": at == 0}


def test_environments_first_and_last_by_time_not_by_arrival() -> None:
    lines = [line("b", 5, 80.0), line("a", 3, 75.0, 120.0), line("a", 1, 70.0), line("a", 2, 90.0), line("c", 1, None)]

    envs = soak.environments(lines)

    assert set(envs) == {"a", "b"}  # a line without figures (not Linux) makes no environment
    assert envs["a"] == {
        "invocations": 3,
        "cold_start_seen": False,
        "first_mib": 70.0,
        "last_mib": 75.0,
        "growth_mib": 5.0,
        "peak_mib": 120.0,
    }
    assert envs["b"]["growth_mib"] == 0.0


def test_memory_verdict_growth_bound_and_function_limit() -> None:
    envs = soak.environments([line("a", 1, 70.0), line("a", 2, 134.0), line("b", 1, 70.0), line("b", 2, 135.0)])

    assert soak.memory_verdict({"a": envs["a"]}, bound_mib=64, limit_mib=1024) == []  # exactly the bound passes
    assert soak.memory_verdict(envs, bound_mib=64, limit_mib=1024) == ["environment b grew 65.0 MiB (bound 64 MiB)"]
    near_limit = soak.environments([line("c", 1, 70.0, peak=950.0)])
    assert soak.memory_verdict(near_limit, bound_mib=64, limit_mib=1024) == [
        "environment c peaked at 950.0 MiB of 1024 MiB"
    ]


def report(**changes: Any) -> dict[str, Any]:
    envs = soak.environments([line("env-1", 1, 70.0), line("env-1", 2, 72.5)])
    base: dict[str, Any] = {
        "target": "LocalStack",
        "machine": {"cores": 2},
        "config": {"clients": 16, "ramp_seconds": 30.0},
        "routes": {"GET /list": soak.route_stats([12.0, 15.0], 0, 60.0)},
        "totals": {"count": 2, "per_s": 0.03, "errors": 0, "seconds": 60.0},
        "error_examples": [],
        "memory": {
            "measured": True, "source": "logs", "bound_mib": 64.0, "limit_mib": 1024.0,
            "environments": envs, "problems": [],
        },
        "consistency": {"clean": True, "output": ["0 finding(s)"]},
        "cleanup": {"deleted": 3, "left": 0},
    }  # fmt: skip
    base.update(changes)
    return base


def test_verdict_passes_a_clean_run_and_names_every_failure() -> None:
    assert soak.verdict(report()) == []
    failed = report(
        totals={"count": 2, "per_s": 0.03, "errors": 2, "seconds": 60.0},
        memory={"measured": True, "problems": ["environment x grew 99 MiB (bound 64 MiB)"]},
        consistency={"clean": False, "output": ["row-without-object\tid\tkey", "1 finding(s)"]},
        cleanup={"deleted": 1, "left": 1},
    )
    assert soak.verdict(failed) == [
        "2 error(s)",
        "environment x grew 99 MiB (bound 64 MiB)",
        "reconcile found inconsistencies",
        "1 soak image(s) left after the cleanup",
    ]


def test_memory_not_measured_fails_on_a_lambda_but_not_on_the_local_server() -> None:
    assert soak.verdict(report(memory={"measured": False, "required": False, "why": "local"})) == []
    assert soak.verdict(report(memory={"measured": False, "required": True, "why": "no lines"})) == [
        "memory not measured: no lines"
    ]


def test_table_shows_routes_environments_and_verdict() -> None:
    done = report()
    done["verdict"] = soak.verdict(done)

    table = soak.format_table(done)

    assert "16 clients (joining over the first 30 s) for 60 s against LocalStack" in table
    assert "GET /list" in table
    assert "env-1" in table
    assert "+2.5" in table
    assert "consistency (ops.maintenance reconcile): clean" in table
    assert table.endswith("verdict: PASS")
    json.dumps(done)  # what build/soak.json holds


def test_each_upload_has_distinct_bytes_of_the_same_image() -> None:
    from io import BytesIO

    from PIL import Image

    kind = soak.Kind("POST /upload", "x.jpg", "image/jpeg", soak.jpeg(40, 30, 90))
    first, second = soak.distinct(kind), soak.distinct(kind)

    assert first != second
    for data in (first, second):
        with Image.open(BytesIO(data)) as image:
            image.load()  # still a whole, valid JPEG
            assert image.size == (40, 30)
