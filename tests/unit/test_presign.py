"""Presigned URLs that stay the same within a window (app/storage/store.py, clients.signed_as_of)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from app import storage
from app.storage import ImageStore, clients, store


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("URL_WINDOW", "900")
    storage.reset_clients()
    yield
    storage.reset_clients()


def signed(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query)
    return query["X-Amz-Date"][0], query["X-Amz-Expires"][0]


def test_urls_within_one_window_are_identical_and_the_next_window_signs_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    start = 1_800_000_000 // 900 * 900
    monkeypatch.setattr(store.time, "time", lambda: start + 1.5)
    first = ImageStore().presigned_get("a.png", 3600)
    monkeypatch.setattr(store.time, "time", lambda: start + 899.9)
    same = ImageStore().presigned_get("a.png", 3600)
    monkeypatch.setattr(store.time, "time", lambda: start + 900)
    later = ImageStore().presigned_get("a.png", 3600)

    assert first == same
    assert signed(first) == ("20270115T080000Z", "4500")  # the window's start; valid 3600 s past its end
    assert signed(later) == ("20270115T081500Z", "4500")


def test_only_signatures_made_inside_signed_as_of_are_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    with clients.signed_as_of(1_000_000_000):
        inside = clients.presign_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    outside = clients.presign_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})

    assert signed(inside)[0] == "20010909T014640Z"
    assert signed(outside)[0] != signed(inside)[0]


def test_url_stays_for_counts_down_to_the_end_of_the_window() -> None:
    assert store.url_stays_for(now=1_800_000_000 // 900 * 900 + 100) == 800


def test_other_signatures_in_the_same_thread_keep_the_real_clock() -> None:
    """A credential refresh (an STS call) set off by presigning must not be signed in the past."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url="https://sts.amazonaws.com/", data=b"")
    with clients.signed_as_of(1_000_000_000):
        botocore.auth.SigV4Auth(Credentials("a", "b"), "sts", "us-east-1").add_auth(request)

    assert not request.headers["X-Amz-Date"].startswith("2001")


def test_nested_windows_restore_the_outer_moment() -> None:
    def date() -> str:
        return signed(
            clients.presign_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
        )[0]

    with clients.signed_as_of(1_000_000_000):
        with clients.signed_as_of(1_100_000_000):
            inner = date()
        outer = date()

    assert (inner[:4], outer) == ("2004", "20010909T014640Z")
