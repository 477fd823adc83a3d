"""trtexec's spellings for ``trt-harness bench``: a trtexec line pasted after
``trt-harness bench`` does what its author meant, or says clearly why it cannot.

The mapping (also in README's "bench" section):

=========================================  ================================================
trtexec                                    trt-harness bench
=========================================  ================================================
``--onnx=FILE``                            the model argument
``--minShapes/--optShapes/--maxShapes``    the optimisation profile (``--shapes`` is the
                                           shape run, ``opt`` when not given)
``--shapes=SPEC``                          the shape run (static profile without min/max)
``--fp16`` / ``--bf16`` / ``--int8`` /      that precision; several: the narrowest, with a
``--fp8``                                  note (one precision per case here)
``--best``                                 refused: it lets TensorRT pick each layer's
                                           precision; the harness measures one per case
``--noTF32``                               accepted: ``fp32`` is FP32 math here already
``--useCudaGraph``                         ``timing.cuda_graph = true``
``--noDataTransfers``                      ``timing.transfers = false`` (the default here:
                                           copies stay outside the timed region unless
                                           ``--option`` ... asks; see README)
``--useSpinWait``                          ``timing.sync = "spin"``
``--warmUp=MS``                            warm-up of at least MS milliseconds
``--duration=S``                           measure for at least S seconds (a bare number, as
                                           trtexec takes it; ``--duration 3s`` with a unit is
                                           the harness's cap with early stop)
``--iterations=N``                         at least N timed inferences
``--exportTimes=FILE``                     per-inference times, trtexec's JSON layout
                                           (``latencyMs``/``computeMs`` per iteration)
``--loadInputs=name:file[,name:file]``     raw binary input files (dtype of the model's
                                           input, shape of the shape run)
=========================================  ================================================

Flags with no equivalent (``--saveEngine``, ``--avgRuns``, ...) are refused with what to
use instead (:data:`NO_EQUIVALENT`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

# narrowest first: several precision flags ask for the narrowest where possible
PRECISION_FLAGS = (("fp8", "fp8"), ("int8", "int8"), ("fp16", "fp16"), ("bf16", "bf16"))

NO_EQUIVALENT: dict[str, str] = {
    "--best": "it lets TensorRT pick each layer's precision among all it supports; the "
              "harness measures one precision per case: give --int8 or --fp16 (a scenario "
              "with several precisions compares them)",
    "--saveEngine": "engines are cached under $TRT_HARNESS_CACHE, keyed by model, TensorRT "
                    "version, GPU/target, precision, profiles and options",
    "--loadEngine": "the harness builds (or reuses from its cache) the engine from ONNX",
    "--avgRuns": "the harness reports the median of every inference with its confidence "
                 "interval (--rel-ci sets how tight)",
    "--streams": "one stream per case here; instances in parallel are not measured",
    "--exportProfile": "per-layer times are in the results JSON (--json) on a GPU",
    "--dumpProfile": "per-layer times are in the results JSON (--json) and the report",
    "--separateProfileRun": "layer profiling always runs in its own pass here",
    "--timingCacheFile": "the timing cache is kept (and merged under a lock) in "
                         "$TRT_HARNESS_CACHE",
    "--memPoolSize": "use --option workspace=1GiB (or --option memory_pools=...)",
    "--workspace": "use --option workspace=1GiB",
    "--builderOptimizationLevel": "use --option builder_optimization_level=N",
    "--skipInference": "use --option target=sm89 (TensorRT-RTX) for a build-only case",
    "--plugins": "use --option plugins='[\"lib.so\"]'",
    "--staticPlugins": "use --option plugins='[\"lib.so\"]'",
    "--exportOutput": "use the API (harness.api.bench) to keep outputs",
    "--verbose": "build notes and TensorRT warnings are in the results JSON (--json)",
}


class _Refuse(argparse.Action):
    """A trtexec flag with no equivalent: a usage error saying what to use instead."""

    def __init__(self, option_strings: list[str], dest: str, **kw: Any) -> None:
        kw.setdefault("nargs", "?")
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        raise argparse.ArgumentError(self, f"trtexec's {option_string} has no equivalent "
                                           f"here: {NO_EQUIVALENT[option_string or '']}")


def add_arguments(b: argparse.ArgumentParser) -> None:
    """trtexec's spellings on the ``bench`` parser."""
    g = b.add_argument_group("trtexec spellings (see harness.trtexec)")
    g.add_argument("--onnx", metavar="FILE", help="the model (trtexec's spelling)")
    for part in ("min", "opt", "max"):
        g.add_argument(f"--{part}Shapes", metavar="SPEC", dest=f"{part}_shapes",
                       help=f"optimisation profile {part} shapes")
    for flag, _ in PRECISION_FLAGS:
        g.add_argument(f"--{flag}", action="store_true", dest=f"trt_{flag}",
                       help=f"precision {flag}")
    g.add_argument("--noTF32", action="store_true", help="accepted: fp32 is FP32 math here")
    g.add_argument("--useCudaGraph", action="store_true", help="timing.cuda_graph = true")
    g.add_argument("--noDataTransfers", action="store_true",
                   help="timing.transfers = false (the default here)")
    g.add_argument("--useSpinWait", action="store_true", help='timing.sync = "spin"')
    g.add_argument("--warmUp", metavar="MS", type=_number, help="warm-up milliseconds")
    g.add_argument("--iterations", metavar="N", type=_count, help="at least N inferences")
    g.add_argument("--exportTimes", metavar="FILE", help="per-inference times (JSON)")
    g.add_argument("--loadInputs", metavar="SPEC", help="name:file.bin[,name:file.bin]")
    for flag in NO_EQUIVALENT:
        g.add_argument(flag, action=_Refuse, help=argparse.SUPPRESS)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number >= 0")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number >= 1")
    return value


