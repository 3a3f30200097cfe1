"""Maintenance of a deployed store: `python -m deploy.maintenance <command>`.

    pending [--older-than-hours 24] [--purge]
        Direct uploads still `pending` after that long (the client never sent
        the file, or processing never ran): listed, and with --purge deleted
        like any image (row, tag items, any `incoming/` object).

Talks to whatever the environment points at, like the Lambda: AWS_ENDPOINT_URL
(LocalStack, the local server's moto) or AWS itself, and IMAGES_BUCKET etc.
Reads through the time-ordered status index, never a Scan.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from app import images, listing
from app.storage import PENDING, ImageStore

PAGE = 200


def stale_pending(store: ImageStore, older_than_ms: int) -> Iterator[dict[str, Any]]:
    """Pending rows created before `older_than_ms`, oldest first."""
    wanted = listing.ListFilter(status=PENDING, end_ms=older_than_ms, newest_first=False)
    cursor: str | None = None
    while True:
        rows, cursor = listing.list_page(store, PAGE, cursor, wanted)
        yield from rows
        if cursor is None:
            return


def pending(older_than_hours: float, purge: bool, out: Any = sys.stdout) -> int:
    """Report (and with `purge` delete) stale pending uploads; returns how many there were."""
    store = ImageStore()
    cutoff = images.now_ms() - int(older_than_hours * 3_600_000)
    found = list(stale_pending(store, cutoff))
    for row in found:
        action = "purged" if purge else "pending"
        if purge:
            images.delete_image(store, row["id"])
        print(f"{action}\t{row['id']}\t{row['created_at']}\t{row['user']}\t{row['original_name']}", file=out)
    verb = "purged" if purge else "found (add --purge to delete them)"
    print(f"{len(found)} pending upload(s) older than {older_than_hours:g} h {verb}", file=out)
    return len(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.maintenance", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    stale = commands.add_parser("pending", help="direct uploads that never completed")
    stale.add_argument("--older-than-hours", type=float, default=24.0)
    stale.add_argument("--purge", action="store_true", help="delete them")
    args = parser.parse_args(argv)
    if args.command == "pending":
        pending(args.older_than_hours, args.purge)
    return 0


if __name__ == "__main__":
    sys.exit(main())
