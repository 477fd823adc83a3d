"""Calibration data for INT8/FP8: batches from the scenario's ``calibration`` file (an .npz
with one array per input; the first axis is split into batches) or, without one, seeded random
inputs (noted with the result: scales from random data say nothing about accuracy).

Feeds both routes to low precision: the Q/DQ transform (strongly typed) and TensorRT 10's
entropy calibrator (weakly typed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import TensorSpec
from harness.errors import ConfigError
from harness.inputs import load_inputs, random_inputs
from harness.scenario.paths import scenario_path
from harness.scenario.shapes import Shape


def calibration_feeds(path: str | None, specs: list[TensorSpec],
                      shapes: dict[str, Shape], batches: int, seed: int,
                      ranges: dict[str, tuple[float, float]] | None = None,
                      ) -> tuple[list[dict[str, np.ndarray]], str, str]:
    """(feeds, content hash for the cache key, a note on where they came from). ``path``
    follows the scenario path rule (:mod:`harness.scenario.paths`): expansion made a
    scenario's absolute; one given in code is relative to the working directory."""
    if path is None:
        feeds = [random_inputs(specs, shapes, seed + i, ranges) for i in range(batches)]
        note = (f"calibrated on {batches} batches of seeded random data (give "
                "options.tensorrt.calibration for representative scales)")
        return feeds, f"random:{seed}:{batches}", note
    file = scenario_path(path, None)
    data = load_inputs(file, specs)
    batch = next(iter(shapes.values()))[0]
    total = min(len(a) for a in data.values())
    if total < batch:
        raise ConfigError(f"calibration data {file} has {total} samples, fewer than one batch "
                          f"of {batch}")
    feeds = []
    for start in range(0, total - batch + 1, batch):
        feeds.append({k: np.ascontiguousarray(v[start:start + batch]) for k, v in data.items()})
        if len(feeds) == batches:
            break
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    return feeds, f"file:{digest}:{len(feeds)}", f"calibrated on {len(feeds)} batches from {file}"


def entropy_calibrator_trt10(trt: Any, cuda: Any, feeds: list[dict[str, np.ndarray]],
                             cache_path: Path) -> Any:
    """TensorRT 10's IInt8EntropyCalibrator2 fed from ``feeds`` through device buffers; its
    calibration table is kept beside the engine cache."""

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.index = 0
            self.device = {k: cuda.alloc(v.nbytes) for k, v in feeds[0].items()}
            self.stream = cuda.new_stream()

        def get_batch_size(self) -> int:
            return int(next(iter(feeds[0].values())).shape[0])

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self.index >= len(feeds):
                return None
            feed = feeds[self.index]
            self.index += 1
            for name in names:
                cuda.h2d(self.device[name], np.ascontiguousarray(feed[name]), self.stream)
            cuda.sync(self.stream)
            return [self.device[name] for name in names]

        def read_calibration_cache(self) -> bytes | None:
            return cache_path.read_bytes() if cache_path.exists() else None

        def write_calibration_cache(self, cache: Any) -> None:
            from harness.fsutil import atomic_write_bytes

            atomic_write_bytes(cache_path, bytes(memoryview(cache)))

        def release(self) -> None:
            for ptr in self.device.values():
                cuda.free(ptr)
            self.device = {}

    return EntropyCalibrator()
