"""The benchmark: `make bench`, `python -m bench` (BENCH_SHORT=1 for the quick version CI runs).

Measures, the same way every time, and writes build/bench.json and docs/data/bench.json (committed:
docs/performance.md is rendered from it by docs/hooks.py):

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
import random
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

from bench.floor import floor_api, localstack_session
from bench.soak import distinct_jpeg, distinct_png, jpeg
from deploy.endpoints import LOCALSTACK, Api, UnavailableError, localstack_api
from localserver.gateway import LocalContext
from localserver.launcher import local_server

SHORT = os.environ.get("BENCH_SHORT") == "1"
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench.json"
DOCS_OUT = ROOT / "docs" / "data" / "bench.json"  # the documentation's performance page reads this copy
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
Call = Callable[[], Any]


def floor_calls(url: str) -> dict[str, Call]:
    """The floor's request for each method the routes use (bench/floor.py)."""
    session = requests.Session()
    for _ in range(5):  # its cold start is not the floor
        session.get(f"{url}/warm-up")
    return {
        "GET": lambda: session.get(f"{url}/list?limit=100").raise_for_status(),
        "POST": lambda: session.post(f"{url}/upload", data={"user": "b"}, files={"file": SAMPLE}).raise_for_status(),
        "DELETE": lambda: session.delete(f"{url}/delete/x").raise_for_status(),
    }


def paired(call: Call, floor: Call | None, repeat: int) -> dict[str, Any]:
    """A route's latency; with a floor, each sample follows one of the floor's, so that both see the
    same machine (LocalStack's latency drifts by tens of ms over a run), and the median over it."""
    if floor is None:
        return timed(call, repeat)
    floor_samples, samples = [], []
    for _ in range(repeat):
        floor_samples.append(timed(floor, 1)["median_ms"])
        samples.append(timed(call, 1)["median_ms"])
    stats, floor_median = percentiles(samples), percentiles(floor_samples)["median_ms"]
    return {**stats, "floor_ms": floor_median, "over_floor_ms": round(stats["median_ms"] - floor_median, 2)}


def routes(api: Api, floor: dict[str, Call] | None = None) -> dict[str, Any]:
    repeat = 15 if SHORT else 60
    session = requests.Session()
    session.headers.update({"x-api-key": api.api_key} if api.api_key else {})
    url = api.base_url
    floor = floor or {}

    def upload() -> str:
        # A new image each time (bench/soak.py's distinct bytes): a repeat of the same bytes by the
        # same user takes the longer path that finds who holds them (docs/capacity.md).
        image = distinct_png(SAMPLE)
        response = session.post(f"{url}/upload", data={"user": "bench", "tags": "bench"}, files={"file": image})
        response.raise_for_status()
        return str(response.json()["id"])

    def get(path: str) -> Call:
        return lambda: session.get(f"{url}{path}").raise_for_status()

    def start_direct_upload() -> None:
        response = session.post(
            f"{url}/uploads", json={"user": "bench", "filename": "b.png", "content_type": "image/png", "size": 100}
        )
        response.raise_for_status()
        pending.append(str(response.json()["id"]))

    ids = [upload() for _ in range(5)]  # warm up, and something to view
    pending: list[str] = []  # deleted afterwards: a form never used would be a finding of make reconcile
    result = {
        "POST /upload (290 B PNG)": paired(lambda: ids.append(upload()), floor.get("POST"), repeat),
        "GET /list?limit=100": paired(get("/list?limit=100"), floor.get("GET"), repeat),
        "GET /list?tag=bench&limit=20": paired(get("/list?tag=bench&limit=20"), floor.get("GET"), repeat),
        "GET /view/{id}": paired(get(f"/view/{ids[0]}"), floor.get("GET"), repeat),
        "POST /uploads (start)": paired(start_direct_upload, floor.get("POST"), repeat),
        "GET /openapi.json": paired(get("/openapi.json"), floor.get("GET"), repeat),
    }
    result.update(variants(session, url, floor.get("GET"), repeat))
    to_delete = iter(list(ids))
    result["DELETE /delete/{id}"] = paired(
        lambda: session.delete(f"{url}/delete/{next(to_delete)}").raise_for_status(),
        floor.get("DELETE"),
        min(repeat, len(ids)),
    )
    for image_id in pending:
        session.delete(f"{url}/delete/{image_id}").raise_for_status()
    return result


