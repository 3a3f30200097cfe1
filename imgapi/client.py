"""Finding the API and calling it: where requests go, with which credentials, and what a failure says.

Every request goes through Client.call, which sends only what operations.py declares
for the operation. Failures are ImgapiError exceptions whose text is the one line the
command prints (`error CODE: message (request id ...)`); keys and tokens never appear
in them, nor in any repr.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urljoin

import requests

from imgapi.operations import OPERATIONS, Operation

ROOT = Path(__file__).resolve().parents[1]  # the repository: imgapi/ is installed editable from it
LOCAL_SERVER_STATE = ROOT / "build" / "local-server.json"  # written by localserver/server.py while it runs
DEPLOYED_URL = ROOT / "build" / "base_url"  # written by deploy.sh
DEPLOYED_KEY = ROOT / "build" / "api_key"  # written by deploy.sh --api-key
TIMEOUT = 60  # seconds without a byte from the server
T = TypeVar("T")

START_ONE = "start the local server with `make dev` (or LocalStack with `make run`), or give --url / IMGAPI_URL"


class ImgapiError(Exception):
    """What a command prints on stderr before it exits 1: str(error), one line."""


class NoApiError(ImgapiError):
    def __init__(self) -> None:
        super().__init__(f"error NO_API: no API to call: {START_ONE}")


class UnreachableError(ImgapiError):
    """No connection: nothing listens there (or it went away mid-request)."""

    def __init__(self, target: Target) -> None:
        super().__init__(f"error UNREACHABLE: cannot reach {target.base_url} ({target.source}): {START_ONE}")


class ApiError(ImgapiError):
    """An answer that is not a success: the API's error body, or S3's."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        self.status, self.code, self.message, self.request_id = status, code, message, request_id
        where = f" (request id {request_id})" if request_id else ""
        super().__init__(f"error {code}: {message}{where}")

    @classmethod
    def of(cls, response: requests.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            return cls._of_text(response)
        if not isinstance(body, dict):
            body = {}
        code = body.get("code") or f"HTTP_{response.status_code}"  # API Gateway's 403 has only a message
        message = body.get("error") or body.get("message") or response.reason
        request_id = body.get("request_id") or response.headers.get("x-amzn-RequestId")
        return cls(response.status_code, str(code), str(message), request_id)

    @classmethod
    def _of_text(cls, response: requests.Response) -> ApiError:
        """S3 answers its errors in XML (<Code>EntityTooLarge</Code>...)."""

        def element(name: str) -> str | None:
            found = re.search(rf"<{name}>([^<]*)</{name}>", response.text)
            return found.group(1) if found else None

        code = element("Code") or f"HTTP_{response.status_code}"
        message = element("Message") or response.reason
        return cls(response.status_code, code, message, element("RequestId"))


@dataclass(frozen=True)
class Target:
    """Where requests go (source: how that was decided, for messages) and the credentials to send."""

    base_url: str
    source: str
    api_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @property
    def credentials(self) -> dict[str, str]:
        headers = {"x-api-key": self.api_key} if self.api_key else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def locate(url: str | None, url_source: str, api_key: str | None, token: str | None) -> Target:
    """The API to call, the first of: `url` (--url or IMGAPI_URL); the local server while it
    runs (build/local-server.json, if its process is alive); the API the last `bash deploy.sh`
    made (build/base_url, with build/api_key as the key when there is one and none was given).
    Paths are relative to the repository imgapi was installed from."""
    if url:
        return Target(url.rstrip("/"), url_source, api_key, token)
    local = _running_local_server()
    if local:
        return Target(local, "the local server, build/local-server.json", api_key, token)
    deployed = _read(DEPLOYED_URL)
    if deployed:
        return Target(deployed.rstrip("/"), "deploy.sh's build/base_url", api_key or _read(DEPLOYED_KEY), token)
    raise NoApiError()


def _running_local_server() -> str | None:
    """Its base URL while its process lives: a server that was killed leaves the file behind.
    (Read here rather than by importing localserver, which an installed imgapi need not have.)"""
    try:
        state = json.loads(LOCAL_SERVER_STATE.read_text())
        os.kill(int(state["pid"]), 0)
    except PermissionError:  # alive, but another user's: it still serves
        pass
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(state["base_url"])


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


class Client:
    """Calls the operations of operations.py on one API; safe to share between threads."""

    def __init__(self, target: Target, timeout: float = TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self._local = threading.local()  # a requests.Session is not documented as thread-safe

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.headers.update(self.target.credentials)
        session: requests.Session = self._local.session
        return session

    def call(
        self,
        name: str,
        *,
        image_id: str | None = None,
        url: str | None = None,
        query: dict[str, Any] | None = None,
        json: Any = None,
        form: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """The success answer of operation `name` (ApiError otherwise); `url` replaces its path and
        query with a link the API gave (a next page)."""
        operation = OPERATIONS[name]
        _check(name, operation, query, json, {**(form or {}), **(files or {})}, headers)
        target = url or self.target.base_url + operation.path.format(image_id=quote(image_id or "", safe=""))
        params = {k: v for k, v in (query or {}).items() if v is not None}
        try:
            response = self.session.request(
                operation.method, target, params=params, json=json, data=form, files=files,
                headers=headers, timeout=self.timeout,
            )  # fmt: skip
        except requests.ConnectionError as exc:  # ConnectTimeout is one too
            raise UnreachableError(self.target) from exc
        except requests.Timeout as exc:
            raise ApiError(0, "TIMEOUT", f"no answer from {self.target.base_url} within {self.timeout:.0f} s") from exc
        if response.status_code not in operation.success:
            raise ApiError.of(response)
        return response

    def next_page(self, response: requests.Response) -> str | None:
        """The absolute URL of the Link header's rel="next" (a relative reference, "?limit=...")."""
        link = response.links.get("next", {}).get("url")
        return urljoin(response.url, link) if link else None


def _check(
    name: str,
    operation: Operation,
    query: dict[str, Any] | None,
    json: Any,
    form: dict[str, Any],
    headers: dict[str, str] | None,
) -> None:
    """Sending what operations.py does not declare would break the contract its test checks."""
    body = set(json) if isinstance(json, dict) else set()
    undeclared = (
        (set(query or {}) - set(operation.query))
        | ((body | set(form)) - set(operation.body))
        | (set(headers or {}) - set(operation.headers))
    )
    if undeclared:
        raise AssertionError(f"{name} does not declare {sorted(undeclared)} in imgapi/operations.py")


def retry_once(attempt: Callable[[], T]) -> T:
    """Once more after a lost connection. Only for requests with an Idempotency-Key: the retry
    gets the first attempt's answer if that one was carried out, so nothing happens twice."""
    try:
        return attempt()
    except UnreachableError:
        return attempt()
