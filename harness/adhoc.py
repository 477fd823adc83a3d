"""Ad-hoc cases: one model and its settings, no scenario file, trtexec-style. What
``trt-harness bench`` measures, and each side of ``trt-harness ab A B``.

A module of its own below both :mod:`harness.api` and :mod:`harness.ab.plan`, which each build
such cases (:func:`harness.api.bench_case` is this function).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.scenario.expand import Case


def bench_case(model: str, *, backend: str | None = None, shapes: str | None = None,
               precision: str = "fp32", inputs: str | None = None,
               options: dict[str, Any] | None = None, warmup: str | float = 0.2,
               duration: str | float = 3.0, rel_ci: str | float = 0.005, seed: int = 0,
               inject_delay: str | float = 0.0,
               input_range: dict[str, tuple[float, float]] | None = None) -> Case:
    """The case ``trt-harness bench`` runs: one model, no scenario file, trtexec-style."""
    from harness.backends import best_installed
    from harness.models.source import check_source
    from harness.scenario.schema import StopRule, Warmup
    from harness.scenario.shapes import Profile, parse_shapes
    from harness.units import parse_duration

    check_source(model)
    backend = backend or best_installed()
    try:
        profile = Profile.static(parse_shapes(shapes)) if shapes else None
        stop = StopRule(rel_ci=rel_ci, max_time=duration)
        warm = Warmup(min_time=warmup, max_time=max(parse_duration(warmup), 2.0))
        delay = parse_duration(inject_delay)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    batch = next(iter(profile.run.values()))[0] if profile and next(
        iter(profile.run.values())) else 1
    stem = Path(model).stem if model.endswith(".onnx") else model.replace(":", "-")
    return Case(id=f"bench/{stem}/{backend}/{precision}/b{batch}", scenario="bench",
                model=stem, source=model, backend=backend, precision=precision, batch=batch,
                profile=profile, warmup=warm, stop=stop, options=options or {}, seed=seed,
                inputs=inputs, inject_delay=delay, input_range=dict(input_range or {}))
