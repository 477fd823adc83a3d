"""Atomic file writes, an advisory file lock and confined paths: results, baselines and caches
must survive a crash or a concurrent run without ever being left half-written, and a name
read from a file must never steer a write outside its folder."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

# One plain path component: no separators, and never "." or "..".
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def confined(root: str | os.PathLike[str], *names: Any, what: str = "name") -> Path:
    """``root/names...`` where each name (often read from a results file: a platform id, a
    scenario name) is one plain component and the result resolves inside ``root``."""
    for name in names:
        if not isinstance(name, str) or not _PLAIN_NAME.match(name):
            raise ConfigError(f"{what} {name!r} cannot name a file under {root}",
                              expected="letters, digits, '.', '_' or '-', not starting with "
                                       "'.' and without '/'")
    path = Path(root).joinpath(*names)
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise ConfigError(f"{path} resolves outside {root} (a symbolic link?)")
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a mix."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(target))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # An output path under a file (or onto a folder) is the caller's argument: say so.
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc} "
                          f"({exc.filename or target})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())    # mkstemp's 0600 would hide reports from others
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=False, allow_nan=False) + "\n")


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Exclusive advisory lock on ``path + '.lock'`` (blocks until free).

    Used for read-modify-write of shared files (baselines, timing caches, engine cache
    entries) so two harness processes cannot interleave their updates.
    """
    lock_path = Path(str(path) + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a link: a planted symlink must not make us create or touch its target.
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        reason = "is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise ConfigError(f"cannot open lock file {lock_path}: {reason}") from None
    with os.fdopen(fd, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def sha256_file(path: str | os.PathLike[str]) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
