"""Polygraphy-style loaders, one step each: ONNX -> network (parser), network + case ->
builder config (precision, memory pools, optimisation level, profiles, target), config ->
serialised engine. Each works on whichever TensorRT the shim loaded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.backends.base import TensorSpec
from harness.backends.tensorrt.errors import BuildError, ParseError
from harness.backends.tensorrt.names import TARGET_MEMBERS
from harness.backends.tensorrt.options import TARGETS, TensorRTOptions
from harness.backends.tensorrt.shim import Flavour
from harness.errors import ConfigError
from harness.scenario.shapes import Profile, format_shapes

# TensorRT DataType names -> numpy dtype names (the harness's TensorSpec vocabulary).
DTYPES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8",
          "INT32": "int32", "INT64": "int64", "BOOL": "bool", "UINT8": "uint8",
          "FP8": "float8_e4m3fn", "INT4": "int4", "FP4": "float4_e2m1fn"}


def dtype_name(dtype: Any) -> str:
    return DTYPES.get(dtype.name, dtype.name.lower())


@dataclass
class Parsed:
    builder: Any
    network: Any
    parser: Any     # kept alive: the network refers to the parser's weights


def parse_network(trt: Any, logger: Any, onnx_path: str, strongly_typed: bool) -> Parsed:
    builder = trt.Builder(logger)
    flags = 0
    if strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_path):
        raise ParseError(onnx_path, [_parser_error(parser.get_error(i))
                                     for i in range(parser.num_errors)])
    return Parsed(builder, network, parser)


def _parser_error(error: Any) -> dict[str, Any]:
    return {"node": error.node(), "node_name": error.node_name(), "op": error.node_operator(),
            "code": error.code().name, "message": error.desc()}


def network_io(network: Any) -> tuple[list[TensorSpec], list[TensorSpec]]:
    def spec(tensor: Any) -> TensorSpec:
        return TensorSpec(tensor.name, dtype_name(tensor.dtype),
                          tuple(d if d >= 0 else None for d in tensor.shape))

    return ([spec(network.get_input(i)) for i in range(network.num_inputs)],
            [spec(network.get_output(i)) for i in range(network.num_outputs)])


def check_profile(wanted: Profile, inputs: list[TensorSpec], where: str) -> None:
    """Every dynamic input has shapes; ranks and static dims agree with the model."""
    specs = {s.name: s for s in inputs}
    unknown = set(wanted.opt) - set(specs)
    if unknown:
        raise ConfigError(f"{where}: the profile names inputs the model does not have: "
                          f"{sorted(unknown)}; its inputs are "
                          + ", ".join(s.describe() for s in inputs))
    for spec in inputs:
        if spec.name not in wanted.opt:
            if spec.dynamic_dims:
                raise ConfigError(f"{where}: input {spec.describe()} is dynamic but the profile "
                                  f"gives no shape for it ({format_shapes(wanted.opt)})")
            continue
        for part in ("min", "opt", "max"):
            shape = getattr(wanted, part)[spec.name]
            bad = len(shape) != len(spec.shape) or any(
                isinstance(d, int) and d != s for d, s in zip(spec.shape, shape, strict=False))
            if bad:
                raise ConfigError(f"{where}: {part} shape {shape} of input {spec.name!r} is "
                                  f"outside what the model allows ({spec.describe()})")


def add_profiles(builder: Any, network: Any, config: Any, profiles: list[Profile]) -> None:
    for p in profiles:
        profile = builder.create_optimization_profile()
        for i in range(network.num_inputs):
            name = network.get_input(i).name
            if name in p.opt:
                profile.set_shape(name, p.min[name], p.opt[name], p.max[name])
        config.add_optimization_profile(profile)


def configure(trt: Any, flavour: Flavour, builder: Any, config: Any, opts: TensorRTOptions,
              precision: str, weak: bool, target: str | None) -> list[str]:
    """Builder settings for the case; returns notes on what was set (kept with the result)."""
    notes = []
    pools = dict(opts.memory_pools)
    if opts.workspace is not None:
        pools["workspace"] = opts.workspace
    for pool, size in pools.items():
        config.set_memory_pool_limit(_pool(trt, pool), size)
        notes.append(f"memory pool {pool}={size}")
    if opts.builder_optimization_level is not None:
        config.builder_optimization_level = opts.builder_optimization_level
        notes.append(f"builder_optimization_level={opts.builder_optimization_level}")
    # DETAILED keeps layer names and tactics in the engine, for the inspector's fingerprint.
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    # TF32 is on by default in TensorRT: "fp32" must mean FP32 math, "tf32" asks for TF32.
    if precision == "tf32":
        config.set_flag(trt.BuilderFlag.TF32)
    else:
        config.clear_flag(trt.BuilderFlag.TF32)
    if weak:
        notes.extend(set_precision_flags_trt10(trt, config, precision))
    if target:
        set_target_rtx(trt, config, target)
        notes.append(f"built for target {target} without that GPU")
    return notes


def _pool(trt: Any, name: str) -> Any:
    return {"workspace": trt.MemoryPoolType.WORKSPACE,
            "tactic_shared_memory": trt.MemoryPoolType.TACTIC_SHARED_MEMORY,
            "tactic_dram": trt.MemoryPoolType.TACTIC_DRAM}[name]


def set_precision_flags_trt10(trt: Any, config: Any, precision: str) -> list[str]:
    """TensorRT 10's weakly typed precisions: the builder may pick these kernels."""
    flags = {"fp16": [trt.BuilderFlag.FP16], "bf16": [trt.BuilderFlag.BF16],
             "int8": [trt.BuilderFlag.INT8]}.get(precision, [])
    for flag in flags:
        config.set_flag(flag)
    return [f"weakly typed: builder flag {precision.upper()}"] if flags else []


def set_calibrator_trt10(config: Any, calibrator: Any) -> None:
    config.int8_calibrator = calibrator


def set_target_rtx(trt: Any, config: Any, target: str) -> None:
    """TensorRT-RTX builds for a named compute capability with no GPU present."""
    member = TARGETS[target.lower()]
    assert member in TARGET_MEMBERS
    config.num_compute_capabilities = 1
    config.set_compute_capability(getattr(trt.ComputeCapability, member), 0)


def build_serialized(builder: Any, network: Any, config: Any, logger: Any) -> tuple[bytes, float]:
    t0 = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    elapsed = time.perf_counter() - t0
    if plan is None:
        raise BuildError(f"TensorRT could not build the engine: {logger.take_errors()}")
    return bytes(memoryview(plan)), elapsed
