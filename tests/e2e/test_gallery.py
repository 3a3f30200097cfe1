"""The gallery page in a real browser: Debian's Chromium driven by Playwright.

Screenshots of the grid and the detail view go to build/screenshots/.
Skipped when there is no Chromium, unless BROWSER_REQUIRED=1 (CI).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Route,
    expect,
    sync_playwright,
)

from tests.e2e.client import Target
from tests.images import scene

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Debian's Chromium as root, on a machine with no network but loopback and no GPU.
# (Waits use expect(), not wait_for_function: the page's CSP forbids the eval the latter needs.)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).parents[2] / "build" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
MIB = 1024 * 1024


@dataclass
class Watch:
    """What the page does behind the test's back: script errors and dialogs."""

    problems: list[str] = field(default_factory=list)
    confirm: bool = False  # accept the next confirm() (deleting); any other dialog is a problem
    confirmed: list[str] = field(default_factory=list)  # the questions accepted

    def on_console(self, message: ConsoleMessage) -> None:
        # An API error the page shows as a sentence is also logged as a failed load; that is fine.
        # Anything else (a CSP violation, a script error) is not.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def on_dialog(self, dialog: Dialog) -> None:
        if dialog.type == "confirm" and self.confirm:
            self.confirm = False
            self.confirmed.append(dialog.message)
            dialog.accept()
            return
        self.problems.append(f"unexpected {dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("BROWSER_REQUIRED") == "1":
            pytest.fail(f"BROWSER_REQUIRED=1 but there is no {CHROMIUM} (apt-get install chromium)", pytrace=False)
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium to run the browser tests")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, target: Target, watch: Watch) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    remember_key(context, target)
    page = context.new_page()
    page.on("pageerror", lambda error: watch.problems.append(f"page error: {error}"))
    page.on("console", watch.on_console)
    page.on("dialog", watch.on_dialog)
    open_gallery(page, target)
    yield page
    context.close()
    assert watch.problems == []


def remember_key(context: BrowserContext, target: Target) -> None:
    """As if the user had typed the API key earlier in this tab (the page keeps it in sessionStorage)."""
    if target.api_key:
        context.add_init_script(f"sessionStorage.setItem('apiKey', {json.dumps(target.api_key)})")


def open_gallery(page: Page, target: Target) -> None:
    response = page.goto(f"{target.base_url}/")
    assert response is not None
    assert response.status == 200


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("gallery")
    small, large = folder / "small harbour.png", folder / "large meadow.jpg"
    scene((320, 200), sky=(30, 60, 140), ground=(20, 150, 170)).save(small)
    scene((2400, 1800), sky=(40, 110, 170), ground=(200, 190, 120), grain=0.4).save(large, quality=98)  # ~5 MB
    assert large.stat().st_size > 4 * MIB
    return small, large


def cards(page: Page) -> Locator:
    return page.locator("#grid .card")


def filter_grid(page: Page, user: str = "", tag: str = "") -> None:
    page.fill("#filters [name=user]", user)
    page.fill("#filters [name=tag]", tag)
    page.click("#filters button[type=submit]")


def shoot(page: Page, name: str, full_page: bool = False) -> None:
    """A screenshot once every visible image has loaded and decoded (thumbnails arrive after the load event)."""
    for image in page.locator("img:visible").all():
        expect(image).to_have_js_property("complete", True)
        expect(image).not_to_have_js_property("naturalWidth", 0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page, animations="disabled")


def upload(page: Page, user: str, description: str, tags: str, files: list[Path]) -> None:
    if page.locator("#upload-panel").get_attribute("open") is None:  # folded at phone width
        page.click("#upload-panel > summary")
    page.fill("#upload-form [name=user]", user)
    page.fill("#upload-form [name=description]", description)
    page.fill("#upload-form [name=tags]", tags)
    page.set_input_files("#files", [str(path) for path in files])
    page.click("#upload-form button[type=submit]")
    states = page.locator("#uploads li span:last-child")
    expect(states).to_have_count(len(files))
    for n in range(len(files)):
        expect(states.nth(n)).to_have_text(re.compile(r"^(uploaded|\D.*)$"), timeout=60_000)  # done or failed


def test_the_page_forbids_inline_script_and_foreign_origins(browser: Browser, target: Target) -> None:
    page = browser.new_page()
    response = page.goto(f"{target.base_url}/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    page.close()

    assert "default-src 'none'" in csp
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp


def test_upload_browse_filter_open_download_delete(
    page: Page, watch: Watch, pictures: tuple[Path, Path], target: Target
) -> None:
    small, large = pictures

    upload(page, "e2e-gallery", XSS, "e2e-gallery, Browser", [small, large])  # large goes straight to S3

    assert page.locator("#uploads .failed").count() == 0
    filter_grid(page, tag="e2e-gallery")
    expect(cards(page)).to_have_count(2)
    for picture in cards(page).locator("img").all():
        expect(picture).not_to_have_js_property("naturalWidth", 0)  # loaded from S3 and decoded
        source = str(picture.evaluate("img => img.currentSrc"))
        if target.api_key:  # an <img> cannot send the key: the presigned thumbnail
            assert "/thumbnails/" in source
        else:  # a variant in the width the screen needs (the route redirects to S3)
            assert "/variant?w=" in source, source
            assert "format=auto" in source, source
    captions = cards(page).locator(".caption").all_inner_texts()
    assert sorted(captions) == sorted([small.name, large.name])
    shoot(page, "grid.png", full_page=True)

    filter_grid(page, tag="no-such-tag-anywhere")
    expect(page.locator("#sentinel")).to_have_text("No images yet.")
    expect(cards(page)).to_have_count(0)
    filter_grid(page, user="e2e-gallery", tag="BROWSER")
    expect(cards(page)).to_have_count(2)

    small_card = cards(page).filter(has_text=small.name)
    small_id = small_card.get_attribute("data-id")
    small_card.click()
    expect(page.locator("#detail")).to_have_attribute("open", "")
    expect(page.locator("#detail-image")).to_have_js_property("naturalWidth", 320)
    meta = page.inner_text("#detail-meta")
    assert XSS in meta  # shown as text...
    assert page.locator("img[src='x']").count() == 0  # ...and never as markup
    assert "320 \u00d7 200 px" in meta
    shoot(page, "detail.png")

    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == small.name
    assert Path(download.value.path()).read_bytes() == small.read_bytes()

    watch.confirm = True
    page.click("#delete")
    expect(page.locator("#detail")).not_to_have_attribute("open", "")
    expect(cards(page)).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("Deleted")
    assert target.get(f"/view/{small_id}").status_code == 404
    target.delete(f"/delete/{cards(page).get_attribute('data-id')}")


def test_api_errors_read_as_sentences(page: Page, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not an image\n")

    upload(page, "e2e-gallery", "", "", [text])

    expect(page.locator("#uploads .failed")).to_have_text("file is not a JPEG, PNG, GIF, WebP, AVIF or HEIC image")
    expect(page.locator("#status")).to_have_text("1 of 1 uploads failed; see the list above.")


def test_phone_width_and_keyboard(browser: Browser, target: Target, pictures: tuple[Path, Path]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    remember_key(context, target)
    page = context.new_page()
    open_gallery(page, target)
    panel = page.locator("#upload-panel")
    expect(panel).not_to_have_attribute("open", "")  # folded at phone width...
    panel.locator("> summary").focus()
    page.keyboard.press("Enter")  # ...and unfolded from the keyboard
    expect(panel).to_have_attribute("open", "")
    expect(page.locator("#upload-form [name=user]")).to_be_visible()
    upload(page, "e2e-phone", "from a phone", "e2e-phone", [pictures[0]])
    filter_grid(page, user="e2e-phone")
    expect(cards(page)).to_have_count(1)

    width = page.evaluate("document.documentElement.scrollWidth")
    shoot(page, "phone.png", full_page=True)
    cards(page).first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).not_to_have_attribute("open", "")
    image_id = cards(page).first.get_attribute("data-id")
    context.close()

    assert width <= 390, "nothing overflows sideways at phone width"
    target.delete(f"/delete/{image_id}")


def test_a_missing_api_key_is_explained_and_can_be_typed_in(browser: Browser, target: Target) -> None:
    if target.api_key is None:
        pytest.skip("this API needs no key")
    page = browser.new_page()
    open_gallery(page, target)

    expect(page.locator("#status")).to_have_text(
        "Forbidden: this API needs an API key (see \u201cAPI key\u201d at the top)."
    )
    expect(page.locator("#key-settings")).to_be_visible()  # offered once API Gateway asked for a key
    page.click("#key-settings > summary")
    page.fill("#api-key", target.api_key)
    with page.expect_response(lambda response: "/list?" in response.url) as listed:
        page.press("#api-key", "Enter")

    assert listed.value.status == 200
    expect(page.locator("#status")).to_have_text("")
    page.close()


def test_an_api_without_keys_offers_no_key_field(browser: Browser, open_target: Target) -> None:
    page = browser.new_page()
    with page.expect_response(lambda response: "/list?" in response.url) as listed:
        open_gallery(page, open_target)

    assert listed.value.status == 200
    expect(page.locator("#status")).to_have_text("")
    expect(page.locator("#key-settings")).to_be_hidden()
    page.close()


def test_the_first_screen_of_a_phone_shows_images(
    browser: Browser, target: Target, pictures: tuple[Path, Path]
) -> None:
    """At 390 x 844 the upload form starts folded: a card is on the first screen, without scrolling."""
    made = target.upload("user=e2e-first-screen", f"file=@{pictures[0]}").json()["id"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    remember_key(context, target)
    page = context.new_page()
    open_gallery(page, target)
    expect(cards(page).first).to_be_visible()

    box = cards(page).first.bounding_box()
    folded = page.locator("#upload-panel").get_attribute("open") is None
    shoot(page, "phone-first-screen.png")
    context.close()
    target.delete(f"/delete/{made}")

    assert folded
    assert box is not None
    assert box["y"] + box["height"] / 2 < 844, "the first card is on the first screen"


def test_signed_in_with_a_dev_token_one_deletes_only_ones_own(browser: Browser, watch: Watch) -> None:
    from deploy import dev_issuer
    from localserver.launcher import local_server

    alice, bob = "e2e-alice", "e2e-bob"
    png = SHOTS.parent / "sign-in.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    scene((64, 48), sky=(10, 20, 30), ground=(90, 80, 70)).save(png)
    with local_server(env={"AUTH": "jwt"}) as server:
        signed = Target(server.base_url, server.aws_endpoint, s3_notifies=False)

        def as_user(user: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {dev_issuer.token(user)}"}

        mine, theirs = (
            signed.request("POST", "/upload", files={"file": png.open("rb")}, headers=as_user(user)).json()["id"]
            for user in (alice, bob)
        )
        page = browser.new_page()
        page.on("console", watch.on_console)
        page.on("dialog", watch.on_dialog)
        open_gallery(page, signed)

        expect(page.locator("#sign-in")).to_be_visible()
        page.fill("#token", dev_issuer.token(alice))
        page.press("#token", "Enter")
        expect(page.locator("#who")).to_have_text(f"Signed in as {alice}")
        expect(page.locator("#upload-form [name=user]")).to_have_value(alice)
        filter_grid(page, user=bob)
        expect(cards(page)).to_have_count(1)
        expect(picks(page)).to_have_count(0)  # no checkbox on an image one may not delete
        cards(page).first.click()
        expect(page.locator("#detail")).to_have_attribute("open", "")
        expect(page.locator("#delete")).to_be_hidden()
        page.click("#close")
        filter_grid(page, user=alice)
        cards(page).first.click()
        expect(page.locator("#delete")).to_be_visible()
        watch.confirm = True
        page.click("#delete")
        expect(page.locator("#status")).to_contain_text("Deleted")
        shoot(page, "signed-in.png")
        page.close()

        assert signed.get(f"/view/{mine}", headers=as_user(bob)).status_code == 404
        assert signed.get(f"/view/{theirs}", headers=as_user(bob)).status_code == 200
    assert watch.problems == []


def api_upload(target: Target, folder: Path, tag: str, names: list[str]) -> dict[str, str]:
    """Small images uploaded through the API (faster than the page), each with its own pixels (a user's
    duplicate is refused): name -> id."""
    ids = {}
    for n, name in enumerate(names):
        path = folder / name
        scene((48, 32), sky=(40 * n, 60, 140), ground=(20, 150, 60 + 40 * n)).save(path)
        response = target.request(
            "POST", "/upload", data={"user": "e2e-bulk", "tags": tag}, files={"file": (name, path.read_bytes())}
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


def picks(page: Page) -> Locator:
    return page.locator("#grid .pick input")


def test_select_several_and_delete_them_at_once(page: Page, watch: Watch, target: Target, tmp_path: Path) -> None:
    tag = f"e2e-bulk-{secrets.token_hex(4)}"
    ids = api_upload(target, tmp_path, tag, ["first.png", "second.png", "third.png"])
    filter_grid(page, tag=tag)
    expect(cards(page)).to_have_count(3)
    delete_selected = page.locator("#delete-selected")
    expect(delete_selected).to_have_text("Delete selected (0)")
    expect(delete_selected).to_be_disabled()
    for name in ids:  # each checkbox is labelled with its image's name
        expect(page.get_by_role("checkbox", name=f"Select {name}", exact=True)).to_have_count(1)

    page.click("#select-all")
    expect(delete_selected).to_have_text("Delete selected (3)")
    page.click("#select-none")
    expect(delete_selected).to_have_text("Delete selected (0)")
    picks(page).nth(0).focus()
    page.keyboard.press("Space")  # from the keyboard
    picks(page).nth(2).click(modifiers=["Shift"])  # shift-click: the range, all three
    expect(delete_selected).to_have_text("Delete selected (3)")
    picks(page).nth(2).click()
    expect(delete_selected).to_have_text("Delete selected (2)")
    chosen = [picks(page).nth(n).get_attribute("value") for n in (0, 1)]
    (kept,) = set(ids.values()) - set(chosen)
    shoot(page, "selection.png")

    watch.confirm = True
    with page.expect_response(lambda response: response.url.endswith("/images/delete")) as answered:
        page.click("#delete-selected")
    expect(page.locator("#status")).to_have_text("2 deleted.")

    assert answered.value.status == 200
    assert answered.value.request.post_data_json == {"ids": chosen}
    assert watch.confirmed == ["Delete 2 images? This cannot be undone."]
    expect(cards(page)).to_have_count(1)
    expect(cards(page)).to_have_attribute("data-id", kept)
    expect(delete_selected).to_have_text("Delete selected (0)")
    assert [target.get(f"/view/{image_id}").status_code for image_id in chosen] == [404, 404]
    assert target.get(f"/view/{kept}").status_code == 200
    target.delete(f"/delete/{kept}")


def test_a_selected_image_deleted_meanwhile_reads_as_already_gone(
    page: Page, watch: Watch, target: Target, tmp_path: Path
) -> None:
    tag = f"e2e-bulk-{secrets.token_hex(4)}"
    ids = api_upload(target, tmp_path, tag, ["still-here.png", "gone-already.png"])
    filter_grid(page, tag=tag)
    expect(cards(page)).to_have_count(2)
    page.click("#select-all")
    assert target.delete(f"/delete/{ids['gone-already.png']}").status_code == 200  # behind the page's back

    watch.confirm = True
    page.click("#delete-selected")

    expect(page.locator("#status")).to_have_text("1 deleted; 1 was already gone: \u201cgone-already.png\u201d.")
    expect(page.locator("#status")).to_have_class("status ok")
    expect(cards(page)).to_have_count(0)
    expect(page.locator("#delete-selected")).to_have_text("Delete selected (0)")
    assert watch.confirmed == ["Delete 2 images? This cannot be undone."]
    assert [target.get(f"/view/{image_id}").status_code for image_id in ids.values()] == [404, 404]


def test_a_large_selection_goes_in_batches_of_100_and_each_failure_is_named(page: Page, watch: Watch) -> None:
    # The API is mocked here: 130 real images would make a slow test of what is the page's logic alone.
    names = {f"mock-{n:03}": f"mock {n}.png" for n in range(130)}
    listed = [
        {"id": image_id, "original_name": name, "user": "e2e-mock", "tags": [], "status": "processing"}
        for image_id, name in names.items()
    ]
    busy = "another request is deleting this image; retry in 3 s"
    refusals = {
        "mock-005": (403, "NOT_OWNER", "only the image's owner or an admin may change it"),
        "mock-120": (409, "DELETE_IN_PROGRESS", busy),
        "mock-121": (409, "DELETE_IN_PROGRESS", busy),
    }
    batches: list[list[str]] = []

    def delete_some(route: Route) -> None:
        batch = route.request.post_data_json["ids"]
        batches.append(batch)
        results = []
        for image_id in batch:
            status, code, error = refusals.get(image_id, (200, "DELETED", None))
            results.append({"id": image_id, "status": status, "code": code, "error": error})
        failed = sum(result["status"] != 200 for result in results)
        route.fulfill(json={"results": results, "deleted": len(batch) - failed, "failed": failed})

    page.route(re.compile(r"/list\?"), lambda route: route.fulfill(json=listed))
    page.route("**/images/delete", delete_some)
    filter_grid(page, tag="mocked")
    expect(cards(page)).to_have_count(130)
    page.click("#select-all")
    expect(page.locator("#delete-selected")).to_have_text("Delete selected (130)")

    watch.confirm = True
    page.click("#delete-selected")

    expect(cards(page)).to_have_count(3)
    assert page.locator("#status").text_content() == (
        "127 deleted; 3 could not be deleted:\n"
        "\u201cmock 5.png\u201d: only the image's owner or an admin may change it\n"
        f"\u201cmock 120.png\u201d, \u201cmock 121.png\u201d: {busy}"
    )
    expect(page.locator("#status")).to_have_class("status")
    assert batches == [list(names)[:100], list(names)[100:]]
    assert watch.confirmed == ["Delete 130 images? This cannot be undone."]
    expect(page.locator("#delete-selected")).to_have_text("Delete selected (3)")  # still selected, to try again
