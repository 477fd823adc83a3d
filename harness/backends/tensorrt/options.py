"""``options.tensorrt`` in a scenario: every builder and runtime knob, validated (unknown keys
are errors, as everywhere in scenario files) and part of the engine-cache key."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from harness.backends.base import BackendOptions
from harness.scenario.schema import ProfileSpec

# Compute capabilities TensorRT-RTX builds for without the GPU (``CURRENT`` needs one).
TARGETS = {"sm75": "SM75", "sm80": "SM80", "sm86": "SM86", "sm89": "SM89", "sm120": "SM120"}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$", re.IGNORECASE)
_SCALE = {"b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 10**3, "mb": 10**6,
          "gb": 10**9, None: 1}


def parse_size(value: Any) -> int:
    """Bytes for ``"1GiB"``, ``"512MiB"`` or a bare integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"not a size: {value!r} (use e.g. '1GiB', '512MiB' or bytes)")
    unit = m.group(2).lower() if m.group(2) else None
    return int(float(m.group(1)) * _SCALE[unit])


Bytes = Annotated[int, BeforeValidator(parse_size)]


class NmsOptions(BackendOptions):
    """Add an EfficientNMS_TRT plugin after a detector's box and score outputs (graph surgery,
    as in the YuNet article): NMS then runs inside the engine instead of in Python."""

    boxes: str                           # output [N, anchors, 4] (or [N, 4, anchors])
    scores: str                          # output [N, anchors, classes] (or transposed)
    transpose: bool = False              # outputs are channel-first (YOLO's N x C x anchors)
    max_detections: int = Field(default=100, ge=1)
    score_threshold: float = 0.25
    iou_threshold: float = 0.45
    box_coding: int = Field(default=0, ge=0, le=1)    # 0: x1y1x2y2 corners, 1: cx,cy,w,h


MEMORY_POOLS = ("workspace", "tactic_shared_memory", "tactic_dram")


class TensorRTOptions(BackendOptions):
    target: str | None = None            # build-only for this compute capability (TensorRT-RTX)
    workspace: Bytes | None = None
    # tactic_shared_memory, tactic_dram
    memory_pools: dict[str, Bytes] = Field(default_factory=dict)
    builder_optimization_level: int | None = Field(default=None, ge=0, le=5)
    strongly_typed: bool | None = None    # TensorRT 10: precision by ONNX transform, not flags
    profiles: list[ProfileSpec] = Field(default_factory=list)  # after the case's own (0)
    plugins: list[str] = Field(default_factory=list)  # libraries loaded before parse/load
    nms: NmsOptions | None = None
    calibration: str | None = None        # .npz of representative inputs (INT8/FP8)
    calibration_batches: int = Field(default=8, ge=1)
    # ONNX op types the FP16/BF16 transform leaves alone
    keep_fp32_ops: list[str] = Field(default_factory=list)
    timing_cache: bool = True
    engine_cache: bool = True
    profile_layers: bool = True           # a separate IProfiler pass after the timed run
    profile_iterations: int = Field(default=10, ge=1)
    shape_switch: bool = True             # measure switching between profile shapes

    @field_validator("target")
    @classmethod
    def _known_target(cls, v: str | None) -> str | None:
        if v is not None and v.lower() not in TARGETS:
            raise ValueError(f"unknown target {v!r}; expected one of {', '.join(TARGETS)}")
        return v

    @field_validator("memory_pools")
    @classmethod
    def _known_pools(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(MEMORY_POOLS))
        if unknown:
            raise ValueError(f"unknown memory pools {unknown}; expected some of "
                             f"{', '.join(MEMORY_POOLS)}")
        return v

    def key(self) -> dict[str, Any]:
        """The options that change the engine (cache key); run-time-only ones left out."""
        return self.model_dump(exclude={"engine_cache", "timing_cache", "profile_layers",
                                        "profile_iterations", "shape_switch"}, mode="json")
