"""An image id is never made twice, retried or not: every keyed route, after its record expired.

The hostile run's finding: `POST /uploads` with `Idempotency-Key: K` gave id X; upload,
complete, delete X; once K's record had expired, the same request with K gave X again,
and after the new upload the old presigned URL served the new bytes (objects are stored
`immutable` for a year, on the promise that ids are never reused). Ids were derived
from the request; now a request claims a new id, and names it again only while that
image's row exists.

Records expire in two ways: past their `expiration` (DynamoDB deletes them up to two
days later, and a retry meanwhile must read them as gone), or deleted by the time to live.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.lambda_client import Reply, call, stored, upload
from tests.integration.test_idempotency import PNG, forget_answers, start_direct, v1_post

EXPIRIES = ["past its expiration", "deleted by the time to live"]


def expire_every_record(aws: dict[str, Any], how: str) -> None:
    """Every record and claim of the idempotency table, as it is once IDEMPOTENCY_EXPIRES_IN has passed."""
    dynamodb = aws["dynamodb"]
    for item in dynamodb.scan(TableName="images-idempotency")["Items"]:
        key = {"id": item["id"]}
        if how == EXPIRIES[0]:
            dynamodb.update_item(
                TableName="images-idempotency",
                Key=key,
                UpdateExpression="SET expiration = :past",
                ExpressionAttributeValues={":past": {"N": "1"}},
            )
        else:
            dynamodb.delete_item(TableName="images-idempotency", Key=key)


def keyed() -> dict[str, str]:
    return {"Idempotency-Key": f"K-{uuid.uuid4()}"}


def object_keys(aws: dict[str, Any]) -> list[str]:
    return stored(aws)[0]


def not_replayed(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert "Idempotent-Replayed" not in reply.headers
    return dict(reply.json())


@pytest.mark.parametrize("how", EXPIRIES)
def test_a_direct_upload_retried_after_its_image_was_deleted_gets_a_new_id(aws: dict[str, Any], how: str) -> None:
    """The hostile run's sequence, exactly."""
    headers = keyed()
    first = not_replayed(start_direct(headers, size=len(PNG)), 201)
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{first['id']}", Body=PNG, ContentType="image/png")
    ready = call("POST", f"/uploads/{first['id']}/complete").json()
    assert call("DELETE", f"/delete/{first['id']}").status == 200
    expire_every_record(aws, how)

    again = not_replayed(start_direct(headers, size=len(PNG)), 201)

    assert again["id"] != first["id"]
    assert again["upload"]["fields"]["key"] == f"incoming/{again['id']}"
    assert ready["filename"] not in object_keys(aws)  # the old URL's object stays gone: nothing will be written there


@pytest.mark.parametrize("how", EXPIRIES)
def test_a_direct_upload_retried_after_expiry_while_its_image_lives_is_a_new_upload(
    aws: dict[str, Any], how: str
) -> None:
    """Within the claim's life the same retry is a 409 ALREADY_UPLOADED (test_idempotency); after it,
    the request is a new one: a new id and a new form, the processed image untouched."""
    headers = keyed()
    first = start_direct(headers, size=len(PNG)).json()
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{first['id']}", Body=PNG, ContentType="image/png")
    assert call("POST", f"/uploads/{first['id']}/complete").json()["status"] == "ready"
    expire_every_record(aws, how)

    again = not_replayed(start_direct(headers, size=len(PNG)), 201)

    assert again["id"] != first["id"]
    assert sorted(row["status"] for row in stored(aws)[1]) == ["pending", "ready"]


@pytest.mark.parametrize("how", EXPIRIES)
def test_an_upload_retried_after_its_image_was_deleted_gets_a_new_id(aws: dict[str, Any], how: str) -> None:
    headers = keyed()
    first = not_replayed(upload("user=alice", "file=@sample.png", headers=headers), 201)
    old_key = call("GET", f"/view/{first['id']}").json()["filename"]
    assert call("DELETE", f"/delete/{first['id']}").status == 200
    expire_every_record(aws, how)

    again = not_replayed(upload("user=alice", "file=@sample.png", headers=headers), 201)

    assert again["id"] != first["id"]
    assert old_key not in object_keys(aws)
    assert [row["id"] for row in stored(aws)[1]] == [again["id"]]


