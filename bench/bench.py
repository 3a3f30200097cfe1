"""The benchmark: `make bench`, `python -m bench` (BENCH_SHORT=1 for the quick version CI runs).

Measures, the same way every time, and writes build/bench.json:

- latency (median, p95) of every route over HTTP on a local server, and on
  the LocalStack deployment when there is one, there also as ms over the
  floor (a constant Lambda behind the same kind of API: bench/floor.py);
- GET /list latency and DynamoDB items read per page with 1k, 10k (and 50k)
  images in the table (moto, in-process: the handler's own cost);
- the handler's cold import time in a fresh interpreter;
- the Lambda zip's size (build/lambda.zip, from deploy.sh);
- multipart parse throughput on a 4 MiB body;
- peak Python memory of a 4 MiB upload through the handler.

A benchmark, not a test: it reports numbers and never fails on one.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.floor import floor_api
from deploy.endpoints import Api, UnavailableError, localstack_api
from localserver.gateway import LocalContext
from localserver.launcher import local_server

SHORT = os.environ.get("BENCH_SHORT") == "1"
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench.json"
SAMPLE = (ROOT / "tests" / "data" / "sample.png").read_bytes()
MIB = 1024 * 1024


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "n": len(ordered)}


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


# --- routes over HTTP ------------------------------------------------------------------
def floors(url: str) -> dict[str, Any]:
    """The floor's latency for each kind of request the routes make (bench/floor.py)."""
    repeat = 15 if SHORT else 60
    session = requests.Session()
    for _ in range(5):  # its cold start is not the floor
        session.get(f"{url}/warm-up")
    files = {"file": SAMPLE}
    return {
        "GET": timed(lambda: session.get(f"{url}/list?limit=100").raise_for_status(), repeat),
        "POST": timed(
            lambda: session.post(f"{url}/upload", data={"user": "b"}, files=files).raise_for_status(), repeat
        ),
        "DELETE": timed(lambda: session.delete(f"{url}/delete/x").raise_for_status(), repeat),
    }


def over_floor(result: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """Each route's median over the floor of its method."""
    for name, stats in result.items():
        method = name.split()[0]
        if method in floor:
            stats["over_floor_ms"] = round(stats["median_ms"] - floor[method]["median_ms"], 2)
    return result


def routes(api: Api) -> dict[str, Any]:
    repeat = 15 if SHORT else 60
    session = requests.Session()
    session.headers.update({"x-api-key": api.api_key} if api.api_key else {})
    url = api.base_url

    def upload() -> str:
        response = session.post(f"{url}/upload", data={"user": "bench", "tags": "bench"}, files={"file": SAMPLE})
        response.raise_for_status()
        return str(response.json()["id"])

    ids = [upload() for _ in range(5)]  # warm up, and something to view
    result = {
        "POST /upload (290 B PNG)": timed(lambda: ids.append(upload()), repeat),
        "GET /list?limit=100": timed(lambda: session.get(f"{url}/list?limit=100").raise_for_status(), repeat),
        "GET /list?tag=bench&limit=20": timed(lambda: session.get(f"{url}/list?tag=bench&limit=20"), repeat),
        "GET /view/{id}": timed(lambda: session.get(f"{url}/view/{ids[0]}").raise_for_status(), repeat),
        "POST /uploads (start)": timed(
            lambda: session.post(
                f"{url}/uploads",
                json={"user": "bench", "filename": "b.png", "content_type": "image/png", "size": 100},
            ).raise_for_status(),
            repeat,
        ),
        "GET /openapi.json": timed(lambda: session.get(f"{url}/openapi.json").raise_for_status(), repeat),
    }
    to_delete = iter(list(ids))
    result["DELETE /delete/{id}"] = timed(
        lambda: session.delete(f"{url}/delete/{next(to_delete)}").raise_for_status(), min(repeat, len(ids))
    )
    return result


# --- the handler in-process on moto ---------------------------------------------------------
@contextmanager
def in_process_store() -> Iterator[None]:
    from moto import mock_aws

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"})
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3

    from app import storage
    from deploy.resources import provision

    storage.reset_clients()
    with mock_aws():
        provision(boto3.client("s3", region_name="us-east-1"), boto3.client("dynamodb", region_name="us-east-1"))
        yield
    storage.reset_clients()


def event(method: str, path: str, query: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": extra.pop("headers", {}),
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "dev", "path": f"/dev{path}"},
        "body": extra.pop("body", None),
        "isBase64Encoded": extra.pop("isBase64Encoded", False),
    }


