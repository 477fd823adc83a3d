"""Paired A/B comparison: two cases prepared first, then measured in interleaved blocks in a
balanced randomised order (``schedule``), judged pair by pair (``verdict``), measured by
``measure``; the record goes into ``RunResult.ab`` (docs/results-format.md)."""

# A/B labels say how B compares with A; exit codes and ``--fail-on`` read them in the run's
# verdict words (B slower than A is a regression).
RUN_VERDICTS = {"slower": "regression", "faster": "improvement", "same": "pass"}
