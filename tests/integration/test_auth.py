"""AUTH=jwt through lambda_handler: who the caller is, what they may see and change, and every bad token."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app import identity, storage
from deploy import dev_issuer
from tests.curl_form import curl_form
from tests.events import DATA
from tests.integration.lambda_client import Reply, call, stored
from tests.tokens import made_admin

ISSUER = "https://issuer.test.example"  # not the dev issuer, which only an endpoint of its own may trust


def token(user: str, admin: bool = False, **changes: Any) -> str:
    return dev_issuer.token(user, admin, **{"iss": ISSUER, **changes})


def bearer(user: str, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, admin)}"}


@pytest.fixture(autouse=True)
def jwt_mode(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUTH", "jwt")
    monkeypatch.setenv("JWT_ISSUER", ISSUER)
    monkeypatch.setenv("JWT_AUDIENCE", "image-api-dev")
    monkeypatch.setenv("JWT_JWKS", dev_issuer.jwks())
    storage.reset_clients()
    identity.key_set.cache_clear()
    yield
    identity.key_set.cache_clear()


@pytest.fixture
def private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY", "private")
    storage.reset_clients()


def alices_image() -> dict[str, Any]:
    body = {"image_name": "a.png", "file": base64.b64encode((DATA / "sample.png").read_bytes()).decode()}
    headers = {"Content-Type": "application/json", **bearer("alice")}
    reply = call("POST", "/v1/images", headers=headers, body=json.dumps(body).encode())
    assert reply.status == 201, reply.body
    return dict(reply.json())


def assert_401(reply: Reply, message: str, given: bool = True) -> None:
    assert reply.status == 401, reply.body
    assert (reply.json()["code"], reply.json()["error"]) == ("UNAUTHENTICATED", message)
    expected = 'Bearer realm="image-api"' + (', error="invalid_token"' if given else "")
    assert reply.headers["WWW-Authenticate"] == expected


def foreign_key_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(dev_issuer.claims("alice", iss=ISSUER), key, "RS256", headers={"kid": dev_issuer.key_id()})


def public_key_hmac_token() -> str:
    """The classic confusion: HS256 "signed" with the issuer's public key as the secret."""
    import hmac
    from hashlib import sha256

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing = f"{part({'alg': 'HS256', 'kid': dev_issuer.key_id()})}.{part(dev_issuer.claims('alice', iss=ISSUER))}"
    secret = json.loads(dev_issuer.jwks())["keys"][0]["n"].encode()
    signature = base64.urlsafe_b64encode(hmac.new(secret, signing.encode(), sha256).digest()).rstrip(b"=").decode()
    return f"{signing}.{signature}"


BAD_TOKENS = {
    "expired": (lambda: token("alice", exp=1_000_000_000), "the token has expired"),
    "not yet valid": (lambda: token("alice", nbf=4_000_000_000), "the token is not valid"),
    "tampered": (lambda: made_admin(token("alice")), "the token is not valid"),
    "alg none": (
        lambda: jwt.encode(dev_issuer.claims("alice", iss=ISSUER), None, "none"),
        "the token must be signed with RS256",
    ),
    "hs256 with the public key": (public_key_hmac_token, "the token must be signed with RS256"),
    "another key": (foreign_key_token, "the token is not valid"),
    "wrong audience": (lambda: token("alice", aud="someone-else"), "the token is for another application"),
    "wrong issuer": (lambda: token("alice", iss="https://evil.example"), "the token is from another issuer"),
    "dev issuer here": (lambda: dev_issuer.token("alice"), "the token is from another issuer"),
    "no user": (
        lambda: token("alice", **{"cognito:username": None}),
        "the token's cognito:username is not a user name this service takes",
    ),
    "user with a trailing newline": (
        lambda: token("alice\n"),  # would be stored as alice\n: shown as alice, found by no filter
        "the token's cognito:username is not a user name this service takes",
    ),
    "user with a newline first": (
        lambda: token("\nalice"),
        "the token's cognito:username is not a user name this service takes",
    ),
    "malformed": (lambda: "not.a.jwt", "the token is not valid"),
    "garbage": (lambda: "%%%", "the token is not valid"),
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_every_bad_token_is_a_401_and_changes_nothing(aws: dict[str, Any], kind: str) -> None:
    image = alices_image()
    before = stored(aws)
    make, message = BAD_TOKENS[kind]
    headers = {"Authorization": f"Bearer {make()}"}

    content_type, form = curl_form("file=@sample.jpg", cwd=str(DATA))
    replies = [
        call("DELETE", f"/delete/{image['image_id']}", headers=headers),
        call("GET", "/list", headers=headers),
        call("GET", f"/view/{image['image_id']}", headers=headers),
        call("POST", "/upload", headers={"Content-Type": content_type, **headers}, body=form),
    ]

    for reply in replies:
        assert_401(reply, message)
    assert stored(aws) == before


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "bearer"])
def test_a_missing_token_is_a_401_that_says_how_to_sign_in(header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}

    reply = call("GET", "/list", headers=headers)

    assert_401(reply, "sign in: send Authorization: Bearer <token>", given=bool(header))