@pytest.mark.parametrize("how", EXPIRIES)
def test_an_upload_retried_while_its_image_lives_is_answered_with_it_not_stored_again(
    aws: dict[str, Any], how: str
) -> None:
    headers = keyed()
    first = upload("user=alice", "file=@sample.png", headers=headers).json()
    expire_every_record(aws, how)

    again = not_replayed(upload("user=alice", "file=@sample.png", headers=headers), 200)

    assert (again["id"], again["duplicate"]) == (first["id"], True)  # as without a key: her image, not a new one
    assert len(stored(aws)[1]) == 1


@pytest.mark.usefixtures("repeats_stored")
@pytest.mark.parametrize("how", EXPIRIES)
def test_where_repeats_are_stored_an_expired_retry_is_a_second_image_with_its_own_id(
    aws: dict[str, Any], how: str
) -> None:
    headers = keyed()
    first = upload("user=alice", "file=@sample.png", headers=headers).json()
    expire_every_record(aws, how)
    again = not_replayed(upload("user=alice", "file=@sample.png", headers=headers), 201)
    assert again["id"] != first["id"]
    assert len(stored(aws)[1]) == 2


@pytest.mark.parametrize("how", EXPIRIES)
def test_a_v1_upload_retried_after_expiry_gets_a_new_id_or_a_409(aws: dict[str, Any], how: str) -> None:
    headers = keyed()
    first = v1_post(headers).json()
    expire_every_record(aws, how)
    refused = v1_post(headers)
    assert (refused.status, refused.json()["code"]) == (409, "DUPLICATE_IMAGE")  # the image lives: never its id again
    assert call("DELETE", f"/v1/images/{first['image_id']}").status == 200
    expire_every_record(aws, how)

    again = not_replayed(v1_post(headers), 201)

    assert again["image_id"] != first["image_id"]


@pytest.mark.parametrize("how", EXPIRIES)
@pytest.mark.parametrize("route", ["/delete/{id}", "/v1/images/{id}"])
def test_a_delete_retried_after_expiry_is_carried_out_again_and_finds_it_gone(
    aws: dict[str, Any], how: str, route: str
) -> None:
    image = upload("user=alice", "file=@sample.png").json()
    headers = keyed()
    assert call("DELETE", route.format(id=image["id"]), headers=headers).status == 200
    expire_every_record(aws, how)
    again = call("DELETE", route.format(id=image["id"]), headers=headers)
    assert (again.status, again.json()["code"]) == (404, "NOT_FOUND")
    assert "Idempotent-Replayed" not in again.headers


@pytest.mark.parametrize("how", EXPIRIES)
def test_an_edit_retried_after_expiry_is_made_again(aws: dict[str, Any], how: str) -> None:
    image = upload("user=alice", "file=@sample.png").json()
    headers = {"Content-Type": "application/json", **keyed()}
    body = json.dumps({"description": "edited"}).encode()
    assert call("PATCH", f"/images/{image['id']}", headers=headers, body=body).status == 200
    expire_every_record(aws, how)
    again = not_replayed(call("PATCH", f"/images/{image['id']}", headers=headers, body=body), 200)
    assert (again["id"], again["description"]) == (image["id"], "edited")


@pytest.mark.parametrize("how", EXPIRIES)
def test_a_batch_delete_retried_after_expiry_finds_its_images_gone(aws: dict[str, Any], how: str) -> None:
    image = upload("user=alice", "file=@sample.png").json()
    headers = {"Content-Type": "application/json", **keyed()}
    body = json.dumps({"ids": [image["id"]]}).encode()
    assert call("POST", "/images/delete", headers=headers, body=body).json()["deleted"] == 1
    expire_every_record(aws, how)
    again = not_replayed(call("POST", "/images/delete", headers=headers, body=body), 200)
    assert [(result["id"], result["status"]) for result in again["results"]] == [(image["id"], 404)]


def test_a_retry_whose_image_is_gone_claims_a_new_id_which_its_next_retry_finds(aws: dict[str, Any]) -> None:
    """Within the claim's life: attempt 1 stored X and died unanswered; X was deleted; attempt 2
    stores Y and dies unanswered too; attempt 3 finds Y, not a third image."""
    headers = keyed()
    first = upload("user=alice", "file=@sample.png", headers=headers).json()
    forget_answers(aws)
    assert call("DELETE", f"/delete/{first['id']}").status == 200
    second = not_replayed(upload("user=alice", "file=@sample.png", headers=headers), 201)
    forget_answers(aws)
    third = not_replayed(upload("user=alice", "file=@sample.png", headers=headers), 201)

    assert second["id"] != first["id"]
    assert third["id"] == second["id"]
    assert [row["id"] for row in stored(aws)[1]] == [second["id"]]
