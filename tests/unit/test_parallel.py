"""Calls run at once (app/storage/clients.py), also in a process forked from one that ran some."""

from __future__ import annotations

import os
import time

import pytest

from app.storage.clients import in_parallel, outcomes


def test_results_come_back_in_order_and_the_first_error_is_raised_after_all_ended() -> None:
    ended: list[str] = []

    def slow() -> str:
        time.sleep(0.05)
        ended.append("slow")
        return "slow"

    def failing() -> str:
        raise ValueError("no")

    assert in_parallel([slow, lambda: "fast"]) == ["slow", "fast"]
    with pytest.raises(ValueError, match="no"):
        in_parallel([failing, slow])
    assert ended == ["slow", "slow"]  # the failure did not abandon the other call
    assert [type(o) for o in outcomes([failing, lambda: 1])] == [ValueError, int]


def test_a_forked_child_runs_calls_at_once_too() -> None:
    assert in_parallel([lambda: 1, lambda: 2]) == [1, 2]  # the parent's pool and its threads exist
    child = os.fork()
    if child == 0:  # the child: its parent's threads are gone; the pool must not wait for them
        os._exit(0 if in_parallel([lambda: 1, lambda: 2]) == [1, 2] else 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(child, 9)
    pytest.fail("the forked child never got its calls run")
