"""Checked command-line values: ``argparse`` ``type=`` converters.

A CI gate must not be switched off by a typo: a value that is not what the flag expects is a
usage error (argparse names the flag, exit 2) before anything is measured. Each converter
raises :class:`argparse.ArgumentTypeError` with what was expected.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from typing import Any

from harness.errors import ConfigError
from harness.units import parse_duration, parse_fraction


def verdict_names(text: str) -> tuple[str, ...]:
    """``--fail-on regression,failed``: known verdict names only, translated to the run's
    vocabulary (A/B ``slower`` is ``regression``)."""
    from harness.ab import RUN_VERDICTS
    from harness.baseline.verdict import VERDICTS

    names = [s.strip() for s in text.split(",") if s.strip()]
    known = (*VERDICTS, *RUN_VERDICTS)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown verdict name(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"expected a comma-separated list of {', '.join(known)}")
    return tuple(dict.fromkeys(RUN_VERDICTS.get(n, n) for n in names))


def alpha(text: str) -> float:
    """A false-alarm budget: a probability strictly between 0 and 0.5."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number with 0 < alpha < 0.5 "
                                         "(e.g. 0.01)")
    return value


def integer_at_least(low: int) -> Callable[[str], int]:
    """An integer ``>= low`` (``--keep``, ``--instances``, ``--threads``...)."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= {low}")
        return value

    convert.__name__ = f"integer >= {low}"
    return convert


def zero_or_at_least(low: int) -> Callable[[str], int]:
    """0 (off) or an integer ``>= low`` (``--escalate-processes``)."""
    at_least = integer_at_least(low)

    def convert(text: str) -> int:
        if text.strip() == "0":
            return 0
        try:
            return at_least(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected 0 or an integer >= {low}") from None

    convert.__name__ = f"0 or integer >= {low}"
    return convert


def positive_duration(text: str) -> float:
    """A duration (``"500ms"``, ``"2s"``, seconds) that is finite and greater than zero."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive, finite duration "
                                         "(e.g. '500ms', '2s')")
    return value


def duration_or_zero(text: str) -> float:
    """A finite duration >= 0 (0 switches the thing off: ``ab --max-duration 0``)."""
    if text.strip() in ("0", "0s"):
        return 0.0
    return positive_duration(text)


def fraction(text: str) -> float:
    """A tolerance such as ``"0.5%"`` or ``0.005``: finite and >= 0."""
    try:
        value = parse_fraction(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite fraction >= 0 "
                                         "(e.g. '0.5%')")
    return value


def positive_fraction(text: str) -> float:
    """A relative CI target: finite and > 0 (0 would never be reached)."""
    value = fraction(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a fraction > 0 (e.g. '0.5%')")
    return value


def parse_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON where it can be (numbers, true/false)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"option {text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