def fill(count: int, start: int) -> None:
    """`count` ready rows (a fifth tagged `rare`), written straight to the table: only listing is measured."""
    from app import layout, storage
    from app.settings import get_settings

    client = storage.dynamodb_client()
    settings = get_settings()
    base = 1_700_000_000_000
    for offset in range(0, count, 25):
        rows: list[Any] = []
        for n in range(start + offset, start + min(offset + 25, count)):
            image_id = str(uuid.UUID(int=n))
            row = {
                "id": image_id, "key": f"{image_id}.png", "user": f"u{n % 50}", "description": "",
                "original_name": f"img{n}.png", "name_search": f"img{n}.png", "tags": ["rare"] if n % 5 == 0 else [],
                "content_type": "image/png", "size": 290, "created_at": (base + n) // 1000, "width": 1, "height": 1,
                "status": "ready", "user_status": f"u{n % 50}#ready", "sort_key": layout.sort_key(base + n, image_id),
            }  # fmt: skip
            rows.append({"PutRequest": {"Item": storage.to_item(row)}})
        client.batch_write_item(RequestItems={settings.table: rows})


def listing_at_scale() -> dict[str, Any]:
    from app.handler import lambda_handler
    from app.storage import dynamodb_client

    sizes = (1_000, 10_000) if SHORT else (1_000, 10_000, 50_000)
    results: dict[str, Any] = {}
    with in_process_store():
        read: list[int] = []
        dynamodb_client().meta.events.register(
            "after-call.dynamodb.Query", lambda parsed, **_: read.append(parsed.get("ScannedCount", 0))
        )
        filled = 0
        for size in sizes:
            fill(size - filled, filled)
            filled = size
            for name, query in (
                ("limit=100", {"limit": "100"}),
                ("limit=100&name_contains=img1", {"limit": "100", "name_contains": "img1"}),
            ):
                read.clear()
                stats = timed(lambda q=query: lambda_handler(event("GET", "/list", q), LocalContext()), 10)  # type: ignore[misc]
                results[f"{size} images, {name}"] = {**stats, "items_read_per_page": sum(read) // 10}
    return results


def upload_memory() -> dict[str, Any]:
    from app.handler import lambda_handler

    # A valid PNG of 4 MiB: the sample's pixels, then bytes after IEND that decoders ignore.
    image = SAMPLE + os.urandom(4 * MIB - len(SAMPLE))
    boundary = "------------------------bench4mib0000"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nbench\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with in_process_store():
        upload = event(
            "POST", "/upload", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            body=base64.b64encode(body).decode(), isBase64Encoded=True,
        )  # fmt: skip
        lambda_handler(upload, LocalContext())  # warm: imports and clients
        tracemalloc.start()
        started = time.perf_counter()
        status = lambda_handler(upload, LocalContext())["statusCode"]
        took = (time.perf_counter() - started) * 1000
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"status": status, "peak_python_mib": round(peak / MIB, 1), "duration_ms": round(took, 1)}


def multipart_throughput() -> dict[str, Any]:
    from app.web import multipart

    data = os.urandom(4 * MIB)
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n' + data + b"\r\n--b--\r\n"
    stats = timed(lambda: multipart.parse("multipart/form-data; boundary=b", body, {"file": 5 * MIB}), 20)
    return {**stats, "mib_per_s": round(4 / (stats["median_ms"] / 1000), 1)}


