"""The bomb catalogue (tests/bombs.py): each hostile image is refused, or accepted when it is within
the limits, by a handler whose peak memory stays under the decode budget, that never hangs, and whose
error message is fit for a client.

The whole catalogue runs once, in a separate warm process that forks for each case
(tests/bomb_runner.py), so each peak is that of one request alone.
"""

from __future__ import annotations

import pytest

from app.settings import MIB, Settings
from tests.bomb_runner import MEMORY_MB, Measured, run
from tests.bombs import CATALOGUE, Bomb
from tests.hygiene import assert_clean_message

BUDGET_MIB = Settings(memory_mb=MEMORY_MB, decode_budget_mb=0).decode_budget_bytes // MIB
# A guard against a hang (a decoder looping), not a speed target: how long each case takes is
# `make bench`'s to report (hostile images), since a busy machine can double any time here.
HANG_SECONDS = 60.0


@pytest.fixture(scope="module")
def measured() -> dict[str, Measured]:
    return {result.name: result for result in run([bomb.name for bomb in CATALOGUE])}


@pytest.fixture(scope="module")
def measured_unstripped() -> dict[str, Measured]:
    """The metadata bombs with STRIP_METADATA=false: the metadata reaches Pillow, and the limits."""
    names = [bomb.name for bomb in CATALOGUE if bomb.stripped]
    return {result.name: result for result in run(names, env={"STRIP_METADATA": "false"})}


@pytest.mark.parametrize("bomb", CATALOGUE, ids=lambda bomb: bomb.name)
def test_bomb(bomb: Bomb, measured: dict[str, Measured]) -> None:
    check(measured[bomb.name], bomb.stripped or (bomb.status, bomb.code))


@pytest.mark.parametrize("bomb", [bomb for bomb in CATALOGUE if bomb.stripped], ids=lambda bomb: bomb.name)
def test_metadata_bomb_kept_unstripped(bomb: Bomb, measured_unstripped: dict[str, Measured]) -> None:
    check(measured_unstripped[bomb.name], (bomb.status, bomb.code))


def check(result: Measured, expected: tuple[int, str | None]) -> None:
    assert (result.status, result.code) == expected, result.error
    assert 0 <= result.peak_mib < BUDGET_MIB, f"peak {result.peak_mib} MiB"
    assert result.seconds < HANG_SECONDS
    if result.estimate_mib is not None and result.status == 201:
        assert result.peak_mib <= result.estimate_mib, "app.image_limits underestimates what decoding holds"
    if result.error is not None:
        assert_clean_message(result.error)
    if expected[1] == "IMAGE_TOO_LARGE":
        assert "at most" in result.error or "up to" in result.error, "the message names the limit"