def variants(session: requests.Session, url: str, floor: Call | None, repeat: int) -> dict[str, Any]:
    """GET /images/{id}/variant of a 1120 x 840 photo: the first request of a variant renders and
    stores it (each sample a new photo), the next ones find it stored (one S3 HEAD)."""
    photo = jpeg(1120, 840, 90)
    renders = 3 if SHORT else 15

    def upload_photo() -> str:
        files = {"file": ("photo.jpg", distinct_jpeg(photo), "image/jpeg")}
        response = session.post(f"{url}/upload", data={"user": "bench", "tags": "bench"}, files=files)
        response.raise_for_status()
        return str(response.json()["id"])

    def variant(image_id: str, fmt: str) -> None:
        response = session.get(f"{url}/images/{image_id}/variant?w=512&format={fmt}", allow_redirects=False)
        assert response.status_code == 302, response.text

    result = {}
    for fmt in ("webp", "avif"):
        fresh = iter([upload_photo() for _ in range(renders)])
        first = lambda fresh=fresh, fmt=fmt: variant(next(fresh), fmt)  # noqa: E731 - bound per format
        result[f"GET variant, first (renders 512 px {fmt})"] = paired(first, floor, renders)
    stored = upload_photo()
    variant(stored, "webp")
    result["GET variant, stored (S3 HEAD only)"] = paired(lambda: variant(stored, "webp"), floor, repeat)
    return result


# --- the handler in-process ---------------------------------------------------------------
@contextmanager
def in_process_store(shards: int = 1) -> Iterator[None]:
    """The handler's store on moto, in this process, with LISTING_SHARDS=`shards`."""
    from moto import mock_aws

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"})
    os.environ.update({"POWERTOOLS_METRICS_DISABLED": "true", "LISTING_SHARDS": str(shards)})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3

    from app import storage
    from deploy.resources import provision

    storage.reset_clients()
    with mock_aws():
        provision(boto3.client("s3", region_name="us-east-1"), boto3.client("dynamodb", region_name="us-east-1"))
        yield
    storage.reset_clients()


@contextmanager
def localstack_tables(shards: int) -> Iterator[None]:
    """The handler's store on LocalStack's DynamoDB (tables of its own, deleted after), with `shards`."""
    from app import storage
    from app.settings import SERVICE
    from deploy.resources import provision

    names = {"IMAGES_TABLE": f"{SERVICE}-bench-images", "TAGS_TABLE": f"{SERVICE}-bench-tags"}
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"})
    os.environ.update({"POWERTOOLS_METRICS_DISABLED": "true", "LISTING_SHARDS": str(shards), **names})
    os.environ.update({"AWS_ENDPOINT_URL": LOCALSTACK, "IMAGES_BUCKET": f"{SERVICE}-bench-bucket"})
    storage.reset_clients()
    s3, dynamodb = storage.s3_client(), storage.dynamodb_client()
    try:
        provision(s3, dynamodb)
        yield
    finally:
        for table in names.values():
            dynamodb.delete_table(TableName=table)
        bucket = os.environ["IMAGES_BUCKET"]
        for leftover in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=leftover["Key"])
        s3.delete_bucket(Bucket=bucket)
        for name in (*names, "AWS_ENDPOINT_URL", "IMAGES_BUCKET", "LISTING_SHARDS"):
            os.environ.pop(name, None)
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
    """`count` ready rows (a fifth tagged `rare`), written straight to the table: only listing is measured.
    Ids are random, as uuid4 makes them, so rows fall on the shards as uploads do."""
    from app import layout, storage
    from app.logic.images import with_status
    from app.records import ImageRow
    from app.settings import get_settings

    client = storage.dynamodb_client()
    table = get_settings().table
    base = 1_700_000_000_000
    made = random.Random(start)  # noqa: S311  (ids for a benchmark: random, and the same every run)
    ids = {n: str(uuid.UUID(int=made.getrandbits(128), version=4)) for n in range(start, start + count)}

    def batch(first: int) -> None:
        rows: list[Any] = []
        for n in range(first, min(first + 25, start + count)):
            image_id = ids[n]
            row: ImageRow = {
                "status": "ready", "status_shard": "",
                "id": image_id, "key": f"{image_id}.png", "user": f"u{n % 50}", "description": "",
                "original_name": f"img{n}.png", "name_search": f"img{n}.png", "tags": ["rare"] if n % 5 == 0 else [],
                "content_type": "image/png", "size": 290, "created_at": (base + n) // 1000, "width": 1, "height": 1,
                "sort_key": layout.sort_key(base + n, image_id),
            }  # fmt: skip
            rows.append({"PutRequest": {"Item": storage.to_item(with_status(row, "ready"))}})
        request: dict[str, Any] = {table: rows}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    storage.in_parallel([lambda first=first: batch(first) for first in range(start, start + count, 25)])  # type: ignore[misc]


