"""The imgapi commands and what they print: short lines and rich tables for people, the API's
JSON answers with --json for programs, progress bars on stderr, failures as one line on stderr
(`error CODE: message (request id ...)`) and exit status 1."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

import click
import requests
from click.core import ParameterSource
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from imgapi import seed as seeding
from imgapi import uploads
from imgapi.client import ApiError, Client, ImgapiError, locate, retry_once

DELETE_CHUNK = 100  # ids per POST /images/delete
EDIT_ATTEMPTS = 4  # a relative tag change is tried again up to 3 times when the image changed meanwhile
SEED_PARALLEL = 4

HELP = """Upload, list, view, edit and delete the image API's images.

\b
Where requests go, the first of:
  1. --url or IMGAPI_URL
  2. the local server while it runs (make dev: build/local-server.json)
  3. the API of the last `bash deploy.sh` (build/base_url)
\b
Credentials, when the API wants them (never printed):
  --api-key or IMGAPI_API_KEY  sent as x-api-key; with 3., build/api_key
                               (bash deploy.sh --api-key) unless given
  --token or IMGAPI_TOKEN      sent as Authorization: Bearer (AUTH=jwt;
                               make -s token USER=alice prints one)

Every command takes --json to print the API's answers instead.
"""


class _Commands(click.Group):
    """Turns an ImgapiError into its one line on stderr and exit status 1, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImgapiError as error:
            click.echo(str(error), err=True)
            ctx.exit(1)


@dataclass
class Api:
    """The options that say where requests go; found only when a command needs it (not for --help)."""

    url: str | None
    url_source: str
    api_key: str | None
    token: str | None

    @cached_property
    def client(self) -> Client:
        return Client(locate(self.url, self.url_source, self.api_key, self.token))


json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer(s).")


@click.group(cls=_Commands, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="IMGAPI_URL", metavar="URL", help="The API's base URL (env IMGAPI_URL).")
@click.option("--api-key", envvar="IMGAPI_API_KEY", metavar="KEY", help="x-api-key (env IMGAPI_API_KEY).")
@click.option("--token", envvar="IMGAPI_TOKEN", metavar="JWT", help="Bearer token (env IMGAPI_TOKEN).")
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None, token: str | None) -> None:
    from_env = ctx.get_parameter_source("url") is ParameterSource.ENVIRONMENT
    ctx.obj = Api(url, "IMGAPI_URL" if from_env else "--url", api_key or None, token or None)


# ---- upload ----------------------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "-u", help="Whose images (left out when signed in with --token).")
@click.option("--description", "-d", help="The same description for every file.")
@click.option("--tag", "-t", "tags", multiple=True, help="A tag (repeat for more).")
@json_option
@click.pass_obj
def upload(
    api: Api, files: Sequence[Path], user: str | None, description: str | None, tags: Sequence[str], as_json: bool
) -> None:
    """Upload image files: POST /upload, or straight to S3 when a file is over the API's
    limit for /upload. A file this user stored before is not stored again."""
    if user is None and api.token is None:  # said here, by its option's name, not as the API's MISSING_FIELD
        raise ImgapiError("error MISSING_OPTION: whose images are these? Pass --user NAME (or sign in with --token)")
    client = api.client
    limit = uploads.limits(client)
    answers: list[dict[str, Any]] = []
    failed = 0
    with _Bars(in_bytes=True) as bars:
        for path in files:
            task = bars.add_task(path.name, total=path.stat().st_size)
            item = uploads.Upload(path.name, path.read_bytes(), user, description, tuple(tags))

            def advance(sent: int, task: TaskID = task) -> None:
                bars.advance(task, sent)

            try:
                answer = uploads.send(client, limit, item, advance)
            except ApiError as error:  # this file's; the others may still go (UnreachableError stops all)
                failed += 1
                bars.say(f"{path}: {error}", err=True)
                continue
            answers.append(answer)
            if not as_json:
                bars.say(f"{path}: {_stored_line(answer)}")
    if as_json:
        _print_json(answers)
    if failed:
        sys.exit(1)


