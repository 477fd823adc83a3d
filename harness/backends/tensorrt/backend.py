"""The TensorRT backend: one case -> prepared ONNX -> parsed network -> (cached) engine ->
a runnable :class:`TrtEngine`, or a build-only engine when TensorRT-RTX builds for a target
compute capability that is not the GPU here (or there is no GPU at all)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import Backend, Engine, TensorSpec
from harness.backends.tensorrt import build as loaders
from harness.backends.tensorrt import plugins as plug
from harness.backends.tensorrt.caches import EngineCache, TimingCache, cache_key
from harness.backends.tensorrt.calibration import calibration_feeds, entropy_calibrator_trt10
from harness.backends.tensorrt.introspect import fingerprint, network_layers
from harness.backends.tensorrt.logger import make_logger
from harness.backends.tensorrt.options import TARGETS, TensorRTOptions
from harness.backends.tensorrt.precision import to_half
from harness.backends.tensorrt.quantize import quantize
from harness.backends.tensorrt.runtime import TrtEngine
from harness.backends.tensorrt.shim import Flavour, flavour_of, load, reason_unavailable
from harness.backends.tensorrt.transforms import prepared_model
from harness.errors import CaseSkipped, ConfigError
from harness.inputs import resolve_run_shapes, value_ranges_from_model
from harness.models.onnx_io import onnx_input_specs
from harness.models.zoo import cache_dir
from harness.scenario.shapes import Profile, parse_shapes

PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8", "fp8")


class BuildOnlyEngine(Engine):
    """Built for a compute capability this machine does not have: build metrics only."""

    build_only = True

    def __init__(self, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> None:
        super().__init__()
        self._inputs, self._outputs = inputs, outputs

    def _cannot(self) -> None:
        raise CaseSkipped("this engine was built for another GPU (build-only): it cannot run here")

    def bind_impl(self, feed: dict[str, np.ndarray]) -> None:
        self._cannot()

    def run_impl(self) -> None:
        self._cannot()

    def fetch_outputs_impl(self) -> dict[str, np.ndarray]:
        self._cannot()
        return {}


@dataclass
class Plan:
    """What one case builds: decided before any TensorRT call, all of it in the cache key."""

    flavour: Flavour
    opts: TensorRTOptions
    precision: str
    weak: bool                  # TensorRT 10 builder flags rather than an ONNX transform
    target: str | None          # build for this compute capability (TensorRT-RTX)
    device: str                 # the GPU (name + cc) or "target:<cc>"
    build_only: bool



def rtx_nms_refusal(flavour: str, target: str | None) -> str:
    """Why an engine with NMS inside is not built on TensorRT-RTX (checked with 1.7 for
    sm80, sm89 and sm120: the builder fails, it does not fall back)."""
    return (f"NMS inside the engine does not build on {flavour}"
            f"{f' for {target}' if target else ''}: ONNX NonMaxSuppression imports as "
            "TensorRT's NMS layer (INMSLayer), for which TensorRT-RTX has no kernel (\"has no "
            "runners that implement it\"), and TensorRT-RTX ships no EfficientNMS_TRT plugin; "
            "run NMS after the engine (on the CPU) or build with TensorRT 10/11")


def tf32_refusal(flavour: str) -> str:
    """Why a ``tf32`` rung is not built on a strongly typed flavour (rather than caching the
    fp32 engine a second time under another name)."""
    return (f"tf32 on {flavour}: a strongly typed network keeps FP32 tensors FP32 and the "
            "TF32 builder flag does not change its engine (the build is the fp32 rung's, same "
            "layers and fingerprint), so this rung is not built again: read the fp32 rung; "
            "TF32 is a rung of its own on TensorRT 10 (weakly typed) and on torch")

class TensorRTBackend(Backend):
    name = "tensorrt"
    options_model = TensorRTOptions
    # The run path holds the layout's pads before the weights and before the context's
    # activation memory and the bindings (TrtEngine); run against the test double only.
    randomizes_layout = True

    def __init__(self, trt: Any = None, cuda_factory: Any = None,
                 gpu: dict[str, Any] | bool | None = False,
                 cache_root: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        # Injection points for the tests' test double; by default the real things, lazily.
        self._trt, self._cuda_factory, self._gpu = trt, cuda_factory, gpu
        self.cache_root = Path(cache_root) if cache_root else cache_dir() / "tensorrt"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return reason_unavailable()

    @classmethod
    def runs_here(cls) -> bool:
        """Engines can run here (a GPU); without one only build-only cases are possible."""
        from harness.platform import gpu_info

        return gpu_info() is not None

    @classmethod
    def version(cls) -> str:
        return flavour_of(load()).label()

    @classmethod
    def supported_precisions(cls) -> tuple[str, ...]:
        return PRECISIONS

    @property
    def trt(self) -> Any:
        return self._trt if self._trt is not None else load()

    def gpu(self) -> dict[str, Any] | None:
        if self._gpu is not False:
            return self._gpu or None
        from harness.platform import gpu_info

        return gpu_info()

    # -- planning --------------------------------------------------------------------
    def plan(self, case: Any) -> Plan:
        flavour = flavour_of(self.trt)
        opts = self.parse_options(case.options, case.id)
        if opts.strongly_typed is False and not flavour.weakly_typed:
            raise ConfigError(f"{flavour.label()} builds strongly typed networks only; drop "
                              "strongly_typed = false", key=f"{case.id}: options.tensorrt")
        if case.precision == "tf32" and not flavour.weakly_typed:
            raise CaseSkipped(tf32_refusal(flavour.label()))
        gpu = self.gpu()
        target = opts.target.lower() if opts.target else None
        if target and not flavour.builds_for_target:
            raise CaseSkipped(f"options.tensorrt.target needs TensorRT-RTX; {flavour.label()} "
                              "builds for the GPU it runs on")
        if target is None and gpu is None:
            hint = (" (or set options.tensorrt.target, e.g. 'sm89', to build only)"
                    if flavour.builds_for_target else "")
            raise CaseSkipped(f"no NVIDIA GPU here: {flavour.label()} needs one to build and "
                              f"run engines{hint}")
        here = _cc(gpu) if gpu else None
        build_only = target is not None and here != target
        device = f"target:{target}" if target else f"{gpu['name']}:sm{here}"
        # FP8 needs explicit Q/DQ on every TensorRT; the rest follow the flavour's typing.
        weak = (flavour.weakly_typed and not opts.strongly_typed and case.precision != "fp8")
        return Plan(flavour, opts, case.precision, weak, target, device, build_only)

    # -- preparing -------------------------------------------------------------------
    def prepare(self, case: Any, model_path: str | None) -> Engine:
        if model_path is None:
            raise CaseSkipped(f"TensorRT builds from ONNX; {case.source!r} is not an ONNX model")
        trt, plan = self.trt, self.plan(case)
        logger = make_logger(trt)
        libraries = plug.init_plugins(trt, logger, plan.opts.plugins)
        source_inputs = onnx_input_specs(model_path)
        profiles = _profiles(case, plan.opts, source_inputs)
        shapes = profiles[0].opt
        calib_id, calib_note, feeds = None, None, None
        if plan.precision in ("int8", "fp8"):
            feeds, calib_id, calib_note = calibration_feeds(
                plan.opts.calibration, source_inputs, shapes,
                plan.opts.calibration_batches, case.seed, value_ranges_from_model(model_path))
        steps = self._steps(trt, plan, feeds, calib_id)
        onnx_path, model_hash = prepared_model(model_path, steps, self.cache_root / "onnx")
        parsed = loaders.parse_network(trt, logger, onnx_path, strongly_typed=not plan.weak)
        inputs, outputs = loaders.network_io(parsed.network)
        for i, profile in enumerate(profiles):
            loaders.check_profile(profile, inputs, f"{case.id}: profile {i}")
        layers = network_layers(parsed.network)
        if plan.flavour.is_rtx and any(ly["type"] == "NMS" for ly in layers):
            raise CaseSkipped(rtx_nms_refusal(plan.flavour.label(), plan.target))
        key_parts = {
            "model": model_hash, "flavour": plan.flavour.name, "version": plan.flavour.version,
            "device": plan.device, "precision": plan.precision, "weak": plan.weak,
            "profiles": [p.to_json() for p in profiles], "options": plan.opts.key(),
            "plugins": [_file_hash(p) for p in libraries], "calibration": calib_id,
        }
        key = cache_key(key_parts)
        engines = EngineCache(self.cache_root / "engines")
        notes = [f"{plan.flavour.label()}", "weakly typed (builder flags)" if plan.weak
                 else "strongly typed (precision from the ONNX model)"]
        notes += [n for n in (calib_note,) if n]
        with engines.locked(key):
            hit = engines.load(key, partial(self._header_problem, trt, logger, plan)) \
                if plan.opts.engine_cache else None
            if hit is None:
                data, record = self._build(trt, logger, plan, parsed, profiles, feeds, key,
                                           key_parts, layers, notes)
                if plan.opts.engine_cache:
                    record = engines.store(key, data, record)
            else:
                data, record = hit.data, hit.record
        notes += engines.notes
        prepared: Engine
        if plan.build_only:
            prepared = BuildOnlyEngine(inputs, outputs)
        else:
            cuda = (self._cuda_factory or _cuda_ops)()
            prepared = TrtEngine(trt, cuda, data, logger, options=plan.opts,
                                 profile=profiles[0])
            prepared.layout = self.layout
        b = prepared.build
        b.build_time_s = float(record["build_time_s"])
        b.engine_bytes = len(data)
        b.cache_hit = hit is not None
        b.layers = record["layers"]
        b.fingerprint = record["fingerprint"]
        b.notes = notes + list(record.get("build_notes", [])) + [f"engine cache key {key}"]
        b.warnings += engines.notes       # a damaged entry was rebuilt: say so on the case
        if calib_id is not None and calib_id.startswith("random:"):
            b.warnings.append(f"{plan.precision} scales from random data: {calib_note}; the "
                              "accuracy of this engine says nothing about real inputs")
        return prepared

    def _steps(self, trt: Any, plan: Plan, feeds: Any, calib_id: str | None) -> list:
        opts, steps = plan.opts, []
        if opts.nms is not None:
            use_plugin = plug.has_creator(trt, plug.EFFICIENT_NMS)
            steps.append(({"nms": opts.nms.model_dump(), "plugin": use_plugin},
                          partial(plug.add_nms, opts=opts.nms, use_plugin=use_plugin)))
        if not plan.weak and plan.precision in ("fp16", "bf16"):
            keep = tuple(opts.keep_fp32_ops)
            steps.append(({"half": plan.precision, "keep": list(keep)},
                          partial(to_half, precision=plan.precision, keep_fp32_ops=keep)))
        if not plan.weak and plan.precision in ("int8", "fp8"):
            steps.append(({"qdq": plan.precision, "calibration": calib_id},
                          partial(quantize, precision=plan.precision, feeds=feeds)))
        return steps

    def _build(self, trt: Any, logger: Any, plan: Plan, parsed: Any, profiles: list[Profile],
               feeds: Any, key: str, key_parts: dict[str, Any], layers: list[dict],
               notes: list[str]) -> tuple[bytes, dict[str, Any]]:
        builder, network = parsed.builder, parsed.network
        config = builder.create_builder_config()
        build_notes = loaders.configure(trt, plan.flavour, builder, config, plan.opts,
                                        plan.precision, plan.weak, plan.target)
        loaders.add_profiles(builder, network, config, profiles)
        calibrator = None
        if plan.weak and plan.precision == "int8":
            cuda = (self._cuda_factory or _cuda_ops)()
            calibrator = entropy_calibrator_trt10(
                trt, cuda, feeds, self.cache_root / "calibration" / f"{key}.table")
            loaders.set_calibrator_trt10(config, calibrator)
        timing = None
        if plan.opts.timing_cache and plan.flavour.real_timing_cache:
            timing = TimingCache(self.cache_root / "timing" /
                                 f"{plan.flavour.name}-{plan.flavour.version}-"
                                 f"{_slug(plan.device)}.cache")
            timing.attach(config)
        elif plan.opts.timing_cache:
            build_notes.append("timing cache: not used (a no-op in TensorRT-RTX)")
        try:
            data, seconds = loaders.build_serialized(builder, network, config, logger)
        finally:
            if calibrator is not None:
                calibrator.release()
        if timing is not None:
            timing.save(config)
            build_notes += [*timing.notes, f"timing cache {timing.path}"]
        record = {"key": key_parts, "build_time_s": seconds, "layers": layers,
                  "fingerprint": fingerprint(layers), "fingerprint_source": "network",
                  "build_notes": build_notes}
        return data, record

    @staticmethod
    def _header_problem(trt: Any, logger: Any, plan: Plan, data: bytes) -> str | None:
        if not plan.flavour.is_rtx:
            return None         # TensorRT 10/11 check the header on deserialisation
        return header_problem_rtx(trt, logger, data)


def header_problem_rtx(trt: Any, logger: Any, data: bytes) -> str | None:
    """TensorRT-RTX reads an engine's header without a GPU: a malformed one is a damaged
    cache entry. (Other invalidity without a GPU only says "cannot check the GPU".)"""
    runtime = trt.Runtime(logger)
    _, diagnostics = runtime.get_engine_validity(data)
    logger.errors.clear()
    if int(diagnostics) & int(trt.EngineInvalidityDiagnostics.MALFORMED_ENGINE):
        return "TensorRT-RTX reports a malformed engine header"
    return None


def _cuda_ops() -> Any:
    from harness.backends.tensorrt.cuda_mem import CudaOps

    return CudaOps()


def _cc(gpu: dict[str, Any]) -> str:
    return "sm" + str(gpu["compute_capability"]).replace(".", "")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text)


def _file_hash(path: str) -> str:
    from harness.fsutil import sha256_file

    return f"{Path(path).name}:{sha256_file(path)[:16]}"


def _profiles(case: Any, opts: TensorRTOptions, inputs: list[TensorSpec]) -> list[Profile]:
    """Profile 0 from the case (its shapes, else static at the run shape: the zoo's default
    shapes with the case's batch); then the scenario's extra profiles."""
    first = case.profile
    if first is None:
        given = None
        if case.source.startswith("zoo:"):
            from harness.models.zoo import DEFAULT_SHAPES

            given = parse_shapes(DEFAULT_SHAPES[case.source[4:]], batch=case.batch)
        first = Profile.static(resolve_run_shapes(inputs, given, case.batch))
    extra = []
    for i, spec in enumerate(opts.profiles):
        try:
            extra.append(Profile(min=parse_shapes(spec.min, batch=case.batch),
                                 opt=parse_shapes(spec.opt, batch=case.batch),
                                 max=parse_shapes(spec.max, batch=case.batch)))
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{case.id}: options.tensorrt.profiles[{i}]") \
                from None
    return [first, *extra]


__all__ = ["TARGETS", "BuildOnlyEngine", "TensorRTBackend"]
