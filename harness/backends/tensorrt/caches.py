"""Engine cache and timing cache on disk, both safe under concurrent harness processes.

Engine cache: one entry per key (model content hash, TensorRT flavour and version, GPU name
and compute capability or the build target, precision, profiles, builder options). An entry
is the engine file plus a JSON record written after it (the commit), holding the engine's
SHA-256: a damaged or truncated engine fails the hash (and TensorRT's header check) and is
rebuilt. The per-key lock is held through the build, so a second process asking for the same
engine waits and then hits the cache instead of building it twice.

Timing cache: merged, never overwritten, under a file lock, as Polygraphy does: what another
process learnt meanwhile is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.fsutil import atomic_write_bytes, atomic_write_json, file_lock

FORMAT = 1


def cache_key(parts: dict[str, Any]) -> str:
    blob = json.dumps({"format": FORMAT, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class CachedEngine:
    data: bytes
    record: dict[str, Any]


class EngineCache:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.notes: list[str] = []

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.engine", self.root / f"{key}.json"

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        with file_lock(self.paths(key)[0]):
            yield

    def load(self, key: str, header_problem: Callable[[bytes], str | None] | None = None,
             ) -> CachedEngine | None:
        """The verified entry, or None (a miss; a damaged entry is removed and noted)."""
        engine_path, record_path = self.paths(key)
        try:
            record = json.loads(record_path.read_text())
            data = engine_path.read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return self._discard(key, f"unreadable entry ({exc})")
        if record.get("sha256") != hashlib.sha256(data).hexdigest():
            return self._discard(key, "engine file does not match its recorded SHA-256")
        problem = header_problem(data) if header_problem else None
        if problem:
            return self._discard(key, problem)
        return CachedEngine(data, record)

    def store(self, key: str, data: bytes, record: dict[str, Any]) -> dict[str, Any]:
        engine_path, record_path = self.paths(key)
        record = {**record, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        atomic_write_bytes(engine_path, data)
        atomic_write_json(record_path, record)     # last: the entry exists only once complete
        return record

    def _discard(self, key: str, why: str) -> None:
        self.notes.append(f"engine cache entry {key} was damaged ({why}): rebuilt")
        for path in self.paths(key):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return None


class TimingCache:
    """A TensorRT timing cache file shared by builds on the same TensorRT and GPU."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.notes: list[str] = []

    def attach(self, config: Any) -> None:
        """Give ``config`` the cache from disk (an empty one when there is none or it is bad)."""
        with file_lock(self.path):
            data = self.path.read_bytes() if self.path.exists() else b""
        cache = config.create_timing_cache(data) if data else None
        if data and cache is None:
            self.notes.append(f"timing cache {self.path} was unreadable: started afresh")
        if cache is None:
            cache = config.create_timing_cache(b"")
        config.set_timing_cache(cache, False)

    def save(self, config: Any) -> None:
        """Merge what this build learnt into the file on disk."""
        cache = config.get_timing_cache()
        if cache is None:
            return
        with file_lock(self.path):
            if self.path.exists():
                on_disk = config.create_timing_cache(self.path.read_bytes())
                if on_disk is not None:
                    cache.combine(on_disk, True)
            atomic_write_bytes(self.path, bytes(memoryview(cache.serialize())))
