"""The soak: `make soak`, `python -m bench.soak`. Many clients at once for minutes, then three verdicts.

SOAK_CLIENTS clients (default 16), each a thread with its own HTTP session and its
own user, run a mixed workload for SOAK_SECONDS (default 120): uploads of a tiny
PNG and of ~100 KB and ~1 MB JPEGs (every one with distinct bytes: a repeat of the
same bytes by the same user takes another path), now and then a direct upload
(presigned POST to S3, then complete), listings with filters and next pages,
views, downloads of the presigned URL, and deletes of the client's own images.
Then each client deletes what is left of its images, so the deployment is left
as it was found. It reports, prints as a table and writes to build/soak.json:

- requests/s overall and per route, p50/p95/p99 latency per route, and errors:
  any status other than the one expected, or an exception (exit 1 if any);
- the memory of each Lambda execution environment at its first and last
  invocation of the run, from the line the function logs per invocation
  (app/observability.py), and the growth, checked against MEMORY_GROWTH_BOUND_MIB
  (exit 1 beyond it; docs/guarantees.md says why that bound);
- the consistency check, `python -m ops.maintenance reconcile` (exit 1 unless clean).

Target: the API deploy.sh made on LocalStack (found by its name, with its key);
BASE_URL (and API_KEY, AWS_ENDPOINT_URL for its store) for any other; or
SOAK_TARGET=local for a local server started for the run (no Lambda there: no
memory verdict). The clients join one by one over SOAK_RAMP_SECONDS (default a
quarter of the run, at most 30 s), as load grows on a real service.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from app.observability import MEMORY_MESSAGE
from app.settings import get_settings
from deploy.endpoints import Api, localstack_api
from localserver.launcher import local_server

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "soak.json"
PNG = (ROOT / "tests" / "data" / "sample.png").read_bytes()
MIB = 1024 * 1024
# An environment's resident memory may grow this much from its first invocation of the run to its
# last before the soak calls it a leak. A new environment grows 20-55 MiB while it warms up (its
# first image decode, S3 client, presigner, thread pool) and then stays flat: docs/guarantees.md, "Soak".
MEMORY_GROWTH_BOUND_MIB = 96.0
TAGS = ("soak-a", "soak-b", "soak-c")
TIMEOUT = 60  # seconds: a request slower than this is an error, not a latency


# --- the pure parts (tests/unit/test_soak.py) -----------------------------------------------
def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank: a latency some request really had."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least the first
    return ordered[int(rank) - 1]


def route_stats(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    """Count, rate and latency percentiles of one route (errors counted among its requests)."""
    count = len(latencies)
    return {
        "count": count,
        "per_s": round(count / seconds, 2) if seconds else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "errors": errors,
    }


def environments(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per execution environment (its log stream), in time order: invocations, the memory of the
    first and the last, the growth between them, and the peak. Lines are the function's memory
    lines with `stream` and `at` (epoch ms) added; those without a figure (not Linux) are left out."""
    by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if line.get("rss_mib") is not None:
            by_stream[line["stream"]].append(line)
    result = {}
    for stream, seen in sorted(by_stream.items()):
        seen.sort(key=lambda line: line["at"])
        first, last = seen[0]["rss_mib"], seen[-1]["rss_mib"]
        result[stream] = {
            "invocations": len(seen),
            "cold_start_seen": any(line.get("cold_start") for line in seen),
            "first_mib": first,
            "last_mib": last,
            "growth_mib": round(last - first, 1),
            "peak_mib": max(line.get("max_rss_mib") or 0.0 for line in seen),
        }
    return result


def memory_verdict(envs: dict[str, dict[str, Any]], bound_mib: float, limit_mib: float) -> list[str]:
    """Why the memory fails the soak, if it does: an environment grew more than `bound_mib`, or its
    peak came within 10% of the function's memory (`limit_mib`: where Lambda kills it)."""
    problems = []
    for stream, env in envs.items():
        if env["growth_mib"] > bound_mib:
            problems.append(f"environment {stream} grew {env['growth_mib']} MiB (bound {bound_mib:g} MiB)")
        if env["peak_mib"] > 0.9 * limit_mib:
            problems.append(f"environment {stream} peaked at {env['peak_mib']} MiB of {limit_mib:g} MiB")
    return problems