def listing_at_scale() -> dict[str, Any]:
    """GET /list through the handler, in this process, with 1 and 8 shards as the table grows: on
    LocalStack's DynamoDB when it runs (its latency), else moto (whose Query reads its whole table,
    so only its items-read figure means anything)."""
    from app.handler import lambda_handler
    from app.storage import dynamodb_client

    # The full run shows rows read per page flat up to 50,000 with one shard; eight shards up to
    # 10,000 (filling 50,000 rows twice over LocalStack's gateway took most of the old 20 minutes).
    sizes_by_shards = {1: (1_000,), 8: (1_000,)} if SHORT else {1: (1_000, 10_000, 50_000), 8: (1_000, 10_000)}
    try:
        localstack_api()
        backend, store = "localstack", localstack_tables
    except UnavailableError:
        backend, store = "moto", in_process_store
    results: dict[str, Any] = {"backend": backend}
    read: list[int] = []
    for shards, sizes in sizes_by_shards.items():
        with store(shards):
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
                    lambda_handler(event("GET", "/list", query), LocalContext())  # warm
                    read.clear()
                    stats = timed(lambda q=query: lambda_handler(event("GET", "/list", q), LocalContext()), 10)  # type: ignore[misc]
                    results[f"{shards} shard(s), {size} images, {name}"] = {
                        **stats, "items_read_per_page": sum(read) // 10
                    }  # fmt: skip
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


def cold_request(api: Api) -> dict[str, Any]:
    """The first request after a deploy, end to end: a configuration change makes LocalStack start
    a new execution environment, as a deploy does on AWS. Then the next request, warm."""
    from app.settings import get_settings

    lambdas = localstack_session().client("lambda", endpoint_url=LOCALSTACK)
    name = get_settings().function_name
    variables = lambdas.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    session = requests.Session()
    session.headers.update({"x-api-key": api.api_key} if api.api_key else {})
    first, then = [], []
    for _ in range(2 if SHORT else 4):
        marked = {**variables, "BENCH_COLD_START": str(time.time_ns())}  # any change makes a new environment
        lambdas.update_function_configuration(FunctionName=name, Environment={"Variables": marked})
        lambdas.get_waiter("function_updated_v2").wait(FunctionName=name)
        first.append(timed(lambda: session.get(f"{api.base_url}/list?limit=1").raise_for_status(), 1)["median_ms"])
        then.append(timed(lambda: session.get(f"{api.base_url}/list?limit=1").raise_for_status(), 1)["median_ms"])
    lambdas.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    return {"first_request": percentiles(first), "next_request": percentiles(then)}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def step(name: str) -> None:
    """One line per measure, so that a long run shows where it is (and nothing else reaches the terminal)."""
    print(f"bench: {name} ({time.monotonic() - STARTED:.0f} s in)", flush=True)


STARTED = time.monotonic()


def quiet_function_logs() -> None:
    """The handler runs in this process for thousands of requests: its INFO lines (a memory line per
    invocation, for make soak on a Lambda) would fill the terminal."""
    from app.observability import logger

    logger.setLevel("WARNING")


