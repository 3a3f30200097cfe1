"""Tags and filters, download and redirect, API keys and the published OpenAPI document, over HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.client import Target, next_link

pytestmark = pytest.mark.e2e
DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def tagged(target: Target) -> Iterator[list[dict[str, object]]]:
    fields = [
        ("user=e2e-filter-a", "tags=e2e-sunset,beach", f"file=@{DATA / 'sample.png'};filename=Été Sunset.png"),
        ("user=e2e-filter-b", "tags=e2e-sunset", f"file=@{DATA / 'sample.jpg'};filename=sunrise.jpg"),
        ("user=e2e-filter-a", "tags=forest", f"file=@{DATA / 'sample.jpg'};filename=trees.jpg"),
    ]
    created = [target.upload(*f).json() for f in fields]
    yield created
    for image in created:
        target.delete(f"/delete/{image['id']}")


def ids(target: Target, query: str) -> list[str]:
    found: list[str] = []
    url: str | None = f"{target.base_url}/list?{query}"
    while url:
        response = target.get(url)
        assert response.status_code == 200, response.text
        found += [item["id"] for item in response.json()]
        url = next_link(response)
    return found


def test_filters_by_tag_user_name_and_order(target: Target, tagged: list[dict[str, str]]) -> None:
    a, b, c = (image["id"] for image in tagged)

    assert ids(target, "tag=E2E-Sunset&limit=1") == [b, a]
    assert ids(target, "tag=e2e-sunset&user=e2e-filter-a") == [a]
    assert ids(target, "user=e2e-filter-a&order=oldest") == [a, c]
    assert ids(target, "user=e2e-filter-a&name_contains=SUNSET") == [a]
    assert ids(target, "tag=e2e-sunset&from=2000-01-01&to=2000-12-31") == []


def test_download_and_redirect(target: Target, tagged: list[dict[str, str]]) -> None:
    image = tagged[0]

    attachment = target.get(f"/view/{image['id']}?download=1").json()["url"]
    saved = target.get(attachment, with_key=False)
    redirect = target.get(f"/view/{image['id']}?redirect=1", allow_redirects=False)
    followed = target.get(redirect.headers["Location"], with_key=False)

    assert saved.status_code == 200
    assert saved.headers["Content-Disposition"] == (
        "attachment; filename=\"Ete Sunset.png\"; filename*=utf-8''%C3%89t%C3%A9%20Sunset.png"
    )
    assert redirect.status_code == 302
    assert followed.status_code == 200
    assert followed.content == (DATA / "sample.png").read_bytes()
    assert followed.headers["Content-Disposition"].startswith("inline;")


def test_api_key_is_required_when_deployed_with_one(target: Target) -> None:
    if target.api_key is None:
        if os.environ.get("E2E_EXPECT_API_KEY") == "1":
            pytest.fail("E2E_EXPECT_API_KEY=1 but the API does not require a key", pytrace=False)
        pytest.skip("this API was deployed without an API key (bash deploy.sh --api-key turns it on)")

    without = target.get("/list?limit=1", with_key=False)
    wrong = target.get("/list?limit=1", with_key=False, headers={"x-api-key": "not-the-key"})
    upload = target.upload("user=e2e", f"file=@{DATA / 'sample.png'}", with_key=False)
    with_key = target.get("/list?limit=1")

    assert (without.status_code, without.json()) == (403, {"message": "Forbidden"})
    assert wrong.status_code == 403
    assert upload.status == 403
    assert with_key.status_code == 200


def test_the_openapi_document_and_swagger_ui_are_served(target: Target) -> None:
    document = target.get("/openapi.json")
    swagger = target.get("/swagger")

    assert document.status_code == 200
    assert document.json() == json.loads((DATA.parent.parent / "openapi.json").read_text())
    assert swagger.status_code == 200
    assert "SwaggerUIBundle" in swagger.text
