"""NVTX ranges in one domain ("harness"), so an Nsight Systems trace reads like a story::

    scenario <name>                       category "scenario", payload: number of cases
      <case id>                           category "case", payload: the case's index in the run
        build | load | warmup | measure   a category each; payload where one is known
          stages -> h2d / infer / d2h     category "stages" (also pre / post of pipelines)
        telemetry                         category "telemetry"

and optionally one range per timed iteration (off by default: ``timing.nvtx_per_iteration``;
its cost is measured by ``trt-harness selftest``).

A case range's message is the case id with ``/`` written ``:`` (:func:`case_message`):
``/`` separates nested ranges in Nsight Compute's ``--nvtx-include`` grammar, so a range
named ``a/b`` could never be selected. :func:`ncu_filter` builds the filters:
``harness@measure/`` (every measure range) and ``harness@<case>/*/measure/`` (one case's).
Without the ``nvtx`` package the ranges cost nothing and do nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache
from typing import Any

DOMAIN = "harness"

# phase -> (colour, NVTX category). The stages of one inference share a category.
PHASES: dict[str, tuple[str, str]] = {
    "scenario": ("blue", "scenario"), "case": ("green", "case"),
    "startup": ("gray", "startup"), "build": ("orange", "build"),
    "load": ("yellow", "load"), "warmup": ("purple", "warmup"),
    "measure": ("red", "measure"), "telemetry": ("gray", "telemetry"),
    "stages": ("cyan", "stages"), "h2d": ("cyan", "stages"), "infer": ("red", "stages"),
    "d2h": ("cyan", "stages"), "pre": ("yellow", "stages"), "post": ("yellow", "stages"),
    "pipeline": ("red", "measure"), "ab": ("blue", "case"), "iteration": ("gray", "measure"),
    "selftest": ("gray", "selftest"),
}
# The ranges ``trt-harness profile --capture`` accepts (their messages are the phase names).
CAPTURABLE = ("build", "load", "warmup", "measure", "telemetry", "stages", "pipeline")


@cache
def _nvtx():  # pragma: no cover - trivial
    try:
        import nvtx
    except ImportError:
        return None
    return nvtx


def available() -> bool:
    return _nvtx() is not None


def case_message(case_id: str) -> str:
    """The NVTX message of a case's range: its id, ``/`` written ``:`` (see the module doc)."""
    return case_id.replace("/", ":")


def ncu_filter(case_id: str | None = None, phase: str = "measure") -> str:
    """An ``ncu --nvtx-include`` filter: kernels inside the harness's ``phase`` ranges, or only
    inside those of one case (``*`` allows ranges between the case and the phase)."""
    if case_id is None:
        return f"{DOMAIN}@{phase}/"
    return f"{DOMAIN}@{case_message(case_id)}/*/{phase}/"


def nsys_capture(message: str) -> str:
    """An ``nsys --nvtx-capture`` value (nsys writes ``range@domain``, ncu ``domain@range``)."""
    return f"{message}@{DOMAIN}"


@contextlib.contextmanager
def nvtx_range(phase: str, message: str | None = None,
               payload: int | float | None = None) -> Iterator[None]:
    """A push/pop range of ``phase`` (its colour and category) in the harness domain, named
    ``message`` (default: the phase), carrying ``payload``; a no-op without ``nvtx``."""
    nvtx = _nvtx()
    if nvtx is None:
        yield
        return
    color, category = PHASES.get(phase, ("gray", phase))
    with nvtx.annotate(message=message or phase, domain=DOMAIN, color=color,
                       category=category, payload=payload):
        yield


def scenario_range(name: str, cases: int) -> contextlib.AbstractContextManager[None]:
    return nvtx_range("scenario", f"scenario {name}", cases)


def case_range(case_id: str, index: int | None = None) -> contextlib.AbstractContextManager[None]:
    return nvtx_range("case", case_message(case_id), index)


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
        color, category = PHASES.get(name, ("gray", "measure"))
        attrs = domain.get_event_attributes(message=name, color=color,
                                            category=domain.get_category_id(category))
        self._push, self._pop, self._attrs = domain.push_range, domain.pop_range, attrs

    def push(self) -> None:
        self._push(self._attrs)

    def pop(self) -> None:
        self._pop()


def iteration_range(name: str = "iteration") -> _Range | _NoRange:
    """A reusable range for the timed loop (``push()`` / ``pop()``)."""
    nvtx = _nvtx()
    return _NoRange() if nvtx is None else _Range(nvtx, name)
