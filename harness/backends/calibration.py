"""The calibration backend: CUDA spin kernels of a known cycle count, compiled at run time
(NVRTC through cuda.core), each recording ``%globaltimer`` at its start and end. It is the
ground truth of the harness's GPU timing: the timer's figure is compared with the kernels' own
in-kernel duration, and an injected slowdown (``slowdown = "5%"``: 5 % more cycles) is a
regression of exactly known size for the verdict and A/B experiments.

Scenario options (``options.calibration``): ``kernel_us`` (duration per kernel at the
reference clock, default 100), ``slowdown`` (fraction or "x%", default 0), ``kernels_per_run``
(kernels per inference, default 1), ``blocks`` (default 1), ``clock_mhz`` (reference SM clock
for the cycle count; default the GPU's maximum SM clock).

From Python::

    from harness.backends.calibration import CalibrationBackend
    with CalibrationBackend.engine(kernel_us=100, slowdown=0.05) as eng:
        ...   # eng.set_stream(s); eng.bind({}); eng.run(); eng.reference_timing()
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, Field

from harness import gpu
from harness.backends.base import Backend, BackendOptions, Engine
from harness.errors import CaseSkipped
from harness.units import parse_fraction

RING_CAPACITY = 1 << 17


class CalibrationOptions(BackendOptions):
    """``options.calibration`` (module docstring); a slowdown of -100 % would be no kernel."""

    kernel_us: float = Field(default=100.0, gt=0, allow_inf_nan=False)
    slowdown: Annotated[float, BeforeValidator(parse_fraction), Field(gt=-1)] = 0.0
    kernels_per_run: int = Field(default=1, ge=1, le=1 << 20)
    blocks: int = Field(default=1, ge=1, le=1 << 16)
    clock_mhz: float | None = Field(default=None, gt=0, allow_inf_nan=False)


@dataclass(frozen=True)
class SpinConfig:
    kernel_us: float = 100.0
    slowdown: float = 0.0
    kernels_per_run: int = 1
    blocks: int = 1
    clock_mhz: float | None = None

    @classmethod
    def from_options(cls, opts: dict[str, Any], where: str = "") -> SpinConfig:
        return cls(**CalibrationBackend.parse_options(opts, where).model_dump())


def reference_clock_mhz() -> float:
    """The SM clock the cycle counts are computed for: NVML's maximum SM clock, else the
    device attribute (which is the same figure on current drivers)."""
    try:
        import pynvml

        from harness.telemetry.nvml import device_handle

        return float(pynvml.nvmlDeviceGetMaxClockInfo(device_handle(), pynvml.NVML_CLOCK_SM))
    except Exception:
        return gpu.properties()["clock_rate_khz"] / 1e3


class CalibrationEngine(Engine):
    is_async = True
    supports_cuda_graph = True
    # A spin on registers touches no memory: four preparations on the H100 agreed to 0.002 %
    # (benchmarks/device/instances.py), so A/B verdicts add no instance term for it.
    instance_spread = 0.0

    def __init__(self, config: SpinConfig) -> None:
        super().__init__()
        self.config = config
        self.clock_mhz = config.clock_mhz or reference_clock_mhz()
        self.cycles = round(config.kernel_us * self.clock_mhz * (1.0 + config.slowdown))
        self.ring: Any = None
        self._args: tuple[Any, ...] = ()

    def activate_impl(self) -> None:
        from harness import kernels

        if self.stream is None:
            self.stream = gpu.harness_stream()
        kernels.module()            # compile before anything is timed
        self.ring = kernels.Ring(RING_CAPACITY, self.stream)

    def deactivate_impl(self) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring = None

    def set_stream(self, stream: object) -> None:
        super().set_stream(stream)
        if self.ring is not None:
            self.ring.stream = stream

    def bind_impl(self, feed: dict[str, np.ndarray]) -> None:
        from cuda.core import LaunchConfig, launch

        from harness import kernels

        cfg = LaunchConfig(grid=self.config.blocks, block=32)
        k = kernels.kernel("spin")
        args = (np.int64(self.cycles), *self.ring.args())
        stream, n = self.stream, self.config.kernels_per_run

        def run() -> None:
            for _ in range(n):
                launch(stream, cfg, k, *args)
        self._run = run

    def run_impl(self) -> None:
        self._run()

    def fetch_outputs_impl(self) -> dict[str, np.ndarray]:
        self.stream.sync()
        return {}

    def on_measure_start(self) -> None:
        """Forget the warm-up's kernels: the reference covers the measured ones only."""
        self.ring.reset()

    def in_kernel_ms(self) -> list[float]:
        """In-kernel durations (``%globaltimer`` end - start) of the kernels recorded, ms."""
        pairs = self.ring.read()
        return [(int(b) - int(a)) * 1e-6 for a, b in pairs]

    def reference_timing(self) -> dict[str, Any]:
        """The ground truth beside the timer's figure: per kernel and per inference."""
        per_kernel = self.in_kernel_ms()
        med = median(per_kernel) if per_kernel else None
        return {"source": "%globaltimer in each kernel (block 0)",
                "kernel_us": self.config.kernel_us,
                "slowdown": self.config.slowdown, "cycles": self.cycles,
                "clock_mhz": self.clock_mhz, "kernels_per_run": self.config.kernels_per_run,
                "kernels_recorded": len(per_kernel),
                "per_kernel_median_ms": med,
                "per_run_median_ms": None if med is None else med * self.config.kernels_per_run}

    def memory(self) -> dict[str, int]:
        return {"device_bytes": 16 * RING_CAPACITY + 4}


class CalibrationBackend(Backend):
    name = "calibration"
    options_model = CalibrationOptions
    precision_hint = "(calibration kernels have no precision: run them as fp32)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return gpu.unavailable_reason()

    @classmethod
    def version(cls) -> str:
        import cuda.core

        return f"cuda.core {cuda.core.__version__} + NVRTC"

    @classmethod
    def supported_precisions(cls) -> tuple[str, ...]:
        return ("fp32",)

    def prepare(self, case: Any, model_path: str | None) -> CalibrationEngine:
        config = SpinConfig.from_options(dict(case.options), case.id)
        gpu.ensure_current()
        engine = CalibrationEngine(config)
        engine.build.notes.append(f"spin {config.kernel_us:g} us x {config.kernels_per_run} "
                                  f"at {engine.clock_mhz:g} MHz = {engine.cycles} cycles"
                                  + (f", slowdown {config.slowdown:+.2%}"
                                     if config.slowdown else ""))
        return engine

    @staticmethod
    def engine(**options: Any) -> CalibrationEngine:
        """An engine straight from options, for Python experiments (no scenario needed)."""
        reason = gpu.unavailable_reason()
        if reason:
            raise CaseSkipped(reason)
        gpu.ensure_current()
        return CalibrationEngine(SpinConfig.from_options(options))