def _stored_line(answer: dict[str, Any]) -> str:
    if answer.get("duplicate"):
        return f"already stored as {answer['id']}"
    shape = f"{answer['width']}x{answer['height']}" if answer.get("width") else "size unknown"
    return f"uploaded as {answer['id']} ({answer['content_type']}, {shape}, {_bytes(answer['size'])}, {answer['user']})"


# ---- list ------------------------------------------------------------------------------------


@cli.command("list")
@click.option("--user", "-u", help="Only this user's images.")
@click.option("--tag", "-t", help="Only images with this tag.")
@click.option("--name", help="Only images whose file name contains this (any case).")
@click.option("--from", "from_", metavar="DATE", help="Created on or after (ISO-8601 date or date-time, UTC).")
@click.option("--to", metavar="DATE", help="Created on or before (ISO-8601 date or date-time, UTC).")
@click.option("--order", type=click.Choice(["newest", "oldest"]), default="newest", show_default=True)
@click.option("--status", type=click.Choice(["ready", "pending", "rejected"]), help="Default: ready.")
@click.option("--limit", "-n", type=click.IntRange(1), default=20, show_default=True, help="Images in all.")
@click.option("--page-size", type=click.IntRange(1, 1000), help="Images per request (default: --limit, at most 100).")
@json_option
@click.pass_obj
def list_images(
    api: Api,
    user: str | None,
    tag: str | None,
    name: str | None,
    from_: str | None,
    to: str | None,
    order: str,
    status: str | None,
    limit: int,
    page_size: int | None,
    as_json: bool,
) -> None:
    """List images, newest first, following the API's next-page links until --limit images."""
    query: dict[str, Any] = {"user": user, "tag": tag, "name_contains": name, "from": from_, "to": to}
    query |= {"order": order, "status": status, "limit": page_size or min(limit, 100)}
    rows = list(_rows(api.client, query, limit))
    if as_json:
        _print_json(rows)
    elif not rows:
        click.echo("no images")
    else:
        _stdout().print(_table(rows))


def _rows(client: Client, query: dict[str, Any], limit: int) -> Iterator[dict[str, Any]]:
    response = client.call("list", query=query)
    count = 0
    while True:
        for row in response.json():
            if count == limit:
                return
            count += 1
            yield row
        following = client.next_page(response)
        if following is None or count == limit:
            return
        response = client.call("list", url=following)


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "user", "name", "type", "pixels", "size", "created (UTC)", "tags", box=None, pad_edge=False)
    for row in rows:
        table.add_row(
            row["id"],
            row["user"],
            row["original_name"],
            row["content_type"].removeprefix("image/"),
            f"{row['width']}x{row['height']}" if row.get("width") else "",
            _bytes(row["size"]),
            _time(row["created_at"]),
            ", ".join(row["tags"]),
        )
    return table


# ---- view ------------------------------------------------------------------------------------


@cli.command()
@click.argument("image_id")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Save the image's bytes here.")
@json_option
@click.pass_obj
def view(api: Api, image_id: str, output: Path | None, as_json: bool) -> None:
    """Show an image's metadata and its presigned URL; -o saves the image itself."""
    answer = api.client.call("view", image_id=image_id).json()
    if output is not None:
        _download(answer, output, api.client.timeout)
    if as_json:
        _print_json(answer)
        return
    for label, value in (
        ("id", answer["id"]),
        ("user", answer["user"]),
        ("name", answer["original_name"]),
        ("description", answer["description"]),
        ("type", answer["content_type"]),
        ("pixels", f"{answer['width']}x{answer['height']}" if answer.get("width") else ""),
        ("size", _bytes(answer["size"])),
        ("created", f"{_time(answer['created_at'])} UTC"),
        ("tags", ", ".join(answer["tags"])),
        ("status", answer["status"]),
        ("url", answer["url"] or ""),
    ):
        click.echo(f"{label:<12} {value}")
    if output is not None:
        click.echo(f"saved to {output}")


