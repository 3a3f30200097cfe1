"""app.imaging.limits: the cost of an image read from its headers, and the API guide that states the limits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from app.imaging import limits as image_limits
from app.imaging.limits import MIB, Cost, OverLimitError
from app.settings import Settings
from tests import bombs

GUIDE = (Path(__file__).parents[2] / "docs" / "api.md").read_text()  # its "Limits" section
BUDGET = 384 * MIB


def cost_of(data: bytes) -> Cost:
    with Image.open(io.BytesIO(data)) as image:
        declared = image.size
        image.draft("RGB", (512, 512))
        return image_limits.measure(image, data, declared)


def test_the_budget_is_three_eighths_of_the_function_unless_set() -> None:
    assert Settings(memory_mb=1024, decode_budget_mb=0).decode_budget_bytes == BUDGET
    assert Settings(memory_mb=2048, decode_budget_mb=0).decode_budget_bytes == 768 * MIB
    assert Settings(memory_mb=1024, decode_budget_mb=100).decode_budget_bytes == 100 * MIB


def test_the_api_guide_states_the_limits_the_code_enforces() -> None:
    limits = image_limits.describe(BUDGET)
    for text in (
        f"**{limits['budget_mib']} MiB**",
        f"| still PNG or GIF | {limits['png_gif_mpx']} Mpx",
        f"| still WebP | {limits['webp_mpx']} Mpx",
        f"| baseline JPEG | {limits['declared_mpx']} Mpx declared",
        f"| progressive JPEG | about {limits['progressive_jpeg_mpx']} Mpx (4:2:0), and {limits['scan_mpx']:,} Mpx",
        f"| animation (GIF, PNG, WebP) | {limits['frames']:,} frames, and {limits['frame_mpx']} Mpx",
        f"| EXIF, ICC profile, XMP | {limits['metadata_mib']} MiB each",
    ):
        assert text in GUIDE, text


def test_a_still_png_costs_two_buffers_and_a_row_pointer_each_row() -> None:
    cost = cost_of(bombs.png(1000, 500, "rgb"))
    assert cost == Cost(image_limits.FIXED_BYTES + 2 * 500 * (1000 * 4 + 8), 500_000)


def test_a_gifs_frames_and_canvas_come_from_its_blocks_however_far_a_frame_sticks_out() -> None:
    assert image_limits.gif_frames(bombs.gif((10, 20), 7)) == (7, 10, 20)
    assert image_limits.gif_frames(bombs.gif((1, 1), 3, (800, 600))) == (3, 800, 600)
    assert image_limits.gif_frames(bombs.gif((5, 5), 5000))[0] == image_limits.MAX_FRAMES + 1  # stops counting
    assert image_limits.gif_frames(b"GIF89a") == (0, 0, 0)


def test_a_progressive_jpeg_counts_its_coefficients_and_scans() -> None:
    data = bombs.jpeg_many_scans((800, 800), 40)
    cost = cost_of(data)
    assert (cost.scans, cost.pixels) == (40, 640_000)
    # 4:2:0: 100 x 100 luma blocks and 50 x 50 of each chroma (plus a spare MCU), 64 coefficients of 2 bytes
    luma, chroma = (100 + 2) * (100 + 2), (50 + 1) * (50 + 1)
    assert cost.memory - cost_of(bombs._jpeg((800, 800))).memory == 2 * 64 * (luma + 2 * chroma)


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        (Cost(1, 1, frames=1001), "the animation has 1001 frames; this service decodes at most 1000"),
        (
            Cost(1, 2_000_000, frames=151),
            "its 151 frames of 2.0 Mpx each are 302 Mpx to decode; this service decodes at most 300 Mpx of frames",
        ),
        (
            Cost(1, 10_000_000, scans=151),
            "its 151 scans of 10.0 Mpx each are 1510 Mpx to decode; this service decodes at most 1500 Mpx of scans",
        ),
        (
            Cost(BUDGET + 1, 1),
            "decoding it takes about 385 MiB; "
            "this service decodes images of up to 384 MiB (a still PNG of about 48 Mpx)",
        ),
    ],
)
def test_each_limit_is_named_when_it_refuses(cost: Cost, message: str) -> None:
    with pytest.raises(OverLimitError) as refused:
        image_limits.check(cost, BUDGET)
    assert str(refused.value) == message


def test_costs_just_within_every_limit_pass() -> None:
    image_limits.check(Cost(BUDGET, 1_000_000, frames=300), BUDGET)
    image_limits.check(Cost(1, 10_000_000, scans=150), BUDGET)
