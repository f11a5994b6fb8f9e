"""Per-column work on a thread pool: numpy's sorts and pyarrow's hashing release the GIL."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")


def run_all(tasks: Mapping[str, Callable[[], T]], workers: int | None = None) -> dict[str, T]:
    """Run independent tasks, on ``workers`` threads (default: the machine's cores; the calling
    thread is one of them), in the order given (put the longest first), with BLAS on one
    thread meanwhile (see :func:`one_blas_thread`). The first failed task in that order raises
    (on several threads, after every task ran).

    The helper threads are started with no work (they hand Python's lock straight back, so the
    caller queues every task without waiting for it) and the calling thread works too: no
    executor, one thread fewer to start, about 2 ms of CPU less per 100k-row window.
    """
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    with one_blas_thread():
        if workers <= 1:
            return {key: task() for key, task in tasks.items()}
        queue: SimpleQueue[tuple[str, Callable[[], T]] | None] = SimpleQueue()
        done: dict[str, tuple[bool, Any]] = {}

        def work() -> None:
            while (item := queue.get()) is not None:
                key, task = item
                try:
                    done[key] = (True, task())
                except BaseException as exc:  # raised by the caller, in the tasks' order
                    done[key] = (False, exc)

        helpers = [threading.Thread(target=work, daemon=True) for _ in range(workers - 1)]
        for thread in helpers:
            thread.start()
        for item in tasks.items():
            queue.put(item)
        for _ in range(workers):
            queue.put(None)  # one end mark per thread, the caller's included
        work()
        for thread in helpers:
            thread.join()
    for key in tasks:
        ok, value = done[key]
        if not ok:
            raise value
    return {key: done[key][1] for key in tasks}


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS (numpy's matrix products) on one thread inside the block, as it was after it.

    The tasks are the parallelism: their products are small (a window's PCA block, the
    estimator's draws), and BLAS threads on top of them only wait for each other, many times
    slower on a busy machine. The results are the same (BLAS splits the output, not the sums).
    Only the main thread sets the limit (BLAS has one, process-wide; threadpoolctl lets one
    thread own it): blocks entered from other threads leave it as they find it.
    """
    controller = _blas() if threading.current_thread() is threading.main_thread() else None
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


@functools.cache
def _blas() -> Any:
    """The loaded BLAS libraries' thread control (``None`` without threadpoolctl)."""
    import numpy  # noqa: F401 - its BLAS, loaded before the controller looks for libraries

    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - it comes with scikit-learn
        return None
    return ThreadpoolController()
