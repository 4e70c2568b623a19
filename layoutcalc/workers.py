"""Process pools whose failures the parent reports in one line.

A worker forked from the CLI inherits its SIGTERM handler, which raises an
exception: SIGTERM to the process group during ``history`` printed one
multiprocessing traceback per worker (25 lines).  Workers here die by SIGTERM
and SIGINT the default way, silently; the parent says ``terminated`` (the
CLI's boundary) or, when a worker died on its own, one :class:`InputError`.
A parent interrupted mid-map stops its workers instead of waiting for them.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from .errors import InputError

Result = TypeVar("Result")


def _quiet_worker() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_quietly(count: int, function: Callable[..., Result], *arguments: Iterable[Any]) -> list[Result]:
    """``list(map(function, *arguments))`` on ``count`` worker processes, in order."""
    pool = ProcessPoolExecutor(max_workers=count, initializer=_quiet_worker)
    try:
        results = list(pool.map(function, *arguments))
    except BrokenProcessPool:
        _stop(pool)
        raise InputError("a worker process ended abruptly (killed, or out of memory?)") from None
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """End ``pool``'s workers now (the standard library offers no public way to)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