def _download(answer: dict[str, Any], output: Path, timeout: float) -> None:
    if not answer.get("url"):
        raise ApiError(409, "NOT_READY", f"the image is {answer['status']}: it has no bytes to download yet")
    try:  # no credentials: the URL is presigned, and S3 refuses a second authorization
        with requests.get(answer["url"], stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise ApiError.of(response)
            with output.open("wb") as file:
                for chunk in response.iter_content(1 << 16):
                    file.write(chunk)
    except requests.RequestException as exc:
        raise ApiError(0, "S3_UNREACHABLE", f"downloading {answer['id']} failed: {type(exc).__name__}") from exc


# ---- edit ------------------------------------------------------------------------------------


@cli.command()
@click.argument("image_id")
@click.option("--description", "-d", help="The new description.")
@click.option("--tag", "-t", "tags", multiple=True, help="The image's tags become these (repeat for more).")
@click.option("--add-tag", multiple=True, help="Add this tag (repeat for more).")
@click.option("--remove-tag", multiple=True, help="Remove this tag (repeat for more).")
@json_option
@click.pass_obj
def edit(
    api: Api,
    image_id: str,
    description: str | None,
    tags: Sequence[str],
    add_tag: Sequence[str],
    remove_tag: Sequence[str],
    as_json: bool,
) -> None:
    """Change an image's description or tags, only if nobody changed it since it was read
    (If-Match). Adding or removing tags is tried again on the new version, up to 3 times;
    a new description or tag list is not: it would undo the other change."""
    if tags and (add_tag or remove_tag):
        raise click.UsageError("--tag sets every tag: give it without --add-tag and --remove-tag")
    if description is None and not (tags or add_tag or remove_tag):
        raise click.UsageError("nothing to change: give --description, --tag, --add-tag or --remove-tag")
    attempts = EDIT_ATTEMPTS if description is None and not tags else 1
    for attempt in range(1, attempts + 1):
        current = api.client.call("get_image", image_id=image_id)
        changes = _changes(current.json(), description, tags, add_tag, remove_tag)
        if_match = {"If-Match": current.headers.get("ETag", "")}
        try:
            answer = api.client.call("edit", image_id=image_id, json=changes, headers=if_match).json()
            break
        except ApiError as error:
            if error.code != "PRECONDITION_FAILED" or attempt == attempts:
                raise
    if as_json:
        _print_json(answer)
    else:
        tags_now = ", ".join(answer["tags"]) or "none"
        click.echo(f"edited {answer['id']}: description {json.dumps(answer['description'])}, tags {tags_now}")


def _changes(
    image: dict[str, Any],
    description: str | None,
    tags: Sequence[str],
    add_tag: Sequence[str],
    remove_tag: Sequence[str],
) -> dict[str, Any]:
    """The PATCH body: what is given, with added and removed tags applied to the image's own."""
    changes: dict[str, Any] = {} if description is None else {"description": description}
    if tags:
        changes["tags"] = list(tags)
    elif add_tag or remove_tag:
        removed = {tag.lower() for tag in remove_tag}  # the service keeps tags lower-case
        kept = [tag for tag in image["tags"] if tag not in removed]
        changes["tags"] = kept + [tag.lower() for tag in add_tag if tag.lower() not in kept]
    return changes


# ---- delete ----------------------------------------------------------------------------------


@cli.command()
@click.argument("image_ids", nargs=-1)
@json_option
@click.pass_obj
def delete(api: Api, image_ids: Sequence[str], as_json: bool) -> None:
    """Delete images: one with DELETE /delete/{id}, several with POST /images/delete
    (100 a request). Exit status 1 if any was not deleted. No id (`imgapi delete $(...)` of an
    empty list) deletes nothing, and says so."""
    if not image_ids:
        if as_json:
            _print_json({"results": [], "deleted": 0, "failed": 0})
        else:
            click.echo("nothing to delete: no id given", err=True)
        return
    if len(image_ids) == 1:
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # a retry after a lost answer is not a 404
        answer = retry_once(lambda: api.client.call("delete", image_id=image_ids[0], headers=headers).json())
        if as_json:
            _print_json(answer)
        else:
            click.echo(f"deleted {answer['deleted']}")
        return
    answers = [
        _delete_chunk(api.client, image_ids[at : at + DELETE_CHUNK]) for at in range(0, len(image_ids), DELETE_CHUNK)
    ]
    # One answer's shape, whatever the number of requests it took.
    merged = {
        "results": [result for answer in answers for result in answer["results"]],
        "deleted": sum(answer["deleted"] for answer in answers),
        "failed": sum(answer["failed"] for answer in answers),
    }
    if as_json:
        _print_json(merged)
    else:
        _print_results(merged)
    if merged["failed"]:
        sys.exit(1)


def _delete_chunk(client: Client, image_ids: Sequence[str]) -> dict[str, Any]:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    answer: dict[str, Any] = retry_once(
        lambda: client.call("delete_many", json={"ids": list(image_ids)}, headers=headers).json()
    )
    return answer


def _print_results(merged: dict[str, Any]) -> None:
    for result in merged["results"]:
        if result["code"] == "DELETED":
            click.echo(f"deleted {result['id']}")
        else:
            click.echo(
                f"{result['id']}: error {result['code']}: {result['error']} (status {result['status']})", err=True
            )
    click.echo(f"deleted {merged['deleted']}, failed {merged['failed']}")


# ---- seed ------------------------------------------------------------------------------------


@cli.command()
@click.option("--count", "-n", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@click.pass_obj
def seed(api: Api, count: int, as_json: bool) -> None:
    """Upload COUNT generated images (JPEG, PNG, WebP and GIF, 96 to 2000 px, users alice, bob,
    carol and dave, a few tags each), new ones on every run, a few at a time."""
    client = api.client
    limit = uploads.limits(client)
    tally: Counter[str] = Counter()
    answers: list[dict[str, Any]] = []

    def one(plan: seeding.Plan) -> dict[str, Any]:
        # Signed in (--token), the token names the user: naming another would be refused.
        return uploads.send(client, limit, seeding.render(plan, None if api.token else plan.user))

    with _Bars(in_bytes=False) as bars, ThreadPoolExecutor(SEED_PARALLEL) as pool:
        task = bars.add_task("seeding", total=count)
        futures = {pool.submit(one, plan): plan for plan in seeding.plans(count)}
        try:
            for future in as_completed(futures):
                outcome = _seeded(futures[future].name, future, answers, bars)
                tally[outcome] += 1
                bars.advance(task)
        except ImgapiError:  # unreachable: the rest would fail alike
            pool.shutdown(cancel_futures=True)
            raise
    summary = f"uploaded {tally['uploaded']}, duplicates {tally['duplicate']}, failed {tally['failed']}"
    if as_json:
        _print_json(answers)
    click.echo(summary, err=as_json)
    if tally["failed"]:
        sys.exit(1)


def _seeded(name: str, future: Future[dict[str, Any]], answers: list[dict[str, Any]], bars: _Bars) -> str:
    """What became of one image: uploaded, duplicate or failed (said on stderr)."""
    try:
        answer = future.result()
    except ApiError as error:
        bars.say(f"{name}: {error}", err=True)
        return "failed"
    answers.append(answer)
    return "duplicate" if answer.get("duplicate") else "uploaded"


# ---- output ----------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


class _Bars(Progress):
    """Progress bars on stderr while it is a terminal, gone when done (nothing would redraw them
    in a pipe or a log), and say() for the lines printed meanwhile."""

    def __init__(self, in_bytes: bool) -> None:
        console = Console(stderr=True)
        super().__init__(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn() if in_bytes else MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,  # click writes past rich's stand-in for sys.stdout anyway
            redirect_stderr=False,
            disable=not console.is_terminal,
        )
        # A line written beside the bars on the same terminal would be drawn over: it goes
        # through them there. Elsewhere (a pipe, a file) it goes to its own stream.
        self._through_bars = console.is_terminal and _same_file(sys.stdout, sys.stderr)

    def say(self, line: str, err: bool = False) -> None:
        if self._through_bars:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=err)


def _same_file(one: TextIO, other: TextIO) -> bool:
    try:
        return os.path.samestat(os.fstat(one.fileno()), os.fstat(other.fileno()))
    except (OSError, ValueError):  # no file descriptor (click's test runner): not a terminal either
        return False


def _stdout() -> Console:
    console = Console(highlight=False)
    # A pipe has no width: rich would squeeze the table into 80 columns and cut ids.
    return console if console.is_terminal else Console(highlight=False, width=200)


def _bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / (1024 * 1024):.1f} MiB"


def _time(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
