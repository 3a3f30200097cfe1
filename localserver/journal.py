"""The local server keeps its images: moto's own recorder journals every write, and a restart replays it.

moto keeps S3 and DynamoDB in memory. Its recorder (moto_api's `Recorder`)
appends each request it serves to a file, and `replay_recording` sends them
again to a fresh moto, which so rebuilds the same buckets, objects, tables and
items. Two things are added here, around the recorder rather than instead of it:

- only requests that change something are kept (no GET, no DynamoDB reads), so
  the journal grows with what is stored, not with how often the gallery is opened;
- one request is appended at a time (the recorder writes a request in several
  pieces, and the server is threaded), and a line cut short by a kill is dropped
  before the replay.

A request is written to the journal before moto carries it out, so an upload
the API has acknowledged is in the journal: it survives a kill of the server.
"""

from __future__ import annotations

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


def journal_of(data_dir: Path) -> Path:
    return data_dir / JOURNAL_NAME


def prepare(journal: Path) -> None:
    """Point moto's recorder at `journal` and mend a last line cut short. Call before moto is imported."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    os.environ["MOTO_RECORDER_FILEPATH"] = str(journal)
    if not journal.exists():
        journal.touch()
        return
    with journal.open("rb+") as file:
        content = file.read()
        complete = content.rfind(b"\n") + 1
        if complete < len(content):  # killed while appending: that request was never carried out
            file.truncate(complete)


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
            with _lock:
                record(request, body)

    recorder._record_request = record_writes  # type: ignore[method-assign]
    recorder.start_recording()
    return replayed


def _changes_state(method: str, target: str) -> bool:
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    return target.rpartition(".")[2] not in _READS
