"""app.logic.listing rules that need no storage: the cursor."""

from __future__ import annotations

import base64

import pytest

from app.errors import InvalidInputError
from app.logic import listing
from app.web.resolver import status_of


def test_cursor_round_trip() -> None:
    position = "1795440195364#90fb11ee-1537-4b53-8c76-6bbbbfea69ac"

    cursor = listing.encode_cursor(position)

    assert "=" not in cursor
    assert "#" not in cursor
    assert listing.decode_cursor(cursor) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        base64.urlsafe_b64encode(b"1795440195364#not-an-id").decode(),
        base64.urlsafe_b64encode(b'{"id": {"S": "x"}}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        listing.encode_cursor("1795440195364#90fb11ee-1537-4b53-8c76-6bbbbfea69ac") + "x",
    ],
)
def test_cursors_this_api_did_not_make_are_400(cursor: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        listing.decode_cursor(cursor)
    assert (status_of(error.value), error.value.code) == (400, "INVALID_CURSOR")


def test_tag_items_carry_everything_a_listing_shows() -> None:
    from app import records
    from app.models import ImageSummary

    # Derived in the route: filename (from key) and thumbnail_url (signed from thumbnail_key).
    derived = {"filename": "key", "thumbnail_url": "thumbnail_key"}
    needed = {derived.get(name, name) for name in ImageSummary.model_fields}

    assert needed <= set(records.TAG_ITEM_FIELDS)
