"""Typed, immutable verdict records (issue 13): what a baseline, gate, A/B or merged verdict
says, read from and written to the results files' JSON through one path."""

from harness.verdict.records import Flag, MetricVerdict, Verdict

__all__ = ["Flag", "MetricVerdict", "Verdict"]
