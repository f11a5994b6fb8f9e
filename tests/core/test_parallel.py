"""The pool runs tasks with BLAS on one thread, and gives BLAS back as it found it."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from mlflow_decay.core.parallel import one_blas_thread, run_all


def _blas_threads() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_tasks_see_one_blas_thread_and_blas_is_restored_after() -> None:
    before = _blas_threads()
    seen = run_all({"a": _blas_threads, "b": _blas_threads, "c": lambda: 3})
    assert seen["a"] == seen["b"] == [1] * len(before) and seen["c"] == 3
    assert _blas_threads() == before


def test_other_threads_leave_blas_as_they_find_it() -> None:
    """BLAS's limit is process-wide: only the main thread sets it; pools started from other
    threads, while the main thread's pool runs or not, leave it as it is."""
    before = _blas_threads()
    seen: list[list[int]] = []
    errors: list[BaseException] = []

    def user() -> None:
        try:
            for _ in range(10):
                seen.append(run_all({"x": lambda: np.ones((40, 40)) @ np.ones((40, 40)),
                                     "y": _blas_threads})["y"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=user) for _ in range(3)]
    for thread in threads:
        thread.start()
    with one_blas_thread():
        inside = _blas_threads()
    for thread in threads:
        thread.join()
    assert not errors and len(seen) == 30 and inside == [1] * len(before)
    assert _blas_threads() == before


def test_the_first_failure_in_task_order_raises_after_every_task_ran() -> None:
    ran: list[str] = []

    def fail(key: str) -> None:
        ran.append(key)
        raise ValueError(key)

    tasks = {"a": lambda: ran.append("a"), "b": lambda: fail("b"), "c": lambda: fail("c"),
             "d": lambda: ran.append("d")}
    for workers in (1, 2, 3):
        ran.clear()
        with pytest.raises(ValueError, match=r"^b$"):
            run_all(tasks, workers)
        assert sorted(ran) == (["a", "b"] if workers == 1 else ["a", "b", "c", "d"])
    assert run_all({"x": lambda: 1, "y": lambda: 2}, 2) == {"x": 1, "y": 2}
