"""Expand a scenario's axes (model × backend × precision × batch × shape) into cases with
stable, readable ids: ``quickstart/resnet/onnxruntime/fp32/b4``."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.scenario.paths import absolute_options, scenario_path
from harness.scenario.schema import (
    VARIANTS,
    CaseSettings,
    ProfileSpec,
    Reference,
    ScenarioFile,
    Slo,
    Step,
    StopRule,
    TelemetrySettings,
    Timing,
    Tolerance,
    Warmup,
    split_backend,
)
from harness.scenario.shapes import Profile, parse_shapes
from harness.timing.mode import ModeChoice

DEFAULT_AXES = {"backends": ["onnxruntime"], "precisions": ["fp32"], "batch": [1]}
# More cases than anyone measures in one run: a file past this is a mistake (a few KiB of
# axes can multiply into millions of cases), refused before expanding.
MAX_CASES = 10_000


@dataclass(frozen=True)
class Case:
    """One measurable combination; everything needed to prepare and time it."""

    id: str
    scenario: str
    model: str
    source: str
    backend: str
    precision: str
    batch: int
    profile: Profile | None          # None: taken from the model (dynamic batch -> batch)
    warmup: Warmup = field(default_factory=Warmup)
    stop: StopRule = field(default_factory=StopRule)
    timing: Timing = field(default_factory=Timing)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    tolerance: Tolerance = field(default_factory=Tolerance)
    inject_delay: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    inputs: str | None = None
    input_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    pre: Step | None = None
    post: Step | None = None
    skip: str | None = None
    shape_label: str | None = None
    frames: str | None = None
    slo: Slo | None = None
    reference: Reference = field(default_factory=Reference)
    # The layout count the case's accepted runs ask for where ``timing.layouts`` is unset
    # (harness.baseline.layout_count); None: harness.layout.DEFAULT_LAYOUTS.
    history_layouts: int | None = None
    # The first layout seed of the case's newest accepted run (harness.baseline.layout_count):
    # the run replays its layouts, seed for seed, so the stored verdict can pair them
    # (harness.comparison.compare_paired_layouts). None: no history with seeded layouts.
    history_layout_seed: int | None = None
    # A run-wide layout seed (``run --layout-seed``): the case's layouts are drawn from it and
    # its id, so the same seed replays them in any process. None: a fresh random draw.
    layout_seed: int | None = None
    # A base pad (bytes) held before each layout's own pads (``ab --processes``: one per
    # process pair, both sides alike; harness.layout.base_pad). 0: none.
    layout_base: int = 0
    # An auto timing mode chosen before for this case (harness.timing.mode): by its first
    # layout, by its comparison's first process, or by its newest accepted run. None: the
    # case's own probe chooses after its warm-up.
    chosen_mode: ModeChoice | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "scenario": self.scenario, "model": self.model,
            "source": self.source, "backend": self.backend, "precision": self.precision,
            "batch": self.batch,
            "profile": self.profile.to_json() if self.profile else None,
            "warmup": self.warmup.model_dump(), "stop": self.stop.model_dump(),
            "timing": self.timing.model_dump(), "telemetry": self.telemetry.model_dump(),
            "tolerance": self.tolerance.model_dump(),
            "inject_delay": self.inject_delay, "options": self.options, "seed": self.seed,
            "inputs": self.inputs,
            "input_range": {k: list(v) for k, v in self.input_range.items()},
            "pre": self.pre.model_dump() if self.pre else None,
            "post": self.post.model_dump() if self.post else None,
            "frames": self.frames, "slo": self.slo.model_dump() if self.slo else None,
            "reference": self.reference.model_dump(), "history_layouts": self.history_layouts,
            "history_layout_seed": self.history_layout_seed, "layout_seed": self.layout_seed,
            "layout_base": self.layout_base,
            "chosen_mode": self.chosen_mode.to_json() if self.chosen_mode else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Case:
        """The case a result or baseline entry recorded (:meth:`to_json`'s inverse; keys it
        does not know, such as ``model_sha256``, are ignored)."""
        def opt(model: Any, key: str) -> Any:
            return model.model_validate(d[key]) if d.get(key) is not None else None

        return cls(
            id=d["id"], scenario=d["scenario"], model=d["model"], source=d["source"],
            backend=d["backend"], precision=d["precision"], batch=int(d["batch"]),
            profile=Profile.from_json(d["profile"]) if d.get("profile") else None,
            warmup=Warmup.model_validate(d["warmup"]), stop=StopRule.model_validate(d["stop"]),
            timing=Timing.model_validate(d["timing"]),
            telemetry=TelemetrySettings.model_validate(d["telemetry"]),
            tolerance=Tolerance.model_validate(d["tolerance"]),
            inject_delay=float(d.get("inject_delay") or 0.0), options=dict(d.get("options") or {}),
            seed=int(d.get("seed") or 0), inputs=d.get("inputs"),
            input_range={k: (float(v[0]), float(v[1]))
                         for k, v in (d.get("input_range") or {}).items()},
            pre=opt(Step, "pre"), post=opt(Step, "post"), frames=d.get("frames"),
            slo=opt(Slo, "slo"), reference=Reference.model_validate(d.get("reference") or {}),
            history_layouts=d.get("history_layouts"),
            history_layout_seed=d.get("history_layout_seed"), layout_seed=d.get("layout_seed"),
            layout_base=int(d.get("layout_base") or 0),
            chosen_mode=ModeChoice(**d["chosen_mode"]) if d.get("chosen_mode") else None)


def expand(scenario: ScenarioFile, path: str | None = None) -> list[Case]:
    """All cases of a scenario, in file order (model, then backend, precision, batch, shape).

    ``path`` names the file in errors, and the files the scenario names are read relative
    to its folder (:mod:`harness.scenario.paths`).
    """
    base_dir = str(Path(path).resolve().parent) if path else None
    cases: list[Case] = []
    seen: set[str] = set()
    count_cases(scenario, path)
    for index, model in enumerate(scenario.model):
        axes = _axes(scenario, model)
        shape_values = _shape_axis(model.shapes)
        for backend in axes["backends"]:
            for precision in axes["precisions"]:
                for batch in axes["batch"]:
                    for label, spec in shape_values:
                        parts = [scenario.name, model.id, backend, precision, f"b{batch}"]
                        if len(shape_values) > 1:
                            parts.append(label)
                        case_id = "/".join(parts)
                        if case_id in seen:
                            raise ConfigError(f"two cases share the id {case_id!r}; give the "
                                              "shape profiles distinct labels", file=path,
                                              key=f"model[{index}].shapes")
                        seen.add(case_id)
                        try:
                            cases.append(_make_case(scenario, model, case_id, backend,
                                                    precision, batch, spec, label, base_dir))
                        except ValueError as exc:
                            raise ConfigError(f"{case_id}: {exc}", file=path,
                                              key=f"model[{index}].shapes") from None
    for index, override in enumerate(scenario.case):
        # An override that matches nothing (a typo) would silently leave cases unchanged.
        if not fnmatch.filter(seen, override.match):
            raise ConfigError(f"{override.match!r} matches no case of this scenario",
                              file=path, key=f"case[{index}].match",
                              expected=f"a glob over case ids such as {cases[0].id!r}")
    return cases


def _axes(scenario: ScenarioFile, model: Any) -> dict[str, list[Any]]:
    return {k: getattr(model, k) or getattr(scenario.defaults, k) or v
            for k, v in DEFAULT_AXES.items()}


def count_cases(scenario: ScenarioFile, path: str | None = None) -> int:
    """The number of cases the axes multiply into; :class:`ConfigError` past ``MAX_CASES``."""
    total = 0
    for index, model in enumerate(scenario.model):
        axes = _axes(scenario, model)
        total += (len(axes["backends"]) * len(axes["precisions"]) * len(axes["batch"])
                  * len(_shape_axis(model.shapes)))
        if total > MAX_CASES:
            raise ConfigError(f"the axes expand to more than {MAX_CASES} cases (at model "
                              f"{model.id!r}); split the scenario or shorten its axes",
                              file=path, key=f"model[{index}]")
    return total


def _shape_axis(shapes: Any) -> list[tuple[str, Any]]:
    if shapes is None:
        return [("", None)]
    values = shapes if isinstance(shapes, list) else [shapes]
    return [(_label(v), v) for v in values]


def _label(spec: str | ProfileSpec) -> str:
    if isinstance(spec, ProfileSpec):
        if spec.label:
            return spec.label
        text = spec.run or spec.opt
    else:
        text = spec
    # The first input's dims after the batch dimension: "3x320x240" reads well in an id.
    first = text.split(",")[0].rpartition(":")[2]
    dims = first.split("x")
    return "x".join(dims[1:]) if len(dims) > 1 else first


def _profile(spec: str | ProfileSpec | None, batch: int) -> Profile | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return Profile.static(parse_shapes(spec, batch=batch))
    return Profile(min=parse_shapes(spec.min, batch=batch), opt=parse_shapes(spec.opt, batch=batch),
                   max=parse_shapes(spec.max, batch=batch),
                   run=parse_shapes(spec.run, batch=batch) if spec.run else {})


def _merge(layers: list[CaseSettings], key: str, cls: type) -> Any:
    merged: dict[str, Any] = {}
    for layer in layers:
        value = getattr(layer, key)
        if value is not None:
            merged.update(value.model_dump(exclude_unset=True))
    return cls(**merged)


def _merge_optional(layers: list[CaseSettings], key: str, cls: type) -> Any:
    return _merge(layers, key, cls) if any(getattr(x, key) is not None for x in layers) else None


def _file(text: str | None, base_dir: str | None) -> str | None:
    return str(scenario_path(text, base_dir)) if text and base_dir else text


def _make_case(scenario: ScenarioFile, model: Any, case_id: str, backend: str, precision: str,
               batch: int, spec: Any, label: str, base_dir: str | None = None) -> Case:
    overrides = [c for c in scenario.case if fnmatch.fnmatchcase(case_id, c.match)]
    layers: list[CaseSettings] = [scenario.defaults, model, *overrides]
    backend, variant = split_backend(backend)
    options: dict[str, Any] = {}
    inject, seed = 0.0, 0
    for layer in layers:
        if layer.options and backend in layer.options:
            options.update(layer.options[backend])
    if variant is not None:         # "torch:graph" wins over options.torch.mode
        options[VARIANTS[backend][0]] = variant
    for layer in layers:
        inject = layer.inject_delay if layer.inject_delay is not None else inject
        seed = layer.seed if layer.seed is not None else seed
    skip = next((c.skip for c in reversed(overrides) if c.skip), None)
    return Case(
        id=case_id, scenario=scenario.name, model=model.id, source=model.source,
        backend=backend, precision=precision, batch=batch, profile=_profile(spec, batch),
        warmup=_merge(layers, "warmup", Warmup), stop=_merge(layers, "stop", StopRule),
        timing=_merge(layers, "timing", Timing),
        telemetry=_merge(layers, "telemetry", TelemetrySettings),
        tolerance=_merge(layers, "tolerance", Tolerance),
        inject_delay=inject, options=absolute_options(options, backend, base_dir), seed=seed,
        inputs=_file(model.inputs, base_dir), input_range=dict(model.input_range or {}),
        pre=model.pre, post=model.post, skip=skip, shape_label=label or None,
        frames=_file(model.frames, base_dir) if (model.frames or "").endswith(".npy")
        else model.frames,
        slo=_merge_optional(layers, "slo", Slo), reference=_merge(layers, "reference", Reference),
    )