def hostile_images() -> dict[str, Any]:
    """The bomb catalogue (tests/bombs.py), each handled alone: the worst accepted and refused, by memory and time."""
    from tests.bomb_runner import MEMORY_MB, run
    from tests.bombs import CATALOGUE

    results = run([bomb.name for bomb in CATALOGUE])
    report: dict[str, Any] = {"function_memory_mb": MEMORY_MB, "cases": len(results)}
    for verdict, chosen in (
        ("accepted", [r for r in results if r.status == 201]),
        ("refused", [r for r in results if r.status != 201]),
    ):
        for measure in ("peak_mib", "seconds"):
            worst = max(chosen, key=lambda result: getattr(result, measure))
            report[f"worst {verdict} by {measure}"] = {
                "name": worst.name, "bytes": worst.size, "status": worst.status,
                "peak_mib": worst.peak_mib, "ms": round(worst.seconds * 1000, 1),
            }  # fmt: skip
    return report


def cold_import() -> dict[str, Any]:
    code = "import time; t = time.perf_counter(); import app.handler; print((time.perf_counter() - t) * 1000)"
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        for _ in range(3 if SHORT else 7)
    ]
    return percentiles(samples)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def main() -> int:
    report: dict[str, Any] = {"machine": machine(), "short": SHORT, "when": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    with local_server() as api:
        report["routes_local_server"] = routes(api)
    try:
        report["routes_localstack"] = routes(localstack_api())
    except UnavailableError as exc:
        report["routes_localstack"] = {"skipped": str(exc)}
    else:
        report["floor_localstack"] = floor_on_localstack()
        if "skipped" not in report["floor_localstack"]:
            over_floor(report["routes_localstack"], report["floor_localstack"])
    report["list_at_scale"] = listing_at_scale()
    report["cold_import_ms"] = cold_import()
    zip_path = ROOT / "build" / "lambda.zip"
    report["zip_bytes"] = zip_path.stat().st_size if zip_path.exists() else None
    report["multipart_4mib"] = multipart_throughput()
    report["upload_4mib"] = upload_memory()
    report["hostile_images"] = hostile_images()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


def floor_on_localstack() -> dict[str, Any]:
    try:
        with floor_api() as url:
            return floors(url)
    except Exception as exc:  # a benchmark reports what it could not measure, and goes on
        return {"skipped": f"no floor: {type(exc).__name__}: {exc}"[:300]}


def print_table(report: dict[str, Any]) -> None:
    host = report["machine"]
    print(f"Benchmark on {host['cpu']}, {host['cores']} cores, Python {host['python']}")
    sections = ("routes_local_server", "floor_localstack", "routes_localstack", "list_at_scale")
    for section in (name for name in sections if name in report):
        print(f"\n{section}")
        for name, stats in report[section].items():
            if isinstance(stats, dict):
                extra = f"  items read/page {stats['items_read_per_page']}" if "items_read_per_page" in stats else ""
                extra += f"  {stats['over_floor_ms']:+.2f} ms over the floor" if "over_floor_ms" in stats else ""
                print(f"  {name:<46} median {stats['median_ms']:>8.2f} ms  p95 {stats['p95_ms']:>8.2f} ms{extra}")
            else:
                print(f"  {name}: {stats}")
    print(f"\ncold import of app.handler: median {report['cold_import_ms']['median_ms']} ms")
    zip_bytes = report["zip_bytes"]
    print(f"zip: {zip_bytes / MIB:.1f} MiB" if zip_bytes else "zip: not built (bash deploy.sh builds it)")
    print(f"multipart parse of 4 MiB: {report['multipart_4mib']['mib_per_s']} MiB/s")
    upload = report["upload_4mib"]
    print(f"4 MiB upload through the handler: {upload['duration_ms']} ms, peak Python memory", end=" ")
    print(f"{upload['peak_python_mib']} MiB")
    hostile = report["hostile_images"]
    print(f"\nhostile images ({hostile['cases']} cases, each alone, function of {hostile['function_memory_mb']} MB)")
    for name, worst in hostile.items():
        if isinstance(worst, dict):
            print(f"  {name:<26} {worst['name']:<40} {worst['peak_mib']:>7.1f} MiB peak {worst['ms']:>8.1f} ms")
    print(f"\nwritten to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
