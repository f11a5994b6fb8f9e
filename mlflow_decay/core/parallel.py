"""Per-column work on a thread pool: numpy's sorts and pyarrow's hashing release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_all(tasks: Mapping[str, Callable[[], T]], workers: int | None = None) -> dict[str, T]:
    """Run independent tasks, on ``workers`` threads (default: the machine's cores)."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(tasks) < 2:
        return {key: task() for key, task in tasks.items()}
    with ThreadPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        futures = {key: pool.submit(task) for key, task in tasks.items()}
        return {key: future.result() for key, future in futures.items()}
