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
               input_range: dict[str, tuple[float, float]] | None = None,
               profile_shapes: tuple[str, str, str] | None = None,
               timing: dict[str, Any] | None = None, min_time: str | float | None = None,
               iterations: int | None = None) -> Case:
    """The case ``trt-harness bench`` runs: one model, no scenario file, trtexec-style.

    ``profile_shapes`` (min, opt, max; trtexec's ``--minShapes/--optShapes/--maxShapes``)
    make a dynamic profile, ``shapes`` then the shape run; ``min_time`` and ``iterations``
    are the least measuring time and timed inferences (trtexec's ``--duration`` and
    ``--iterations``); ``backend`` may name a variant (``torch:graph``)."""
    from harness.backends import best_installed
    from harness.models.source import check_source
    from harness.scenario.schema import VARIANTS, StopRule, Timing, Warmup, split_backend
    from harness.scenario.shapes import Profile, parse_shapes
    from harness.units import parse_duration

    check_source(model)
    backend, variant = split_backend(backend or best_installed())
    options = dict(options or {})
    if variant is not None:
        if backend not in VARIANTS or variant not in VARIANTS[backend][1]:
            raise ConfigError(f"backend variant {backend}:{variant} is not one of "
                              + ", ".join(f"{b}:{v}" for b, (_, vs) in VARIANTS.items()
                                          for v in vs))
        options[VARIANTS[backend][0]] = variant
    try:
        if profile_shapes:
            lo, opt, hi = (parse_shapes(s) for s in profile_shapes)
            profile = Profile(min=lo, opt=opt, max=hi, run=parse_shapes(shapes) if shapes
                              else {})
        else:
            profile = Profile.static(parse_shapes(shapes)) if shapes else None
        floor = parse_duration(min_time) if min_time is not None else None
        rule: dict[str, Any] = {"rel_ci": rel_ci, "max_time": duration}
        if floor is not None:
            rule["min_time"] = floor
        if iterations:
            rule["min_samples"] = max(iterations, 3)
            rule["max_samples"] = max(iterations, 100_000)
        stop = StopRule(**rule)
        timing_ = Timing(**(timing or {}))
        warm = Warmup(min_time=warmup, max_time=max(parse_duration(warmup), 2.0))
        delay = parse_duration(inject_delay)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    batch = next(iter(profile.run.values()))[0] if profile and next(
        iter(profile.run.values())) else 1
    stem = Path(model).stem if model.endswith(".onnx") else model.replace(":", "-")
    name = f"{backend}:{variant}" if variant else backend
    return Case(id=f"bench/{stem}/{name}/{precision}/b{batch}", scenario="bench",
                model=stem, source=model, backend=backend, precision=precision, batch=batch,
                profile=profile, warmup=warm, stop=stop, timing=timing_, options=options,
                seed=seed, inputs=inputs, inject_delay=delay,
                input_range=dict(input_range or {}))
