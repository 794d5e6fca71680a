"""autograde.pool: a worker that dies costs only the task it was running (tried once more
in a fresh worker), every other task is done, and a worker that cannot start stops the run."""

import os

import pytest

from autograde import pool


def start_doubler(dies_on):
    """A worker that doubles numbers, and kills its own process on ``dies_on``."""
    def handle(number):
        if number == dies_on:
            os._exit(3)
        return 2 * number
    return handle


def start_broken():
    raise RuntimeError("cannot start")


def start_flaky(marker):
    """Dies on 5 the first time only (``marker`` remembers across processes)."""
    def handle(number):
        if number == 5 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(9)
        return 2 * number
    return handle


def test_a_dead_worker_costs_only_its_task():
    tasks = [(n,) for n in range(8)]
    results = dict(pool.run(tasks, 2, start_doubler, (3,)))
    assert set(results) == set(tasks)
    died = results.pop((3,))
    assert isinstance(died, pool.Died) and died.attempts == pool.ATTEMPTS
    assert died.exitcode == 3
    assert results == {(n,): 2 * n for n in range(8) if n != 3}


def test_a_task_whose_worker_died_once_is_retried(tmp_path):
    results = dict(pool.run([(n,) for n in range(7)], 2, start_flaky,
                            (str(tmp_path / "died-once"),)))
    assert results == {(n,): 2 * n for n in range(7)}


def test_a_worker_that_cannot_start_stops_the_run():
    with pytest.raises(pool.StartFailed, match="died while starting"):
        list(pool.run([(1,), (2,)], 2, start_broken))