def verdict(report: dict[str, Any]) -> list[str]:
    """Every reason the soak failed; none: it passed."""
    problems = []
    errors = report["totals"]["errors"]
    if errors:
        problems.append(f"{errors} error(s)")
    memory = report["memory"]
    if memory.get("measured"):
        problems += memory["problems"]
    elif memory.get("required"):
        problems.append(f"memory not measured: {memory.get('why', '?')}")
    if not report["consistency"]["clean"]:
        problems.append("reconcile found inconsistencies")
    if report["cleanup"]["left"]:
        problems.append(f"{report['cleanup']['left']} soak image(s) left after the cleanup")
    return problems


def format_table(report: dict[str, Any]) -> str:
    """The report as people read it."""
    config, totals = report["config"], report["totals"]
    out = [
        f"Soak: {config['clients']} clients (joining over the first {config['ramp_seconds']:g} s) for "
        f"{totals['seconds']:.0f} s against {report['target']} ({report['machine']['cores']} cores)",
        "",
        f"  {'route':<34} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}",
    ]
    for name, stats in report["routes"].items():
        out.append(
            f"  {name:<34} {stats['count']:>6} {stats['per_s']:>7.2f} {stats['p50_ms']:>8.1f} "
            f"{stats['p95_ms']:>8.1f} {stats['p99_ms']:>8.1f} {stats['errors']:>6}"
        )
    out.append(
        f"  {'all':<34} {totals['count']:>6} {totals['per_s']:>7.2f} {'':>8} {'':>8} {'':>8} {totals['errors']:>6}"
    )
    for example in report["error_examples"]:
        out.append(f"    error: {example}")
    memory = report["memory"]
    out.append("")
    if memory.get("measured"):
        out.append(f"Lambda environments, memory lines from {memory['source']}:")
        out.append(f"  {'environment':<34} {'calls':>6} {'first MiB':>10} {'last MiB':>9} {'growth':>7} {'peak':>7}")
        for stream, env in memory["environments"].items():
            out.append(
                f"  {stream[-34:]:<34} {env['invocations']:>6} {env['first_mib']:>10.1f} {env['last_mib']:>9.1f} "
                f"{env['growth_mib']:>+7.1f} {env['peak_mib']:>7.1f}"
            )
        worst = max((env["growth_mib"] for env in memory["environments"].values()), default=0.0)
        state = "ok" if not memory["problems"] else "; ".join(memory["problems"])
        out.append(
            f"  largest growth {worst:+.1f} MiB (bound {memory['bound_mib']:g} MiB; function {memory['limit_mib']:g}"
            f" MiB): {state}"
        )
    else:
        out.append(f"Lambda memory: not measured ({memory.get('why', '?')})")
    consistency, cleanup = report["consistency"], report["cleanup"]
    out.append(f"consistency (ops.maintenance reconcile): {'clean' if consistency['clean'] else 'NOT clean'}")
    out += [f"  {line}" for line in consistency["output"] if not consistency["clean"]]
    out.append(f"cleanup: {cleanup['deleted']} image(s) deleted, {cleanup['left']} left under the soak's users")
    problems = report["verdict"]
    out.append(f"verdict: {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}")
    return "\n".join(out)


# --- images ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    route: str
    filename: str
    content_type: str
    base: bytes


