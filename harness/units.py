"""Parsing of the human units that scenario files use: durations and relative tolerances."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ns|us|µs|ms|s|min)?\s*$")
_SCALE = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, None: 1.0}


def parse_duration(value: str | float | int) -> float:
    """Return seconds for ``"500ms"``, ``"2s"``, ``"150us"`` or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if not 0 <= value < float("inf"):      # also refuses NaN: a stop that never comes
            raise ValueError(f"duration must be finite and >= 0, got {value}")
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. '500ms', '2s', '150us')")
    return float(m.group(1)) * _SCALE[m.group(2)]


def parse_fraction(value: str | float | int) -> float:
    """Return a fraction for ``"2%"`` (0.02) or a bare number taken as a fraction."""
    if isinstance(value, bool):
        raise ValueError(f"not a fraction: {value!r}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not a finite fraction: {value!r}")
        return float(value)
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100.0
        return float(text)
    except ValueError:
        raise ValueError(f"not a fraction or percentage: {value!r} (use e.g. '2%' or 0.02)") \
            from None


def format_duration(seconds: float) -> str:
    """Human-readable duration with a unit suited to its size."""
    a = abs(seconds)
    if a >= 1:
        return f"{seconds:.3g} s"
    if a >= 1e-3:
        return f"{seconds * 1e3:.4g} ms"
    if a >= 1e-6:
        return f"{seconds * 1e6:.4g} µs"
    return f"{seconds * 1e9:.4g} ns"
