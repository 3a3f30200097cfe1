"""The gallery page as the function serves it: what its file picker offers comes from the service's own types."""

from __future__ import annotations

import re
from typing import Any

from app.logic.files import ACCEPTED_TYPES
from tests.integration.lambda_client import call


def test_the_file_picker_offers_every_accepted_type_by_media_type_and_extension(aws: dict[str, Any]) -> None:
    reply = call("GET", "/")

    assert reply.status == 200
    [accept] = re.findall(r'<input id="files" type="file" accept="([^"]+)" multiple>', reply.body)
    offered = accept.split(",")
    extensions = [".avif", ".gif", ".heic", ".heif", ".jpeg", ".jpg", ".png", ".webp"]
    assert offered == [*ACCEPTED_TYPES, "image/heif", *extensions]
    assert {"image/avif", "image/heic"} <= set(offered)  # the two the old picker left out
