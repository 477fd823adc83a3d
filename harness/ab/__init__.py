"""Paired A/B comparison: two cases prepared first, then measured in interleaved blocks in a
balanced randomised order (``schedule``), judged pair by pair (``verdict``), measured by
``measure``; the record goes into ``RunResult.ab`` (docs/results-format.md)."""