def test_the_v1_face_answers_401_in_its_own_shape() -> None:
    reply = call("GET", "/v1/images", query={"user_id": "alice"})

    assert reply.status == 401
    assert reply.json()["error"] == "Unauthorized"
    assert reply.json()["message"] == "sign in: send Authorization: Bearer <token>"


def test_public_pages_need_no_token() -> None:
    for path in ("/", "/openapi.json", "/gallery.js"):
        assert call("GET", path).status == 200, path
    assert call("GET", "/auth.json").json() == {
        "auth": "jwt",
        "visibility": "shared",
        "sign_in_url": None,
        "client_id": "image-api-dev",
        "user_claim": "cognito:username",
        "admin_claim": "cognito:groups",
        "admin_group": "admin",
        "max_upload_bytes": 4 * 1024 * 1024,
        "max_direct_upload_bytes": 50 * 1024 * 1024,
    }


def test_an_upload_belongs_to_the_token_user_and_naming_another_is_403(aws: dict[str, Any]) -> None:
    def form_upload(*fields: str, user: str = "alice") -> Reply:
        content_type, body = curl_form(*fields, cwd=str(DATA))
        return call("POST", "/upload", headers={"Content-Type": content_type, **bearer(user)}, body=body)

    mine = form_upload("file=@sample.png")
    named = form_upload("user=alice", "file=@sample.jpg")
    other = form_upload("user=bob", "file=@sample.jpg")

    assert (mine.status, mine.json()["user"]) == (201, "alice")
    assert (named.status, named.json()["user"]) == (201, "alice")
    assert (other.status, other.json()["code"]) == (403, "USER_MISMATCH")
    assert other.json()["error"] == "user must be the signed-in user (alice) or left out"
    assert len(stored(aws)[1]) == 2


def test_only_the_owner_or_an_admin_deletes(aws: dict[str, Any]) -> None:
    image_id = alices_image()["image_id"]

    by_bob = call("DELETE", f"/delete/{image_id}", headers=bearer("bob"))
    by_bob_v1 = call("DELETE", f"/v1/images/{image_id}", headers=bearer("bob"))
    seen_by_bob = call("GET", f"/view/{image_id}", headers=bearer("bob"))
    by_admin = call("DELETE", f"/v1/images/{image_id}", headers=bearer("root", admin=True))

    assert (by_bob.status, by_bob.json()["code"]) == (403, "NOT_OWNER")
    assert (by_bob_v1.status, by_bob_v1.json()["error"], by_bob_v1.json()["code"]) == (403, "Forbidden", "NOT_OWNER")
    assert seen_by_bob.status == 200, "shared: everyone signed in sees every image"
    assert by_admin.status == 200
    assert stored(aws) == ([], [])


def test_only_the_owner_or_an_admin_edits(aws: dict[str, Any]) -> None:
    image_id = alices_image()["image_id"]
    headers = {"Content-Type": "application/json"}

    def edit(user: str, description: str, admin: bool = False) -> Reply:
        body = json.dumps({"description": description}).encode()
        return call("PATCH", f"/images/{image_id}", headers={**headers, **bearer(user, admin)}, body=body)

    by_bob = edit("bob", "bob's")
    assert (by_bob.status, by_bob.json()["code"]) == (403, "NOT_OWNER")
    assert edit("alice", "alice's").status == 200
    assert edit("root", "root's", admin=True).status == 200
    assert call("GET", f"/images/{image_id}", headers=bearer("bob")).json()["description"] == "root's"
    assert call("PATCH", f"/images/{image_id}", headers=headers, body=b'{"tags": []}').status == 401


