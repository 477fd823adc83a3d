"""Host memory of one case: the peak resident set size during its load and run.

``getrusage().ru_maxrss`` is the peak over the whole process, so after the first large case
every later case would report the same figure. Linux keeps the peak (``VmHWM``) per process and
lets the process reset it: writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0). So each
case resets it before loading and reads it afterwards: the kernel's own high-water mark, exact,
with no sampling thread that could miss a short spike or perturb the timing. Where the reset is
not allowed, a sampling thread over ``/proc/self/statm`` (1 ms period, a lower bound) stands in;
elsewhere (no /proc) the process-lifetime ``ru_maxrss`` is reported and said to be so.
"""

from __future__ import annotations

import os
import resource
import threading
from types import TracebackType

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssPeak:
    """``with RssPeak() as watch: ...``; then ``watch.peak_bytes``, ``watch.method``."""

    def __init__(self, period_s: float = 0.001) -> None:
        self.period_s = period_s
        self.before_bytes: int | None = None
        self.peak_bytes: int | None = None
        self.method = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._sampled = 0

    def __enter__(self) -> RssPeak:
        self.before_bytes = current_rss()
        if _reset_peak() and _status_kb("VmHWM") is not None:
            self.method = "VmHWM reset per case (/proc/self/clear_refs)"
        elif self.before_bytes is not None:
            self.method = "sampled /proc/self/statm every 1 ms (a lower bound)"
            self._sampled = self.before_bytes
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        else:
            self.method = "ru_maxrss (process lifetime, not per case)"
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.period_s):
            rss = current_rss() or 0
            self._sampled = max(self._sampled, rss)

    def read(self) -> int | None:
        """The peak so far (callable inside the block)."""
        if self.method.startswith("VmHWM"):
            kb = _status_kb("VmHWM")
            return kb * 1024 if kb is not None else None
        if self._thread is not None:
            return max(self._sampled, current_rss() or 0)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.peak_bytes = self.read()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
