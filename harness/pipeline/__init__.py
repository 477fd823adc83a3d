"""Pipelines around the engine (pre/post steps timed as stages), accuracy against a reference,
per-case memory, and the SLO / accuracy gates."""