def jpeg(width: int, height: int, quality: int) -> bytes:
    """Colour noise, which JPEG cannot compress much: the size follows from the pixels."""
    from PIL import Image

    bands = [Image.effect_noise((width, height), 60) for _ in range(3)]
    buffer = io.BytesIO()
    Image.merge("RGB", bands).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def kinds() -> dict[str, Kind]:
    return {
        "png": Kind("POST /upload (290 B PNG)", "tiny.png", "image/png", PNG),
        "jpeg100k": Kind("POST /upload (~100 KB JPEG)", "photo.jpg", "image/jpeg", jpeg(400, 300, 90)),
        "jpeg1m": Kind("POST /upload (~1 MB JPEG)", "large.jpg", "image/jpeg", jpeg(1120, 840, 95)),
    }


def distinct(kind: Kind) -> bytes:
    """The kind's image, its bytes made unique where metadata stripping keeps them and no decoder
    looks: random pixel densities (a PNG's pHYs chunk, a JPEG's JFIF header). Same pixels, distinct
    bytes, so each upload takes the path of a new image, not of a repeat."""
    return distinct_png(kind.base) if kind.content_type == "image/png" else distinct_jpeg(kind.base)


def distinct_png(png: bytes) -> bytes:
    body = b"pHYs" + os.urandom(8) + b"\x00"  # x and y pixels per unit; unit unknown (aspect only)
    chunk = len(body[4:]).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    return png[:33] + chunk + png[33:]  # after the signature and IHDR (8 + 25 bytes)


def distinct_jpeg(jpeg: bytes) -> bytes:
    assert jpeg[6:11] == b"JFIF\x00", "Pillow writes a JFIF header first"
    return jpeg[:14] + os.urandom(4) + jpeg[18:]  # its X and Y density


# --- the clients -----------------------------------------------------------------------------
@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def merge(self, other: Results) -> None:
        for route, samples in other.latencies.items():
            self.latencies[route] += samples
        for route, count in other.errors.items():
            self.errors[route] += count
        self.examples += other.examples


