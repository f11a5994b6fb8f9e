"""Per-column work on a thread pool: numpy's sorts and pyarrow's hashing release the GIL."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_all(tasks: Mapping[str, Callable[[], T]], workers: int | None = None) -> dict[str, T]:
    """Run independent tasks, on ``workers`` threads (default: the machine's cores), in the
    order given (put the longest first), with BLAS on one thread meanwhile (see
    :func:`one_blas_thread`)."""
    workers = workers or os.cpu_count() or 1
    with one_blas_thread():
        if workers == 1 or len(tasks) < 2:
            return {key: task() for key, task in tasks.items()}
        with ThreadPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
            futures = {key: pool.submit(task) for key, task in tasks.items()}
            return {key: future.result() for key, future in futures.items()}


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
