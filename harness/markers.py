"""NVTX ranges in one domain ("harness"), so an Nsight Systems trace reads like a story:
scenario -> case -> build / load / warm-up / measure -> stages (h2d, infer, d2h, ...), and
optionally one range per timed iteration (off by default: ``timing.nvtx_per_iteration``; its
cost is measured by ``trt-harness selftest``).

``ncu --nvtx --nvtx-include "harness@measure/"`` profiles only the kernels inside the measure
ranges. Without the ``nvtx`` package the ranges cost nothing and do nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache
from typing import Any

DOMAIN = "harness"
COLORS = {"scenario": "blue", "case": "green", "build": "orange", "load": "yellow",
          "warmup": "purple", "measure": "red", "iteration": "gray", "h2d": "cyan",
          "infer": "red", "d2h": "cyan", "pre": "yellow", "post": "yellow"}


@cache
def _nvtx():  # pragma: no cover - trivial
    try:
        import nvtx
    except ImportError:
        return None
    return nvtx


def available() -> bool:
    return _nvtx() is not None


@contextlib.contextmanager
def nvtx_range(name: str, **payload: object) -> Iterator[None]:
    """A push/pop range named ``name`` in the harness domain (a no-op without ``nvtx``)."""
    nvtx = _nvtx()
    if nvtx is None:
        yield
        return
    with nvtx.annotate(message=name, domain=DOMAIN, color=COLORS.get(name, "gray"),
                       category=None, payload=None):
        yield


def mark(message: str) -> None:
    nvtx = _nvtx()
    if nvtx is not None:
        nvtx.mark(message=message, domain=DOMAIN)


class _NoRange:
    def push(self) -> None:
        pass

    def pop(self) -> None:
        pass


class _Range:
    """Pre-built attributes and bound push/pop: the cheapest way the ``nvtx`` package offers
    to open a range per iteration (no attribute object or dict per call)."""

    def __init__(self, nvtx: Any, name: str) -> None:
        domain = nvtx.get_domain(DOMAIN)
        attrs = domain.get_event_attributes(message=name, color=COLORS.get(name, "gray"))
        self._push, self._pop, self._attrs = domain.push_range, domain.pop_range, attrs

    def push(self) -> None:
        self._push(self._attrs)

    def pop(self) -> None:
        self._pop()


def iteration_range(name: str = "iteration") -> _Range | _NoRange:
    """A reusable range for the timed loop (``push()`` / ``pop()``)."""
    nvtx = _nvtx()
    return _NoRange() if nvtx is None else _Range(nvtx, name)
