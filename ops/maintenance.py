"""Maintenance of a deployed store: `python -m ops.maintenance <command>`.

    reconcile [--fix] [--grace-minutes 15]
        Compares the bucket with the table: objects without rows, rows without
        objects, images without thumbnails, direct uploads pending past their
        form's expiry, deletes that did not finish, stray incoming objects.
        With --fix, repairs each (see Finding). Exit status 1 when something
        is left: found without --fix, or not repaired.
    pending [--older-than-hours 24] [--purge]
        Direct uploads still `pending` after that long: listed, and with
        --purge deleted like any image.
    migrate
        Gives every row its partition of the shard index (rows written before
        it existed have none; rows of a shard count since lowered have one the
        listing no longer reads), and every tag item its key of the user's tag
        index (items written before it existed). The one command that Scans.

Talks to whatever the environment points at, like the Lambda: AWS_ENDPOINT_URL
(LocalStack, the local server's moto) or AWS itself, and IMAGES_BUCKET etc.
Both stores are paged (S3 1,000 keys a page, DynamoDB 1 MB a page, through
the shard index; only migrate Scans); memory holds one short record per image, so
100,000 images is a few tens of MB.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import layout
from app.errors import ConflictError, NotFoundError, NotUploadedError
from app.layout import DELETING, PENDING, READY, REJECTED
from app.logic import deletes, direct_uploads, image_bytes, images, listing
from app.records import ListedImage
from app.setting_rules import ConfigError
from app.settings import get_settings
from app.storage import ImageStore
from ops.target import point_at_store, unreachable

PAGE = 200
FIELDS = ("id", "status", "key", "thumbnail_key", "sort_key", "created_at", "delete_until")


@dataclass(frozen=True)
class Finding:
    """One inconsistency; `kind` says what, and what --fix does about it:

    object-without-row   an object no row owns (a failed upload's leftovers, a variant rendered
                         while its image was deleted): deleted
    stray-object         an object its row no longer uses (its incoming copy, once processed): deleted
    row-without-object   a ready row whose image is gone: the row is deleted
    missing-thumbnail    a ready image without its thumbnail: made again
    expired-pending      a direct upload whose form expired: processed if its file
                         arrived (a notification was lost), else deleted
    unfinished-delete    a `deleting` tombstone whose deleter failed or died (its claim
                         expired): the delete is finished
    unindexed-row        a row outside the shard index (`make migrate` not run yet): its
                         shard key is written. Found through its objects, so an object
                         is never taken for an orphan while its row exists.
    foreign-object       a key this service never writes: reported, never touched
    """

    kind: str
    image_id: str
    key: str = ""

    def __str__(self) -> str:
        return f"{self.kind}\t{self.image_id or '-'}\t{self.key or '-'}"


def stale_pending(store: ImageStore, older_than_ms: int) -> Iterator[ListedImage]:
    """Pending rows created before `older_than_ms`, oldest first."""
    wanted = listing.ListFilter(status=PENDING, end_ms=older_than_ms, newest_first=False)
    cursor: str | None = None
    while True:
        rows, cursor = listing.list_page(store, PAGE, cursor, wanted)
        yield from rows
        if cursor is None:
            return


def find(store: ImageStore, now: datetime, grace_minutes: float) -> list[Finding]:
    """Every inconsistency between bucket and table, objects younger than the grace period aside."""
    rows = {
        row["id"]: row for status in (READY, PENDING, REJECTED, DELETING) for row in store.iter_rows(status, FIELDS)
    }
    grace = grace_minutes * 60
    objects: dict[str, dict[str, Any]] = {obj["Key"]: obj for obj in store.iter_objects()}
    findings = []
    for key, obj in sorted(objects.items()):
        owner = layout.key_owner(key)
        if owner is None:
            findings.append(Finding("foreign-object", "", key))
            continue
        row = rows.get(owner)
        young = (now - obj["LastModified"]).total_seconds() < grace  # perhaps an upload in flight
        if row is None and not young:
            findings.append(_without_row(store, owner, key, findings))
        elif row is not None and row["status"] in (READY, REJECTED) and not _uses(row, key) and not young:
            findings.append(Finding("stray-object", row["id"], key))
    expiry_ms = int(now.timestamp() * 1000) - (get_settings().direct_upload_expires_in + grace) * 1000
    for row in rows.values():
        if row["status"] == READY and row["key"] not in objects:
            findings.append(Finding("row-without-object", row["id"], row["key"]))
        elif row["status"] == READY and row.get("thumbnail_key") and row["thumbnail_key"] not in objects:
            findings.append(Finding("missing-thumbnail", row["id"], row["thumbnail_key"]))
        elif row["status"] == PENDING and int(row["sort_key"][:13]) < expiry_ms:
            findings.append(Finding("expired-pending", row["id"], layout.incoming_key(row["id"])))
        elif row["status"] == DELETING and row.get("delete_until", 0) <= int(now.timestamp() * 1000):
            findings.append(Finding("unfinished-delete", row["id"]))  # its deleter failed or died
    return findings


def _without_row(store: ImageStore, owner: str, key: str, found: list[Finding]) -> Finding:
    """An object whose row the index did not list: an orphan, unless its row exists outside the index."""
    if any(finding.kind == "unindexed-row" and finding.image_id == owner for finding in found):
        return Finding("unindexed-row", owner, key)
    row = store.get_row(owner)
    return Finding("object-without-row" if row is None else "unindexed-row", owner, key)


def _uses(row: dict[str, Any], key: str) -> bool:
    """Whether an image uses the object: a ready one its file, thumbnail and variants; a rejected
    upload none (its key is the incoming one it had)."""
    if row["status"] != READY:
        return False
    return key in (row["key"], row.get("thumbnail_key")) or key.startswith(layout.variants_prefix(row["id"]))


def repair(store: ImageStore, finding: Finding) -> str:
    """Fix one finding (see Finding); returns what was done."""
    kind, image_id = finding.kind, finding.image_id
    if kind in ("object-without-row", "stray-object"):
        store.delete_object(finding.key)
        return "deleted the object"
    if kind in ("row-without-object", "unfinished-delete"):
        deletes.delete_image(store, image_id)
        return "deleted the image"
    if kind == "unindexed-row":
        return "indexed" if _index(store, image_id) else "changed meanwhile"
    if kind == "missing-thumbnail":
        return _remake_thumbnail(store, image_id)
    if kind == "expired-pending":
        return _finish_pending(store, image_id)
    return "left alone"


def _finish_pending(store: ImageStore, image_id: str) -> str:
    """Process an expired direct upload whose file arrived; delete one whose file never did."""
    try:
        return f"processed: {direct_uploads.process_upload(store, image_id)['status']}"
    except NotUploadedError:  # its file never arrived
        deletes.delete_image(store, image_id)
        return "deleted the upload that never arrived"
    except NotFoundError:
        return "gone meanwhile"
    except ConflictError as exc:  # e.g. its file changed while it was processed: never delete on that
        return f"left alone: {exc.message}"


def _remake_thumbnail(store: ImageStore, image_id: str) -> str:
    row = store.get_row(image_id)
    data = store.read_object(row["key"]) if row else None
    if row is None or data is None:
        return "gone meanwhile"
    decoded = image_bytes.decode(data)
    store.put_object(row["thumbnail_key"], decoded.thumbnail, decoded.thumbnail_type, image_id)
    return "made the thumbnail again"


def reconcile(fix: bool, grace_minutes: float = 15.0, out: Any = None) -> list[Finding]:
    """Report (and with `fix` repair) every inconsistency; returns what is left to fix."""
    out = out or sys.stdout
    store = ImageStore()
    findings = find(store, datetime.now().astimezone(), grace_minutes)
    left = [] if fix else list(findings)
    for finding in findings:
        done = ""
        if fix:
            try:
                done = repair(store, finding)
            except Exception as exc:  # one finding that cannot be repaired must not stop the others
                done = f"not repaired: {exc}"
                left.append(finding)
        print(f"{finding}\t{done}".rstrip(), file=out)
    fixed = f"; fixed {len(findings) - len(left)}, {len(left)} not" if fix and findings else ""
    print(f"{len(findings)} finding(s){fixed}", file=out)
    return left


def _index(store: ImageStore, image_id: str) -> bool:
    row = store.get_row(image_id)
    return row is not None and store.set_status_shard(
        image_id, row["status"], images.status_shard(image_id, row["status"])
    )


def migrate(out: Any = None) -> int:
    """Write the shard key of every row that lacks the right one, and the user's tag key of every tag
    item without it; returns how many were written."""
    out = out or sys.stdout
    store = ImageStore()
    moved = 0
    for row in store.scan_rows(("id", "status", "status_shard")):
        if "status" not in row:  # a content item: in no index
            continue
        wanted = images.status_shard(row["id"], row["status"])
        if row.get("status_shard") != wanted and store.set_status_shard(row["id"], row["status"], wanted):
            moved += 1
    print(f"{moved} row(s) given their shard key ({get_settings().listing_shards} shard(s))", file=out)
    tagged = 0
    for item in store.scan_tag_items(("tag_status", "sort_key", "user", "user_tag_status")):
        if "user_tag_status" not in item:
            tag, status = item["tag_status"].rsplit("#", 1)
            tagged += store.index_tag_item(
                item["tag_status"], item["sort_key"], layout.user_tag_status(item["user"], tag, status)
            )
    print(f"{tagged} tag item(s) given their key of the user's tag index", file=out)
    return moved + tagged


def pending(older_than_hours: float, purge: bool, out: Any = None) -> int:
    """Report (and with `purge` delete) stale pending uploads; returns how many there were."""
    out = out or sys.stdout
    store = ImageStore()
    cutoff = images.now_ms() - int(older_than_hours * 3_600_000)
    found = list(stale_pending(store, cutoff))
    for row in found:
        action = "purged" if purge else "pending"
        if purge:
            deletes.delete_image(store, row["id"])
        print(f"{action}\t{row['id']}\t{row['created_at']}\t{row['user']}\t{row['original_name']}", file=out)
    verb = "purged" if purge else "found (add --purge to delete them)"
    print(f"{len(found)} pending upload(s) older than {older_than_hours:g} h {verb}", file=out)
    return len(found)


def refusing_bad_settings(prog: str, command: Callable[[], int]) -> int:
    """`command()`, or exit status 2 with one line naming the bad setting (never a traceback)."""
    try:
        return command()
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    prog = "python -m ops.maintenance"
    return unreachable(prog, lambda: refusing_bad_settings(prog, lambda: _main(argv)))


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.maintenance", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--find-store",
        action="store_true",
        help="without AWS_ENDPOINT_URL: the running local server, else LocalStack (as make inspect finds it)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("reconcile", help="compare bucket and table, and repair")
    check.add_argument("--fix", action="store_true", help="repair what it finds")
    check.add_argument("--grace-minutes", type=float, default=15.0, help="ignore objects younger than this")
    stale = commands.add_parser("pending", help="direct uploads that never completed")
    stale.add_argument("--older-than-hours", type=float, default=24.0)
    stale.add_argument("--purge", action="store_true", help="delete them")
    commands.add_parser("migrate", help="index every row and tag item (after an upgrade or a change of LISTING_SHARDS)")
    args = parser.parse_args(argv)
    if args.find_store:
        url, what = point_at_store()
        print(f"# the store of {what}: {url}", file=sys.stderr)
    if args.command == "migrate":
        migrate()
        return 0
    if args.command == "reconcile":
        return 1 if reconcile(args.fix, args.grace_minutes) else 0
    pending(args.older_than_hours, args.purge)
    return 0


if __name__ == "__main__":
    sys.exit(main())
