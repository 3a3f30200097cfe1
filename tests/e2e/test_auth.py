"""AUTH=jwt over HTTP with real tokens of the dev issuer: ownership, visibility and every bad token.

Against the local server the suite starts two of its own (shared and private);
against LocalStack it needs `bash deploy.sh --auth jwt [--visibility private]`
(CI deploys it so and runs this module) and otherwise skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from deploy import dev_issuer
from localserver.launcher import local_server
from tests.e2e.client import Target, doc_block
from tests.tokens import made_admin

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "tests" / "data" / "sample.png"
RUN = uuid.uuid4().hex[:8]
ALICE, BOB, ADMIN = f"alice-{RUN}", f"bob-{RUN}", f"admin-{RUN}"


@pytest.fixture(scope="module", params=["shared", "private"])
def api(request: pytest.FixtureRequest, target: Target) -> Iterator[tuple[Target, str]]:
    """A signed-in API of this visibility, and the visibility."""
    visibility = str(request.param)
    if os.environ.get("E2E_TARGET") == "local":
        with local_server(env={"AUTH": "jwt", "VISIBILITY": visibility}) as server:
            yield Target(server.base_url, server.aws_endpoint, s3_notifies=False), visibility
        return
    config = requests.get(f"{target.base_url}/auth.json", timeout=30).json()
    if config["auth"] != "jwt":
        if os.environ.get("E2E_EXPECT_AUTH") == "jwt":
            pytest.fail("E2E_EXPECT_AUTH=jwt but the API does not sign users in", pytrace=False)
        pytest.skip("this API was deployed without sign-in (bash deploy.sh --auth jwt)")
    if config["visibility"] != visibility:
        pytest.skip(f"this API's images are {config['visibility']}")
    yield target, visibility


def as_user(user: str, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_issuer.token(user, admin)}"}


def upload(api: Target, headers: dict[str, str]) -> requests.Response:
    files = {"file": ("mine.png", SAMPLE.read_bytes(), "image/png")}
    return requests.post(f"{api.base_url}/upload", files=files, data={"tags": "auth"}, headers=headers, timeout=60)


def assert_401(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert set(response.json()) == {"error", "code", "request_id"}
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="image-api"')


def state(api: Target, image_id: str) -> tuple[int, Any]:
    """What the owner sees of an image: nothing changed by any refused request."""
    view = requests.get(f"{api.base_url}/view/{image_id}", headers=as_user(ALICE), timeout=30)
    return view.status_code, {k: v for k, v in view.json().items() if not k.endswith("url")}


def test_owners_and_admins_change_images_others_do_not(api: tuple[Target, str]) -> None:
    target, visibility = api
    created = upload(target, as_user(ALICE))
    assert (created.status_code, created.json()["user"]) == (201, ALICE)
    image_id = created.json()["id"]
    before = state(target, image_id)

    by_bob = requests.delete(f"{target.base_url}/delete/{image_id}", headers=as_user(BOB), timeout=30)
    seen_by_bob = requests.get(f"{target.base_url}/view/{image_id}", headers=as_user(BOB), timeout=30)
    bobs_list = requests.get(f"{target.base_url}/list", params={"user": ALICE}, headers=as_user(BOB), timeout=30)
    alices_list = requests.get(f"{target.base_url}/list?mine=1", headers=as_user(ALICE), timeout=30)
    claimed = requests.post(
        f"{target.base_url}/upload",
        files={"file": ("x.png", SAMPLE.read_bytes())},
        data={"user": ALICE},
        headers=as_user(BOB),
        timeout=60,
    )

    if visibility == "private":
        assert (by_bob.status_code, seen_by_bob.status_code, bobs_list.json()) == (404, 404, [])
    else:
        assert (by_bob.status_code, by_bob.json()["code"]) == (403, "NOT_OWNER")
        assert seen_by_bob.status_code == 200
        assert [item["id"] for item in bobs_list.json()] == [image_id]
    assert (claimed.status_code, claimed.json()["code"]) == (403, "USER_MISMATCH")
    assert [item["id"] for item in alices_list.json()] == [image_id]
    assert state(target, image_id) == before
    by_admin = requests.delete(f"{target.base_url}/delete/{image_id}", headers=as_user(ADMIN, admin=True), timeout=30)
    assert by_admin.status_code == 200
    assert state(target, image_id)[0] == 404


def bad_tokens() -> dict[str, str | None]:
    now_claims = dev_issuer.claims(ALICE)
    return {
        "missing": None,
        "malformed": "Bearer not-a-token",
        "expired": f"Bearer {dev_issuer.token(ALICE, minutes=-10)}",
        "tampered": f"Bearer {made_admin(dev_issuer.token(ALICE))}",
        "alg none": f"Bearer {jwt.encode(now_claims, None, 'none')}",
        "wrong audience": f"Bearer {dev_issuer.token(ALICE, aud='another-app')}",
        "wrong issuer": f"Bearer {dev_issuer.token(ALICE, iss='https://issuer.example')}",
        "not bearer": "Basic YWxpY2U6cGFzc3dvcmQ=",
    }


def test_every_bad_token_is_a_401_and_nothing_changes(api: tuple[Target, str]) -> None:
    target, _ = api
    image_id = upload(target, as_user(ALICE)).json()["id"]
    before = state(target, image_id)

    for kind, header in bad_tokens().items():
        headers = {} if header is None else {"Authorization": header}
        for response in (
            requests.delete(f"{target.base_url}/delete/{image_id}", headers=headers, timeout=30),
            requests.delete(f"{target.base_url}/v1/images/{image_id}", headers=headers, timeout=30),
            requests.get(f"{target.base_url}/list", headers=headers, timeout=30),
            upload(target, headers),
        ):
            assert response.status_code == 401, (kind, response.text)
            if not response.request.url or "/v1/" not in response.request.url:
                assert_401(response)
    assert state(target, image_id) == before
    requests.delete(f"{target.base_url}/delete/{image_id}", headers=as_user(ALICE), timeout=30)


def test_the_pages_and_how_to_sign_in_are_public(api: tuple[Target, str]) -> None:
    target, visibility = api

    config = requests.get(f"{target.base_url}/auth.json", timeout=30)
    page = requests.get(f"{target.base_url}/", timeout=30)

    assert config.json()["auth"] == "jwt"
    assert config.json()["visibility"] == visibility
    assert page.status_code == 200


def test_the_readme_sign_in_commands_work_as_printed(api: tuple[Target, str]) -> None:
    target, visibility = api
    script = doc_block("docs/api.md", "### Sign-in")
    if os.environ.get("E2E_TARGET") == "local":  # make ls-api finds `make dev`'s server; here it is another
        assert script.startswith('eval "$(make -s ls-api)"')
        script = f"BASE={target.base_url}\n" + script.split("\n", 1)[1]

    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)

    lines = result.stdout.replace("}{", "}\n{").splitlines()
    assert result.returncode == 0, result.stderr
    assert [json.loads(line).get("code") for line in lines] == [
        "UNAUTHENTICATED",
        None,  # alice's upload
        "NOT_OWNER" if visibility == "shared" else "NOT_FOUND",
        None,  # the admin's delete
    ]
    assert json.loads(lines[1])["user"] == "alice"
    assert json.loads(lines[3])["deleted"] == json.loads(lines[1])["id"]
