"""Run a function over many files on all cores, with a progress bar."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any


def parallel_map(
    function: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int,
    desc: str,
    progress: bool = True,
    chunksize: int | None = None,
    on_result: Callable[[Any], object] | None = None,
) -> list[Any]:
    """Call ``function`` on every item in ``workers`` processes; its results, in any order.

    Workers are forked where the platform allows: they inherit the imported modules
    instead of re-importing them, and only run NumPy/OpenCV code. ``on_result`` is called
    in this process with each result as it arrives (e.g. to record progress that must
    survive an interruption).
    """
    from tqdm import tqdm

    with tqdm(total=len(items), desc=desc, unit="img", disable=not progress) as bar:
        results = []
        if workers <= 1 or len(items) <= 2:
            for item in items:
                results.append(function(item))
                if on_result is not None:
                    on_result(results[-1])
                bar.update()
            return results
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        chunksize = chunksize or max(1, len(items) // (workers * 8))
        with multiprocessing.get_context(method).Pool(workers) as pool:
            for result in pool.imap_unordered(function, items, chunksize=chunksize):
                results.append(result)
                if on_result is not None:
                    on_result(result)
                bar.update()
    return results