def test_a_batch_deletes_only_what_its_caller_may(aws: dict[str, Any]) -> None:
    alices = alices_image()["image_id"]
    body = {"image_name": "b.png", "file": base64.b64encode((DATA / "sample.jpg").read_bytes()).decode()}
    headers = {"Content-Type": "application/json", **bearer("bob")}
    bobs = call("POST", "/v1/images", headers=headers, body=json.dumps(body).encode()).json()["image_id"]

    reply = call("POST", "/images/delete", headers=headers, body=json.dumps({"ids": [alices, bobs]}).encode())

    assert [(item["status"], item["code"]) for item in reply.json()["results"]] == [
        (403, "NOT_OWNER"),
        (200, "DELETED"),
    ]
    assert [row["id"] for row in stored(aws)[1]] == [alices]


def test_the_owner_deletes_their_own() -> None:
    image_id = alices_image()["image_id"]

    assert call("DELETE", f"/delete/{image_id}", headers=bearer("alice")).status == 200


def test_only_the_owner_completes_a_direct_upload() -> None:
    body = json.dumps({"filename": "d.png", "content_type": "image/png", "size": 100}).encode()
    started = call("POST", "/uploads", headers={"Content-Type": "application/json", **bearer("alice")}, body=body)

    by_bob = call("POST", f"/uploads/{started.json()['id']}/complete", headers=bearer("bob"))
    by_alice = call("POST", f"/uploads/{started.json()['id']}/complete", headers=bearer("alice"))

    assert started.status == 201
    assert (by_bob.status, by_bob.json()["code"]) == (403, "NOT_OWNER")
    assert (by_alice.status, by_alice.json()["code"]) == (409, "NOT_UPLOADED")


@pytest.mark.usefixtures("private")
def test_private_images_do_not_exist_for_others(aws: dict[str, Any]) -> None:
    image_id = alices_image()["image_id"]
    before = stored(aws)

    view = call("GET", f"/view/{image_id}", headers=bearer("bob"))
    v1_get = call("GET", f"/v1/images/{image_id}", headers={"Accept": "image/*", **bearer("bob")})
    delete = call("DELETE", f"/delete/{image_id}", headers=bearer("bob"))
    listing = call("GET", "/list", headers=bearer("bob"))
    asked_for_alice = call("GET", "/list", query={"user": "alice"}, headers=bearer("bob"))
    v1_listing = call("GET", "/v1/images", query={"user_id": "alice"}, headers=bearer("bob"))

    assert [view.status, v1_get.status, delete.status] == [404, 404, 404]
    assert (listing.json(), asked_for_alice.json()) == ([], [])
    assert v1_listing.json()["total_count"] == 0
    assert stored(aws) == before
    assert [i["id"] for i in call("GET", "/list", headers=bearer("alice")).json()] == [image_id]
    assert [i["id"] for i in call("GET", "/list", headers=bearer("admin", admin=True)).json()] == [image_id]
    assert call("GET", f"/view/{image_id}", headers=bearer("admin", admin=True)).status == 200


def test_mine_narrows_a_listing_to_the_caller() -> None:
    image_id = alices_image()["image_id"]

    assert [i["id"] for i in call("GET", "/list", query={"mine": "1"}, headers=bearer("alice")).json()] == [image_id]
    assert call("GET", "/list", query={"mine": "1"}, headers=bearer("bob")).json() == []


def test_the_keys_are_read_again_at_most_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []
    load = identity.KeySet._load
    monkeypatch.setattr(identity.KeySet, "_load", lambda self: reads.append(1) or load(self))
    unknown = jwt.encode(dev_issuer.claims("alice", iss=ISSUER), dev_issuer.private_key(), "RS256", {"kid": "new"})

    for _ in range(3):
        call("GET", "/list", headers=bearer("alice"))
        assert_401(call("GET", "/list", headers={"Authorization": f"Bearer {unknown}"}),
                   "the token is signed with a key this issuer does not have")  # fmt: skip

    assert len(reads) == 1
