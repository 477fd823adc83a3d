"""NVTX ranges in one domain ("harness"), so an Nsight Systems trace reads like a story:
scenario -> case -> build / load / warm-up / measure -> stages.

``ncu --nvtx --nvtx-include "harness@measure/"`` profiles only the kernels inside the measure
ranges. Without the ``nvtx`` package the ranges cost nothing and do nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache

DOMAIN = "harness"
COLORS = {"scenario": "blue", "case": "green", "build": "orange", "load": "yellow",
          "warmup": "purple", "measure": "red"}


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
