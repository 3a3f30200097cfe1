"""The local server keeps its images: moto's own recorder journals every write, and a restart replays it.

moto keeps S3 and DynamoDB in memory. Its recorder (moto_api's `Recorder`)
appends each request it serves to a file, and `replay_recording` sends them
again to a fresh moto, which so rebuilds the same buckets, objects, tables and
items. Two things are added here, around the recorder rather than instead of it:

- only requests that change something are kept (no GET, no DynamoDB reads), so
  the journal grows with what is stored, not with how often the gallery is opened;
- writes are recorded and carried out one at a time (`SerialWrites`, their bodies
  read first), so the journal's order is the order moto applied them: a replay of
  two racing writes to one item ends as the live run did;
- a journal is used by one server at a time (a lock file), and a line cut short by
  a kill, or anything after a damaged line, is dropped before the replay.

A request is written to the journal before moto carries it out, so an upload
the API has acknowledged is in the journal: it survives a kill of the server.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

JOURNAL_NAME = "moto-recording.jsonl"
# DynamoDB calls that only read (X-Amz-Target "DynamoDB_20120810.<operation>").
_READS = {
    "BatchGetItem", "DescribeContinuousBackups", "DescribeEndpoints", "DescribeTable", "DescribeTimeToLive",
    "GetItem", "ListTables", "ListTagsOfResource", "Query", "Scan", "TransactGetItems",
}  # fmt: skip
_lock = threading.Lock()
_held: list[Any] = []


def journal_of(data_dir: Path) -> Path:
    return data_dir / JOURNAL_NAME


class JournalInUseError(Exception):
    """Another local server keeps its data in the same folder."""


def prepare(journal: Path) -> None:
    """Point moto's recorder at `journal`, hold it for this process, and keep only its whole lines.
    Call before moto is imported."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    _hold(journal.parent / "lock")
    os.environ["MOTO_RECORDER_FILEPATH"] = str(journal)
    journal.touch()
    with journal.open("rb+") as file:
        good = 0
        for line in file:
            try:  # a kill while appending leaves a last line cut short: that request was never carried out
                json.loads(line)
            except ValueError:
                print(f"localserver: {journal} is damaged after {good} bytes; replaying what precedes it")
                break
            good += len(line)
        file.truncate(good)


def _hold(lock_path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one server per folder is then the user's to keep
        return
    handle = lock_path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise JournalInUseError(f"another local server keeps its data in {lock_path.parent}/") from exc
    _held.append(handle)  # released when this process ends, however it ends


class SerialWrites:
    """WSGI middleware around moto: each write is recorded and carried out before the next starts."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not _changes_state(environ["REQUEST_METHOD"], environ.get("HTTP_X_AMZ_TARGET", "")):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:  # read outside the lock: a slow client must not hold up every other write
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        with _lock:
            return list(self.app(environ, start_response))


def restore_and_record(endpoint: str) -> int:
    """Replay the journal into the moto at `endpoint`, then journal every write from now on;
    returns how many requests were replayed."""
    from moto.moto_api import recorder

    journal = Path(os.environ["MOTO_RECORDER_FILEPATH"])
    replayed = sum(1 for _ in journal.open("rb"))
    recorder.replay_recording(target_host=endpoint)
    record = recorder._record_request  # the recorder's own; wrapped, not replaced

    def record_writes(request: Any, body: bytes | None = None) -> None:
        if _changes_state(request.method, request.headers.get("X-Amz-Target", "")):
            record(request, body)  # under SerialWrites' lock

    recorder._record_request = record_writes  # type: ignore[method-assign]
    recorder.start_recording()
    return replayed


def _changes_state(method: str, target: str) -> bool:
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    return target.rpartition(".")[2] not in _READS


def moto_server(host: str, port: int) -> Any:
    """moto's ThreadedMotoServer, its application wrapped in SerialWrites: the journal needs writes in
    order, and moto's backends are not thread-safe (two DynamoDB transactions at once can fail inside
    moto, as a batch delete's parallel deletes showed)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class Server(ThreadedMotoServer):
        bind_error: OSError | None = None

        def _server_entry(self) -> None:  # moto's own, but for the wrapped application
            app = DomainDispatcherApplication(create_backend_app)
            try:
                self._server = make_server(
                    self._ip_address,
                    self._port,
                    SerialWrites(app),
                    True,
                    request_handler=MotoRequestHandler,
                )
            except (OSError, SystemExit) as exc:  # a busy port (werkzeug exits): told to start(), not waited for
                self.bind_error = exc if isinstance(exc, OSError) else OSError(98, "the port is in use")
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server(ip_address=host, port=port, verbose=False)
