"""Input data for a case: random per tensor spec (seeded, never all zeros, valid values per
dtype) or real data from ``.npy``/``.npz`` files; and the resolution of run shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import ConfigError
from harness.scenario.shapes import Shape, format_shapes
from harness.tensors import TensorSpec

# Integer inputs feed embeddings, masks, lengths and class ids; without a hint a small
# positive range is valid for nearly all of them (never 0 everywhere, never out of range).
DEFAULT_INT_RANGE = (1, 4)


def resolve_run_shapes(specs: list[TensorSpec], given: dict[str, Shape] | None,
                       batch: int) -> dict[str, Shape]:
    """Shapes to run at: the given ones, else static dims with a dynamic *first* dim taken as
    the batch. Any other dynamic dim without a shape is an error naming input and dims."""
    given = given or {}
    unknown = set(given) - {s.name for s in specs}
    if unknown:
        raise ConfigError(f"shapes name inputs the model does not have: {sorted(unknown)}; its "
                          "inputs are " + ", ".join(s.describe() for s in specs))
    # Named dynamic dims are shared across inputs (ONNX symbolic dims): "batch" in
    # state[2, batch, 128] is the batch of input[batch, samples]. Values come from the given
    # shapes and from a dynamic first dim taken as the batch.
    symbols: dict[str, int] = {}
    for spec in specs:
        for i, d in enumerate(spec.shape):
            if isinstance(d, str) and d:
                if spec.name in given and i < len(given[spec.name]):
                    symbols.setdefault(d, given[spec.name][i])
                elif i == 0 and spec.name not in given:
                    symbols.setdefault(d, batch)
    shapes: dict[str, Shape] = {}
    problems = []
    for spec in specs:
        if spec.name in given:
            shapes[spec.name] = given[spec.name]
            continue
        dims, open_dims = [], []
        for i, d in enumerate(spec.shape):
            if isinstance(d, int) and d >= 0:
                dims.append(d)
            elif isinstance(d, str) and d in symbols:
                dims.append(symbols[d])
            elif i == 0:
                dims.append(batch)
            else:
                open_dims.append(f"{i} ({d or '?'})")
                dims.append(-1)
        if open_dims:
            problems.append(f"input {spec.name!r} ({spec.describe()}) has dynamic dimension(s) "
                            f"{', '.join(open_dims)}")
        shapes[spec.name] = tuple(dims)
    if problems:
        # The example names only the inputs that need a shape (scalars and static inputs
        # would only confuse it), with the batch where it was filled in.
        example = format_shapes({k: tuple(d if d > 0 else 16 for d in v)
                                 for k, v in shapes.items() if -1 in v})
        raise ConfigError("; ".join(problems) + f": give their shapes, e.g. --shapes {example} "
                          "(or 'shapes' in the scenario)")
    return shapes


def value_ranges_from_model(onnx_path: str | None) -> dict[str, tuple[float, float]]:
    """Valid ranges for integer inputs, read from the graph: an explicit metadata hint, or an
    input that indexes a constant table through Gather (embedding ids: 0..rows-1)."""
    if not onnx_path:
        return {}
    import onnx

    model = onnx.load(onnx_path, load_external_data=False)
    ranges: dict[str, tuple[float, float]] = {}
    for prop in model.metadata_props:
        if prop.key == "trt_harness.input_range":
            ranges.update({k: tuple(v) for k, v in json.loads(prop.value).items()})
    graph_inputs = {i.name for i in model.graph.input}
    init_shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] in graph_inputs:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            dims = init_shapes.get(node.input[0])
            if dims and node.input[1] not in ranges:
                ranges[node.input[1]] = (0, dims[axis] - 1)
    return ranges


def parse_input_ranges(items: list[str] | None) -> dict[str, tuple[float, float]]:
    """``NAME=LO..HI`` (inclusive) or ``NAME=VALUE``, as ``--input-range`` takes them: the
    values generated for an input (a sample rate, token ids below the vocabulary size)."""
    ranges: dict[str, tuple[float, float]] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        lo, dots, hi = value.partition("..")
        try:
            if not sep or not name:
                raise ValueError
            ranges[name] = (float(lo), float(hi if dots else lo))
        except ValueError:
            raise ConfigError(f"--input-range {item!r}: expected NAME=LO..HI or NAME=VALUE "
                              "(e.g. sr=16000, input_ids=0..30521)") from None
        if ranges[name][0] > ranges[name][1]:
            raise ConfigError(f"--input-range {item!r}: the low end is above the high end")
    return ranges


def generated_int_note(specs: list[TensorSpec], ranges: dict[str, tuple[float, float]]
                       ) -> str:
    """A hint for a model that failed on generated inputs: integer inputs filled from the
    default range may hold values the model rejects (a sample rate, a class id, a length)."""
    guessed = [s.name for s in specs if np.dtype(s.dtype if s.dtype != "bfloat16" else "f4")
               .kind in "iu" and s.name not in ranges]
    if not guessed:
        return ""
    lo, hi = DEFAULT_INT_RANGE
    return (f"integer input(s) {guessed} were generated in [{lo}, {hi}] (no valid range is known "
            f"for them); give their values with --input-range NAME=LO..HI or NAME=VALUE "
            "(scenario: input_range), or real data with --inputs FILE.npz")


def random_inputs(specs: list[TensorSpec], shapes: dict[str, Shape], seed: int,
                  ranges: dict[str, tuple[float, float]] | None = None) -> dict[str, np.ndarray]:
    """Seeded random inputs with valid values for each dtype; floats in [-1, 1) as after
    normalisation, ints within ``ranges`` (inclusive) or a small positive range, bools mixed."""
    rng = np.random.default_rng(seed)
    ranges = ranges or {}
    feed: dict[str, np.ndarray] = {}
    for spec in specs:
        shape = shapes[spec.name]
        dtype = np.dtype(spec.dtype) if spec.dtype != "bfloat16" else None
        if dtype is None:
            raise ConfigError(f"input {spec.name!r} is bfloat16, which numpy cannot hold; "
                              "supply it from a .npy file as float32 and a bf16 backend")
        if dtype.kind == "f":
            lo, hi = ranges.get(spec.name, (-1.0, 1.0))
            arr = rng.uniform(lo, hi, size=shape).astype(dtype)
        elif dtype.kind in "iu":
            lo, hi = ranges.get(spec.name, DEFAULT_INT_RANGE)
            arr = rng.integers(int(lo), int(hi), size=shape, endpoint=True).astype(dtype)
        elif dtype.kind == "b":
            arr = rng.random(size=shape) < 0.5
        else:
            raise ConfigError(f"input {spec.name!r} has dtype {spec.dtype}, which the harness "
                              "cannot generate; supply real data with --inputs FILE.npz")
        feed[spec.name] = arr
    return feed


def load_inputs(path: str | Path, specs: list[TensorSpec]) -> dict[str, np.ndarray]:
    """Real input data: an ``.npz`` with one array per input name, or an ``.npy`` for a model
    with a single input. Dtypes are converted to the model's where that is lossless."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"input data file {str(path)!r} not found")
    if path.suffix == ".npz":
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    elif path.suffix == ".npy":
        if len(specs) != 1:
            raise ConfigError(f"{path}: a .npy file feeds a model with one input; this model "
                              f"has {len(specs)} ({', '.join(s.name for s in specs)}): use .npz")
        arrays = {specs[0].name: np.load(path)}
    else:
        raise ConfigError(f"{path}: input data must be .npy or .npz")
    names = {s.name for s in specs}
    if set(arrays) != names:
        raise ConfigError(f"{path}: arrays {sorted(arrays)} do not match the model's inputs "
                          f"{sorted(names)}")
    out = {}
    for spec in specs:
        arr = arrays[spec.name]
        if arr.dtype != np.dtype(spec.dtype):
            if not np.can_cast(arr.dtype, spec.dtype, casting="same_kind"):
                raise ConfigError(f"{path}: array {spec.name!r} is {arr.dtype}, the model wants "
                                  f"{spec.dtype}")
            arr = arr.astype(spec.dtype)
        out[spec.name] = arr
    return out


def input_shapes(feed: dict[str, np.ndarray]) -> dict[str, Any]:
    return {k: tuple(int(d) for d in v.shape) for k, v in feed.items()}
