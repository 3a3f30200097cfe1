"""MkDocs hooks (mkdocs.yml: `hooks`): the parts of the pages made at build time, never pasted.

A page names what it needs with a marker, an HTML comment that this hook replaces:

- `<!-- settings table -->` (docs/configuration.md): `deploy.configuration.markdown_table()`, every
  setting of app/settings.py with its default, what it takes and what it means;
- `<!-- bench results -->` (docs/performance.md): the tables of the benchmark's last results,
  docs/data/bench.json (`make bench` writes it), or a line saying there are none yet;
- `<!-- bench zip size -->`: the Lambda zip's size from those results;
- `<!-- README: HEADING -->`: the first bash block under HEADING in README.md (its "## Try it"),
  so that a page shows the lines the README has, as they are.

An unknown marker of these kinds fails the build, as a broken link does.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "docs" / "data" / "bench.json"
SETTINGS_MARKER = "<!-- settings table -->"
BENCH_MARKER = "<!-- bench results -->"
ZIP_MARKER = "<!-- bench zip size -->"
README_MARKER = re.compile(r"<!-- README: (?P<heading>#+ [^\n]*?) -->")
NO_RESULTS = "No benchmark results recorded yet: run `make bench`."
MIB = 1024 * 1024


def on_page_markdown(markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """MkDocs' event for a page's Markdown before it is rendered: every marker filled in."""
    return render(markdown)


def render(markdown: str) -> str:
    # mkdocs puts docs/ on the path only while it imports this file: the repository's packages
    # (deploy.configuration) are found by adding its root when a page needs them.
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    if SETTINGS_MARKER in markdown:
        from deploy.configuration import markdown_table

        markdown = markdown.replace(SETTINGS_MARKER, markdown_table())
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, bench_results(load_bench()))
    if ZIP_MARKER in markdown:
        markdown = markdown.replace(ZIP_MARKER, zip_size(load_bench()))
    return README_MARKER.sub(lambda match: readme_block(match["heading"]), markdown)


# --- README.md -------------------------------------------------------------------------------
def readme_block(heading: str) -> str:
    """The first bash block under `heading` (a whole line of README.md), fenced as it is there."""
    lines = (ROOT / "README.md").read_text().splitlines(keepends=True)
    if f"{heading}\n" not in lines:
        raise ValueError(f"README.md has no heading {heading!r} (docs/hooks.py, <!-- README: ... -->)")
    after = "".join(lines[lines.index(f"{heading}\n") + 1 :])
    if "```bash\n" not in after:
        raise ValueError(f"README.md has no bash block under {heading!r}")
    body = after.split("```bash\n", 1)[1].split("```", 1)[0]
    return f"```bash\n{body}```"


# --- the benchmark -----------------------------------------------------------------------------
def load_bench(path: Path = BENCH) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def ms(stats: dict[str, Any] | None, key: str = "median_ms") -> str:
    return "" if not stats or stats.get(key) is None else f"{stats[key]:,.1f} ms"


def zip_size(report: dict[str, Any] | None) -> str:
    if not report or not report.get("zip_bytes"):
        return "about 21 MiB"
    return f"{report['zip_bytes'] / MIB:.1f} MiB (as `make bench` last measured it)"


def bench_results(report: dict[str, Any] | None) -> str:
    """The results as Markdown: the machine, then a section per measure that the run has."""
    if report is None:
        return NO_RESULTS
    machine = report.get("machine", {})
    run = "`BENCH_SHORT=1` (the quick run)" if report.get("short") else "the full `make bench`"
    parts = [
        f"Measured {report.get('when', '(no date)')} on {machine.get('cpu', 'an unknown CPU')}, "
        f"{machine.get('cores', '?')} cores, Python {machine.get('python', '?')}, with {run}; "
        f"medians, p95 in brackets. From `docs/data/bench.json`.",
        routes_table(report),
        localstack_calls(report),
        cold_start(report),
        listing_table(report.get("list_at_scale")),
        zip_and_memory(report),
        hostile_images(report.get("hostile_images")),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def routes_table(report: dict[str, Any]) -> str:
    local = report.get("routes_local_server") or {}
    remote = report.get("routes_localstack") or {}
    skipped = remote.get("skipped")
    measured = {} if skipped else remote
    names = [*local, *(name for name in measured if name not in local)]
    if not names:
        return ""
    lines = ["### Routes", ""]
    if measured:
        lines += [
            "| route | local server | LocalStack | its floor | over the floor |",
            "| --- | --- | --- | --- | --- |",
        ]
    else:
        lines += ["| route | local server |", "| --- | --- |"]
    for name in names:
        row = [f"`{name}`", both(local.get(name))]
        if measured:
            there = measured.get(name)
            over = there.get("over_floor_ms") if there else None
            row += [both(there), ms(there, "floor_ms"), "" if over is None else f"{over:+,.1f} ms"]
        lines.append(f"| {' | '.join(row)} |")
    if skipped:
        lines += ["", f"LocalStack: not measured in this run ({skipped})."]
    return "\n".join(lines)


def both(stats: dict[str, Any] | None) -> str:
    return f"{ms(stats)} ({ms(stats, 'p95_ms')})" if stats else ""


def localstack_calls(report: dict[str, Any]) -> str:
    calls = report.get("calls_localstack")
    if not calls:
        return ""
    lines = ["### LocalStack's own calls", "", "| call | median (p95) |", "| --- | --- |"]
    lines += [f"| {name} | {both(stats)} |" for name, stats in calls.items()]
    return "\n".join(lines)


def cold_start(report: dict[str, Any]) -> str:
    lines = []
    cold = report.get("cold_start_localstack")
    if cold:
        lines.append(
            f"- The first request after a deploy, end to end on LocalStack: {both(cold.get('first_request'))}; "
            f"the next one {both(cold.get('next_request'))}."
        )
    imported = report.get("cold_import_ms")
    if imported:
        lines.append(f"- The handler's cold import in a fresh interpreter: {both(imported)}.")
    return "\n".join(["### Cold start", "", *lines]) if lines else ""


LISTING_KEY = re.compile(r"(?P<shards>\d+) shard\(s\), (?P<images>\d+) images, (?P<query>.+)")


def listing_table(listing: dict[str, Any] | None) -> str:
    if not listing:
        return ""
    backend = listing.get("backend")
    where = {
        "localstack": "through the handler with LocalStack's DynamoDB",
        "moto": "through the handler with moto in-process, whose Query reads its whole table: "
        "here only the rows read per page mean anything",
    }.get(str(backend), f"through the handler ({backend})")
    lines = [
        "### Listing at scale",
        "",
        f"`GET /list`, {where}:",
        "",
        "| images | shards | query | median (p95) | rows read per page |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, stats in listing.items():
        match = LISTING_KEY.fullmatch(key)
        if match and isinstance(stats, dict):
            lines.append(
                f"| {int(match['images']):,} | {match['shards']} | `{match['query']}` | {both(stats)} "
                f"| {stats.get('items_read_per_page', '')} |"
            )
    return "\n".join(lines)


def zip_and_memory(report: dict[str, Any]) -> str:
    lines = []
    zip_bytes = report.get("zip_bytes")
    lines.append(
        f"- The Lambda zip (`build/lambda.zip`): {zip_bytes / MIB:.1f} MiB."
        if zip_bytes
        else "- The Lambda zip: not built in this run (`bash deploy.sh` builds it)."
    )
    parse = report.get("multipart_4mib")
    if parse:
        lines.append(f"- Multipart parsing of a 4 MiB body: {parse['mib_per_s']:,} MiB/s.")
    upload = report.get("upload_4mib")
    if upload:
        lines.append(
            f"- A 4 MiB upload through the handler: {upload['duration_ms']:,} ms, "
            f"{upload['peak_python_mib']} MiB peak Python memory."
        )
    return "\n".join(["### The zip, parsing and memory", "", *lines])


def hostile_images(hostile: dict[str, Any] | None) -> str:
    if not hostile:
        return "### Hostile images\n\nMeasured in the full run only (`make bench`, not `BENCH_SHORT=1`)."
    lines = [
        "### Hostile images",
        "",
        f"The bomb catalogue ({hostile.get('cases', '?')} cases), each handled alone by a warm handler "
        f"of a {hostile.get('function_memory_mb', '?')} MB function:",
        "",
        "| worst | case | bytes | status | peak | time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, worst in hostile.items():
        if isinstance(worst, dict):
            label = name.removeprefix("worst ").replace("peak_mib", "memory").replace("seconds", "time")
            lines.append(
                f"| {label} | `{worst['name']}` | {worst['bytes']:,} "
                f"| {worst['status']} | {worst['peak_mib']} MiB | {worst['ms']:,} ms |"
            )
    return "\n".join(lines)