class Client:
    """One user's session: its own uploads, which it alone deletes."""

    def __init__(self, number: int, api: Api, run: str, images: dict[str, Kind]) -> None:
        self.user = f"soak-{run}-{number}"
        self.api, self.images = api, images
        self.random = random.Random(f"{run}-{number}")  # noqa: S311  (a workload, not a secret)
        self.session = requests.Session()
        self.key = {"x-api-key": api.api_key} if api.api_key else {}
        self.own: dict[str, int] = {}  # id -> size in bytes, of this client's images
        self.results = Results()
        self.deleted = 0

    def call(self, route: str, method: str, url: str, expected: int, **kwargs: Any) -> requests.Response | None:
        """One request, timed under `route`; None (and an error counted) unless it answers `expected`."""
        to_api = not url.startswith("http")
        headers = {**(self.key if to_api else {}), **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = self.session.request(
                method, f"{self.api.base_url}{url}" if to_api else url, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            self.results.latencies[route].append((time.perf_counter() - started) * 1000)
            self.error(route, f"{type(exc).__name__}: {exc}")
            return None
        self.results.latencies[route].append((time.perf_counter() - started) * 1000)
        if response.status_code != expected:
            self.error(route, f"{response.status_code} (expected {expected}) {response.text[:200]!r}")
            return None
        return response

    def error(self, route: str, what: str) -> None:
        self.results.errors[route] += 1
        if len(self.results.examples) < 3:
            self.results.examples.append(f"{route}: {what}")

    def step(self) -> None:
        """One operation, chosen as a busy gallery's users might: mostly reads, a steady stream of
        uploads, deletes enough to keep each client's images between a few and a few dozen."""
        r = self.random.random()
        if not self.own or r < 0.22:
            self.upload(self.random.choices(["png", "jpeg100k", "jpeg1m"], weights=[5, 4, 2])[0])
        elif r < 0.24:
            self.direct_upload()
        elif r < 0.50:
            self.browse()
        elif r < 0.68:
            self.view()
        elif r < 0.80:
            self.download()
        elif r < 0.96 or len(self.own) > 30:
            self.delete(self.random.choice(list(self.own)))
        else:
            self.list_own()

    def upload(self, which: str) -> None:
        kind = self.images[which]
        data = distinct(kind)
        tags = f"soak,{self.random.choice(TAGS)}"
        form = {"user": self.user, "description": f"soak {which}", "tags": tags}
        files = {"file": (f"soak-{kind.filename}", data, kind.content_type)}
        response = self.call(kind.route, "POST", "/upload", 201, data=form, files=files)
        if response is not None:
            self.own[response.json()["id"]] = len(data)

    def direct_upload(self) -> None:
        kind = self.images["jpeg100k"]
        data = distinct(kind)
        request = {"user": self.user, "filename": "soak-direct.jpg", "content_type": kind.content_type}
        started = self.call(
            "POST /uploads", "POST", "/uploads", 201, json={**request, "size": len(data), "tags": ["soak"]}
        )
        if started is None:
            return
        image_id, form = started.json()["id"], started.json()["upload"]
        self.own[image_id] = len(data)  # deleted like any other, even if it never gets ready
        files = {"file": ("soak-direct.jpg", data, kind.content_type)}  # the file last, as S3 wants
        if self.call("POST presigned form (S3)", "POST", form["url"], 204, data=form["fields"], files=files):
            # S3's notification may process it first: complete answers the same either way.
            self.call("POST /uploads/{id}/complete", "POST", f"/uploads/{image_id}/complete", 200)

    def browse(self) -> None:
        choice = self.random.randrange(4)
        if choice == 0:
            route, query = "GET /list", {"limit": self.random.choice(("10", "50", "100"))}
        elif choice == 1:
            route, query = "GET /list?tag=", {"tag": self.random.choice(TAGS), "limit": "20"}
        elif choice == 2:
            route, query = "GET /list?name_contains=", {"name_contains": "soak-photo", "limit": "20"}
        else:
            route, query = "GET /list?user=&order=oldest", {"user": self.user, "order": "oldest", "limit": "5"}
        response = self.call(route, "GET", "/list", 200, params=query)
        link = response.headers.get("Link") if response is not None else None
        if link and self.random.random() < 0.5:  # the next page, as a client following Link does
            target = link.split(";", 1)[0].strip()[1:-1]  # "<?limit=..&cursor=..>": relative to /list
            self.call("GET /list?cursor= (next page)", "GET", f"/list{target}", 200)

    def list_own(self) -> None:
        self.call("GET /list?user=&tag=", "GET", "/list", 200, params={"user": self.user, "tag": "soak"})

    def view(self) -> dict[str, Any] | None:
        image_id = self.random.choice(list(self.own))
        response = self.call("GET /view/{id}", "GET", f"/view/{image_id}", 200)
        return dict(response.json()) if response is not None else None

    def download(self) -> None:
        view = self.view()
        if view is None or view["status"] != "ready":  # a direct upload still pending: nothing to fetch
            return
        response = self.call("GET presigned url (S3)", "GET", view["url"], 200)
        if response is not None and len(response.content) != self.own[view["id"]]:
            self.error("GET presigned url (S3)", f"{len(response.content)} bytes, uploaded {self.own[view['id']]}")

    def delete(self, image_id: str) -> None:
        if self.call("DELETE /delete/{id}", "DELETE", f"/delete/{image_id}", 200) is not None:
            del self.own[image_id]

    def run(self, start: float, until: float) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < until:
            try:
                self.step()
            except Exception as exc:  # a bug of the workload must show, not end the thread quietly
                self.error("client", f"{type(exc).__name__}: {exc}")

    def clean_up(self) -> int:
        """Delete every image of this client's user, returning how many are still listed after. By what
        the API lists, not only the ids it answered: an upload whose answer timed out may still have
        been stored."""
        for _ in range(3):
            listed = self.listed()
            for image_id in set(self.own) | set(listed):
                try:
                    answer = self.session.delete(f"{self.api.base_url}/delete/{image_id}", headers=self.key, timeout=60)
                except requests.RequestException:
                    continue  # the next round tries it again
                if answer.status_code in (200, 404):
                    self.own.pop(image_id, None)
                    self.deleted += answer.status_code == 200
            if not self.own and not self.listed():
                return 0
            time.sleep(2)  # an upload still in flight
        return len(self.listed())

    def listed(self) -> list[str]:
        """The ids the API lists under this client's user, ready and pending."""
        ids = []
        for status in ("ready", "pending"):
            page = self.session.get(
                f"{self.api.base_url}/list",
                params={"user": self.user, "status": status, "limit": "1000"},
                headers=self.key,
                timeout=60,
            )
            page.raise_for_status()
            ids += [item["id"] for item in page.json()]
        return ids


# --- around the run ----------------------------------------------------------------------------
@contextmanager
def target() -> Iterator[tuple[str, Api]]:
    """(description, the API) the soak aims at: BASE_URL, a local server, or LocalStack's."""
    if os.environ.get("BASE_URL"):
        base = os.environ["BASE_URL"].rstrip("/")
        yield base, Api(base, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("API_KEY") or None)
    elif os.environ.get("SOAK_TARGET", "localstack") == "local":
        with local_server() as api:
            yield "a local server", api
    else:
        api = localstack_api()
        yield f"LocalStack{' (API key)' if api.api_key else ''}", api


def memory_lines(api: Api, since_ms: int, until_ms: int) -> tuple[str, list[dict[str, Any]]]:
    """The function's memory lines of the run: from CloudWatch Logs (AWS, LocalStack with Docker), else from
    the environments' own output where host-mode LocalStack keeps it (one file per environment)."""
    name = get_settings().function_name
    lines = cloudwatch_lines(api, name, since_ms, until_ms)
    if lines:
        return f"CloudWatch Logs /aws/lambda/{name}", lines
    folder = host_mode_logs()
    lines = file_lines(folder, name, since_ms, until_ms) if folder else []
    return f"the environments' output in {folder}", lines


def cloudwatch_lines(api: Api, function: str, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    logs = boto3.client(
        "logs",
        endpoint_url=api.aws_endpoint,
        region_name=get_settings().region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    lines: list[dict[str, Any]] = []
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{function}", startTime=since_ms, endTime=until_ms
        )
        for page in pages:
            for event in page["events"]:
                line = parse(event["message"], function)
                if line is not None:
                    lines.append({**line, "stream": event["logStreamName"], "at": event["timestamp"]})
    except (BotoCoreError, ClientError):  # no such group: the logs go elsewhere
        return []
    return lines


def host_mode_logs() -> Path | None:
    """Where LocalStack without Docker (../shared/localstack-host) keeps each environment's output."""
    work = os.environ.get("LOCALSTACK_HOST_WORK")
    for folder in ([Path(work)] if work else []) + [ROOT.parent / "shared" / "localstack-host" / ".work"]:
        if (folder / "lambda-logs").is_dir():
            return folder / "lambda-logs"
    return None


def file_lines(folder: Path, function: str, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(folder.glob("*.log")):
        for text in path.read_text(errors="replace").splitlines():
            line = parse(text, function)
            if line is None:
                continue
            at = int(datetime.strptime(line["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z").timestamp() * 1000)
            if since_ms <= at <= until_ms:
                lines.append({**line, "stream": path.stem, "at": at})
    return lines


def parse(text: str, function: str) -> dict[str, Any] | None:
    """A memory line of `function`, or None for anything else (its other logs, START/END lines)."""
    if MEMORY_MESSAGE not in text:
        return None
    try:
        line = json.loads(text[text.index("{") :])
    except ValueError:
        return None
    if not isinstance(line, dict) or line.get("message") != MEMORY_MESSAGE or line.get("function_name") != function:
        return None
    return line


def memory(api: Api, local: bool, since_ms: int, until_ms: int) -> dict[str, Any]:
    if local:
        return {"measured": False, "required": False, "why": "a local server is not a Lambda environment"}
    limit = float(get_settings().memory_mb)
    source, lines = "", list[dict[str, Any]]()
    for _ in range(10):  # CloudWatch Logs takes a moment to deliver
        source, lines = memory_lines(api, since_ms, until_ms)
        if lines:
            break
        time.sleep(1)
    if not lines:
        return {"measured": False, "required": True, "why": f"no memory lines in {source}"}
    envs = environments(lines)
    return {
        "measured": True,
        "source": source,
        "bound_mib": MEMORY_GROWTH_BOUND_MIB,
        "limit_mib": limit,
        "environments": envs,
        "problems": memory_verdict(envs, MEMORY_GROWTH_BOUND_MIB, limit),
    }


def reconcile(api: Api) -> dict[str, Any]:
    """`python -m ops.maintenance reconcile` on the target's store, as `make reconcile` runs it, with no
    grace period: the soak's requests have all been answered, so whatever is odd now stays odd."""
    env = dict(os.environ)
    if api.aws_endpoint:
        env["AWS_ENDPOINT_URL"] = api.aws_endpoint
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    command = [sys.executable, "-m", "ops.maintenance", "reconcile", "--grace-minutes", "0"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    output = (done.stdout + done.stderr).strip().splitlines()
    return {"clean": done.returncode == 0, "output": output[-20:]}


def run(clients: list[Client], seconds: float, ramp: float) -> float:
    """Every client for `seconds`, the n-th joining after n/len(clients) of `ramp`; returns how long it
    really took (the last requests end late). Joining all at once would start as many execution
    environments at once: on a small machine LocalStack then gives up on some (20 s to start), which
    measures its start-up queue rather than the API."""
    started = time.monotonic()
    threads = [
        threading.Thread(target=client.run, args=(started + ramp * n / len(clients), started + seconds), daemon=True)
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def main() -> int:
    seconds, count = float(os.environ.get("SOAK_SECONDS", "120")), int(os.environ.get("SOAK_CLIENTS", "16"))
    ramp = float(os.environ.get("SOAK_RAMP_SECONDS", min(30.0, seconds / 4)))
    images = kinds()
    run_id = uuid.uuid4().hex[:8]
    with target() as (described, api):
        local = os.environ.get("SOAK_TARGET") == "local" and not os.environ.get("BASE_URL")
        clients = [Client(n, api, run_id, images) for n in range(count)]
        print(
            f"soak: {count} clients joining over {ramp:g} s, for {seconds:g} s in all, against {described}", flush=True
        )
        since_ms = int(time.time() * 1000)
        elapsed = run(clients, seconds, ramp)
        until_ms = int(time.time() * 1000)
        results = Results()
        for client in clients:
            results.merge(client.results)
        left = sum(client.clean_up() for client in clients)
        report: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "target": described,
            "base_url": api.base_url,
            "machine": {"cores": os.cpu_count()},
            "config": {
                "seconds": seconds,
                "clients": count,
                "ramp_seconds": ramp,
                "sizes": {k: len(v.base) for k, v in images.items()},
            },
            "routes": {
                route: route_stats(results.latencies.get(route, []), results.errors.get(route, 0), elapsed)
                for route in sorted(set(results.latencies) | set(results.errors))
            },
            "error_examples": results.examples[:10],
            "memory": memory(api, local, since_ms, until_ms),
            "cleanup": {"deleted": sum(client.deleted for client in clients), "left": left},
        }
        total = sum(len(samples) for samples in results.latencies.values())
        errors = sum(results.errors.values())
        report["totals"] = {"count": total, "per_s": round(total / elapsed, 2), "errors": errors, "seconds": elapsed}
        report["consistency"] = reconcile(api)
    report["verdict"] = verdict(report)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(format_table(report))
    print(f"written to {OUT.relative_to(ROOT)}")
    return 1 if report["verdict"] else 0


if __name__ == "__main__":
    sys.exit(main())