def duration(text: str) -> str:
    """``--duration``: checked like any duration, kept as typed (a bare number is
    trtexec's least measuring time, one with a unit the harness's cap)."""
    from harness.arguments import positive_duration

    positive_duration(text)
    return text


def is_bare_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def bench_kwargs(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """The keyword arguments of :func:`harness.adhoc.bench_case` that ``args`` (harness and
    trtexec spellings together) ask for, and notes to print about the mapping."""
    from harness.arguments import parse_option
    from harness.inputs import parse_input_ranges
    from harness.units import parse_duration

    notes: list[str] = []
    model = args.model
    if args.onnx:
        if model and model != args.onnx:
            raise ConfigError(f"two models: {model!r} and --onnx={args.onnx!r}")
        model = args.onnx
    if not model:
        raise ConfigError("no model: give an .onnx file or zoo:NAME (or --onnx=FILE)")
    options = dict(parse_option(o) for o in (args.option or []))
    if args.threads:
        options["threads"] = args.threads
    asked = [p for flag, p in PRECISION_FLAGS if getattr(args, f"trt_{flag}")]
    precision = args.precision
    if asked:
        if args.precision_given and args.precision not in asked:
            raise ConfigError(f"--precision {args.precision} and --{asked[0]} disagree")
        precision = asked[0]
        if len(asked) > 1:
            notes.append(f"{' + '.join('--' + a for a in asked)}: measuring {precision} (one "
                         "precision per case here; layers it does not cover stay fp32, where "
                         "trtexec would let them run in the wider precisions you enabled)")
    timing: dict[str, Any] = {}
    if args.useCudaGraph:
        timing["cuda_graph"] = True
    if args.noDataTransfers:
        timing["transfers"] = False
    if args.useSpinWait:
        timing["sync"] = "spin"
    kw: dict[str, Any] = {
        "backend": args.backend, "precision": precision, "options": options,
        "seed": args.seed, "input_range": parse_input_ranges(args.input_range),
        "rel_ci": args.rel_ci, "timing": timing or None,
    }
    if any((args.min_shapes, args.opt_shapes, args.max_shapes)):
        if not (args.min_shapes and args.opt_shapes and args.max_shapes):
            raise ConfigError("--minShapes, --optShapes and --maxShapes go together (trtexec "
                              "needs all three too)")
        kw["profile_shapes"] = (args.min_shapes, args.opt_shapes, args.max_shapes)
    kw["shapes"] = args.shapes
    warm = args.warmup
    if args.warmUp is not None:
        warm = args.warmUp / 1e3
    kw["warmup"] = warm
    seconds = parse_duration(args.duration)
    kw["duration"] = seconds
    if is_bare_number(args.duration):
        kw["min_time"] = seconds        # trtexec: measure for at least this many seconds
    if args.iterations:
        kw["iterations"] = args.iterations
    if args.loadInputs:
        if args.inputs:
            raise ConfigError("--inputs and --loadInputs both give input data: use one")
        kw["inputs"] = args.loadInputs
    else:
        kw["inputs"] = args.inputs
    return {"model": model, **kw}, notes


def export_times(path: str | Path, samples_ms: list[float]) -> None:
    """trtexec's ``--exportTimes`` layout: one object per timed inference. The harness times
    the inference as a whole, so ``latencyMs`` and ``computeMs`` are the same figure and the
    H2D/D2H keys are absent (copies are outside the timed region unless asked)."""
    from harness.fsutil import atomic_write_json

    atomic_write_json(Path(path), [{"latencyMs": ms, "computeMs": ms} for ms in samples_ms])


def raw_input_spec(text: str) -> dict[str, str] | None:
    """``name:file[,name:file]`` (trtexec's ``--loadInputs``) as {name: file}; None when
    ``text`` is not such a spec (an .npz/.npy path)."""
    if text.endswith((".npz", ".npy")) and ":" not in text.replace("\\", "/").split("/")[-1]:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        name, sep, file = part.rpartition(":")
        if not sep or not name:
            return None
        out[name.strip("'")] = file
    return out


def load_raw(spec: dict[str, str], dtypes: dict[str, Any], shapes: dict[str, Any]
             ) -> dict[str, Any]:
    """Raw binary input files (trtexec's format: the tensor's bytes, nothing else)."""
    import numpy as np

    out = {}
    for name, file in spec.items():
        if name not in dtypes:
            raise ConfigError(f"--loadInputs names {name!r}; the model's inputs are "
                              f"{', '.join(sorted(dtypes))}")
        path = Path(file).expanduser()
        if not path.is_file():
            raise ConfigError(f"input data file {str(path)!r} not found")
        arr = np.fromfile(path, dtype=dtypes[name])
        shape = tuple(shapes[name])
        if arr.size != int(np.prod(shape)):
            raise ConfigError(f"{path}: {arr.size} values of {np.dtype(dtypes[name])}, the "
                              f"input {name!r} of shape {shape} needs {int(np.prod(shape))} "
                              "(give the shape with --shapes)")
        out[name] = arr.reshape(shape)
    missing = sorted(set(dtypes) - set(out))
    if missing:
        raise ConfigError(f"--loadInputs gives no file for input(s) {', '.join(missing)}")
    return out