def main() -> int:
    quiet_function_logs()
    report: dict[str, Any] = {"machine": machine(), "short": SHORT, "when": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    step("routes on a local server")
    with local_server() as api:
        report["routes_local_server"] = routes(api)
    step("routes on LocalStack, paired with the floor")
    report["routes_localstack"] = routes_on_localstack()
    if "skipped" not in report["routes_localstack"]:
        step("LocalStack's own calls")
        report["calls_localstack"] = calls_on_localstack()
        step("the first request after a deploy")
        report["cold_start_localstack"] = cold_request(localstack_api())
    step("listing at scale")
    report["list_at_scale"] = listing_at_scale()
    step("cold import, zip, multipart parsing, a 4 MiB upload's memory")
    report["cold_import_ms"] = cold_import()
    zip_path = ROOT / "build" / "lambda.zip"
    report["zip_bytes"] = zip_path.stat().st_size if zip_path.exists() else None
    report["multipart_4mib"] = multipart_throughput()
    report["upload_4mib"] = upload_memory()
    if not SHORT:  # half a minute; the tests run the same catalogue (for memory and status, not time)
        step("hostile images")
        report["hostile_images"] = hostile_images()
    for out in (OUT, DOCS_OUT):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


def calls_on_localstack() -> dict[str, Any]:
    """What LocalStack itself takes to answer each kind of call the routes make, from this process:
    a route's time over the floor is mostly its sequential calls (docs/capacity.md) times these."""
    from app import storage
    from app.logic.images import NewImage, new_row, with_status
    from app.settings import get_settings

    repeat = 15 if SHORT else 40
    with localstack_tables(1):
        fill(150, 0)
        settings, s3, dynamodb = get_settings(), storage.s3_client(), storage.dynamodb_client()
        row = storage.to_item(with_status(new_row(NewImage("bench", "", "a.png", []), "ready"), "ready"))
        key = {"id": row["id"]}
        dynamodb.put_item(TableName=settings.table, Item=row)
        query: dict[str, Any] = {
            "TableName": settings.table, "IndexName": "by-status-shard", "Limit": 101,
            "KeyConditionExpression": "status_shard = :s", "ExpressionAttributeValues": {":s": row["status_shard"]},
        }  # fmt: skip
        pair: list[Any] = [
            {"Put": {"TableName": settings.table, "Item": {**row, "id": {"S": f"{row['id']['S']}{n}"}}}} for n in (1, 2)
        ]
        keys: Any = {"Objects": [{"Key": f"k{n}"} for n in range(3)], "Quiet": True}
        calls = {
            "GetItem": lambda: dynamodb.get_item(TableName=settings.table, Key=key, ConsistentRead=True),
            "Query (101 rows)": lambda: dynamodb.query(**query),
            "PutItem": lambda: dynamodb.put_item(TableName=settings.table, Item=row),
            "TransactWriteItems (2 puts)": lambda: dynamodb.transact_write_items(TransactItems=pair),
            "DeleteItem": lambda: dynamodb.delete_item(TableName=settings.table, Key={"id": {"S": "none"}}),
            "PutObject (300 B)": lambda: s3.put_object(Bucket=settings.bucket, Key="k0", Body=SAMPLE),
            "DeleteObjects (3 keys)": lambda: s3.delete_objects(Bucket=settings.bucket, Delete=keys),
        }
        return {name: timed(call, repeat) for name, call in calls.items()}


def routes_on_localstack() -> dict[str, Any]:
    """The deployed API's routes, each sample paired with one of the floor's (bench/floor.py)."""
    try:
        api = localstack_api()
    except UnavailableError as exc:
        return {"skipped": str(exc)}
    try:
        with floor_api() as url:
            return routes(api, floor_calls(url))
    except Exception as exc:  # a benchmark reports what it could not measure, and goes on
        print(f"no floor ({type(exc).__name__}: {exc}); the routes alone", file=sys.stderr)
        return routes(api)


def print_table(report: dict[str, Any]) -> None:
    host = report["machine"]
    print(f"Benchmark on {host['cpu']}, {host['cores']} cores, Python {host['python']}")
    sections = ("routes_local_server", "routes_localstack", "calls_localstack", "list_at_scale")
    for section in (name for name in sections if name in report):
        print(f"\n{section}")
        for name, stats in report[section].items():
            if isinstance(stats, dict):
                extra = f"  items read/page {stats['items_read_per_page']}" if "items_read_per_page" in stats else ""
                if "over_floor_ms" in stats:
                    extra += f"  floor {stats['floor_ms']:6.2f} ms  {stats['over_floor_ms']:+6.2f} ms over it"
                print(f"  {name:<46} median {stats['median_ms']:>8.2f} ms  p95 {stats['p95_ms']:>8.2f} ms{extra}")
            else:
                print(f"  {name}: {stats}")
    print(f"\ncold import of app.handler: median {report['cold_import_ms']['median_ms']} ms")
    if "cold_start_localstack" in report:
        cold = report["cold_start_localstack"]
        print(f"first request after a deploy (LocalStack): median {cold['first_request']['median_ms']} ms, ", end="")
        print(f"the next one {cold['next_request']['median_ms']} ms")
    zip_bytes = report["zip_bytes"]
    print(f"zip: {zip_bytes / MIB:.1f} MiB" if zip_bytes else "zip: not built (bash deploy.sh builds it)")
    print(f"multipart parse of 4 MiB: {report['multipart_4mib']['mib_per_s']} MiB/s")
    upload = report["upload_4mib"]
    print(f"4 MiB upload through the handler: {upload['duration_ms']} ms, peak Python memory", end=" ")
    print(f"{upload['peak_python_mib']} MiB")
    hostile = report.get("hostile_images")
    if hostile is None:
        print("\nhostile images: in the full run only (make bench)")
    else:
        memory = hostile["function_memory_mb"]
        print(f"\nhostile images ({hostile['cases']} cases, each alone, function of {memory} MB)")
        for name, worst in hostile.items():
            if isinstance(worst, dict):
                print(f"  {name:<26} {worst['name']:<40} {worst['peak_mib']:>7.1f} MiB peak {worst['ms']:>8.1f} ms")
    print(f"\nwritten to {OUT.relative_to(ROOT)} and {DOCS_OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
