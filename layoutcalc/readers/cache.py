"""The on-disk cache of derived data (name indexes, whole-scan results), kept outside the repository.

Entries live under ``$XDG_CACHE_HOME/layoutcalc/`` (``~/.cache/layoutcalc/`` by
default) by kind and key, where the key names the input's build-id.  Each
entry records a digest of layoutcalc's own code: an entry written by other
code is ignored, so a fix never meets a stale answer.  Writes are atomic
(:mod:`layoutcalc.safe_write`); a cache that cannot be written or read only
costs speed, never an error.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from ..cachedir import cache_root

PACKAGE = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a phase allocates hundreds of thousands of long-lived objects.

    Each collection walks every live object; reading a whole vmlinux took 3x
    longer with it, and unpickling a whole Build 20x (measured).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of every module of layoutcalc (a few milliseconds)."""
    digest = hashlib.sha1()
    for module in sorted(PACKAGE.rglob("*.py")):
        digest.update(module.relative_to(PACKAGE).as_posix().encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def entry_path(kind: str, key: str) -> Path:
    return cache_root() / kind / f"{key}.pickle"


def load(kind: str, key: Optional[str]) -> Any:
    """The cached value of ``kind``/``key`` made by this code, or None."""
    if not key:
        return None
    try:
        with open(entry_path(kind, key), "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    return decode(data)


def encode(value: Any) -> bytes:
    """``value`` as a cache entry holds it (with this code's digest): what :func:`store_encoded` writes."""
    with paused_gc():
        return pickle.dumps((code_digest(), value), protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> Any:
    """The value of an entry made by :func:`encode`, or None when this code did not make it (or it is damaged)."""
    try:
        with paused_gc():
            digest, value = pickle.loads(data)  # our own file under the user's cache directory, or our own child's
    except (EOFError, ValueError, TypeError, pickle.UnpicklingError, AttributeError, ImportError):
        return None
    return value if digest == code_digest() else None


def store(kind: str, key: Optional[str], value: Any) -> None:
    """Cache ``value`` as ``kind``/``key`` atomically; failures are ignored (the cache is optional)."""
    if not key:
        return
    try:
        data = encode(value)
    except (RecursionError, pickle.PicklingError):
        return
    store_encoded(kind, key, data)


def store_encoded(kind: str, key: Optional[str], data: bytes) -> None:
    """:func:`store` of a value already :func:`encode`-d (a value that also travels between processes)."""
    if not key:
        return
    from ..errors import LayoutcalcError
    from ..safe_write import write_bytes
    path = entry_path(kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(str(path), data)
    except (OSError, LayoutcalcError):
        pass


SMALL_FILE = 8 << 20  # inputs up to this size are keyed on their bytes, larger ones on their identity


def file_token(path: str) -> Optional[str]:
    """What a cached result derived from ``path`` depends on: its bytes when small, else its identity.

    None when the file cannot be read (nothing is cached then).
    """
    try:
        info = os.stat(path)
        if info.st_size > SMALL_FILE:
            return f"{os.path.abspath(path)}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
        with open(path, "rb") as stream:
            return hashlib.sha1(stream.read()).hexdigest()
    except OSError:
        return None


def result_key(*parts: object) -> str:
    """A cache key for a result computed from ``parts`` (reprs of options and :func:`file_token` values)."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()
