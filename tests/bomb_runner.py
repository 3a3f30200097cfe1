"""What one upload costs the process that handles it: peak memory and time, measured in isolation.

    python -m tests.bomb_runner NAME...   # names from tests.bombs.CATALOGUE; one JSON line each

A warm process (handler imported, clients made, one image already uploaded:
as a Lambda execution environment after its first request) forks once per
case. The child resets its peak RSS (Linux's /proc/self/clear_refs), handles
the upload through `lambda_handler` on moto, and reports the growth of its peak
RSS over where it started, so the number is that of the one request alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from tests.bombs import CATALOGUE

BOUNDARY = "------------------------bombrunner0123456789"
MEMORY_MB = 1024  # the function's memory the cases are handled with (deploy.sh's)


@dataclass
class Measured:
    name: str
    size: int  # bytes of the file
    status: int
    code: str | None
    error: str | None
    peak_mib: float  # growth of the peak RSS while handling the request
    seconds: float
    estimate_mib: float | None = None  # app.imaging.limits' bound, when the headers could be read


def estimate_mib(data: bytes) -> float | None:
    """What app.imaging.limits predicts decoding `data` holds at most, read as app.imaging.decode reads it."""
    import io
    import warnings

    from PIL import Image

    from app.imaging import decode, limits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with Image.open(io.BytesIO(data), formats=decode.PILLOW_FORMATS) as image:
                declared = image.size
                image.draft("RGB", (decode.THUMBNAIL_SIDE * 2, decode.THUMBNAIL_SIDE * 2))
                return round(limits.measure(image, data, declared).memory / limits.MIB, 1)
    except Exception:  # Pillow refuses it from the header: nothing to estimate
        return None


def upload_event(data: bytes, filename: str = "bomb.bin") -> dict[str, Any]:
    """POST /upload as API Gateway delivers it: a curl-style multipart body, base64-encoded."""
    from tests.events import proxy_event

    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="user"\r\n\r\nmallory\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return proxy_event(
        "POST", "/upload", headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, body=body
    )


def _kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _handle(event: dict[str, Any]) -> tuple[dict[str, Any], float, float]:
    from app.handler import lambda_handler
    from tests.integration.lambda_client import LambdaContext

    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak RSS starts again from the current RSS
    start = _kib("VmRSS")
    started = time.perf_counter()
    result = lambda_handler(event, LambdaContext())
    seconds = time.perf_counter() - started
    return result, (_kib("VmHWM") - start) / 1024, seconds


def measure_in_child(name: str, data: bytes) -> Measured:
    estimate = estimate_mib(data)
    event = upload_event(data)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child handles the request and reports through the pipe
        os.close(read_end)
        try:
            result, peak, seconds = _handle(event)
            body = json.loads(result.get("body") or "{}")
            status, code, error = result["statusCode"], body.get("code"), body.get("error")
            measured = Measured(name, len(data), status, code, error, round(peak, 1), seconds, estimate)
            os.write(write_end, json.dumps(asdict(measured)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    if not chunks:
        return Measured(name, len(data), -1, None, f"the child died ({wait_status})", -1.0, -1.0)
    return Measured(**json.loads(b"".join(chunks)))


def _warm_up() -> None:
    """Imports, clients, Pillow and one real upload: what a warm execution environment has done."""
    from tests.images import image_bytes

    result, _, _ = _handle(upload_event(image_bytes("PNG"), "warm.png"))
    assert result["statusCode"] == 201, result


def main(names: list[str]) -> int:
    from tests.integration.conftest import moto_backend

    cases = {bomb.name: bomb for bomb in CATALOGUE}
    os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(MEMORY_MB)  # as in the deployed function
    os.environ.pop("DECODE_BUDGET_MB", None)  # so the budget follows from the memory, as by default
    os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
    with moto_backend():
        _warm_up()
        for name in names:
            data = cases[name].make()
            print(json.dumps(asdict(measure_in_child(name, data))), flush=True)
    return 0


def run(names: list[str], timeout: float = 600, env: dict[str, str] | None = None) -> list[Measured]:
    """Measure `names` in a fresh process (this one may hold anything), with `env` added to its
    environment; one result per name."""
    import subprocess

    env = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    output = subprocess.run(
        [sys.executable, "-m", "tests.bomb_runner", *names],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        env=env,
    )
    return [Measured(**json.loads(line)) for line in output.stdout.splitlines() if line.startswith("{")]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
