"""A generative model of GPU timing noise, matched to the H200 figures in shared/gpu.md
("Run-to-run noise"), for the ``--simulate`` mode of the verdict experiments.

log(latency) of a sample = log(base) + log(1 + slowdown)
    + process offset      (new process / new day: sigma_process)
    + slow drift          (a level that jumps at random, on average every tau_s seconds,
                           to a new N(0, sigma_drift) value: clock/thermal/co-tenant states;
                           it makes time-adjacent runs agree while distant runs differ)
    + run/block offset    (redrawn after every (re-)warm-up: sigma_run)
    + sample noise        (AR(1) within a run: cv_sample, phi — samples are NOT independent)
    + rare spikes         (spike_rate, spike_size; the heavy right tail)

Presets are fitted so that, for runs of ~300 samples, the simulated within-run CV, CV of run
medians, and median gaps between time-adjacent and random runs land near the measured ones
(``python -m benchmarks.noise_model`` prints both).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoiseModel:
    base_ms: float
    cv_sample: float            # marginal CV of the AR(1) sample noise
    phi: float = 0.9            # lag-1 autocorrelation of samples within a run
    sigma_run: float = 0.0005   # per run / per block offset after a (re-)warm-up
    sigma_drift: float = 0.0033  # stationary SD of the slow drift
    tau_s: float = 60.0         # drift correlation time (seconds)
    sigma_process: float = 0.0015
    spike_rate: float = 0.002
    spike_size: float = 0.05


PRESETS = {
    # gpu.md: within 0.37 %, run medians CV 0.50 %, across processes 0.15 %,
    # adjacent gap 0.08 %, random gap 0.32 %
    "spin-1ms": NoiseModel(1.0, 0.0037, 0.6, 0.0002, 0.0050, 15.0, 0.0015),
    # within 1.8 %, run medians 0.92 %, processes 0.20 %, adjacent 0.41 %, random 1.03 %
    "spin-100us": NoiseModel(0.1, 0.018, 0.6, 0.004, 0.010, 15.0, 0.0020),
    # resnet50 fp16 CUDA graph b8: within 0.22 %, run medians 0.28 %, processes 0.47 %,
    # adjacent 0.16 %, random 0.50 %
    "resnet50-graph": NoiseModel(1.55, 0.0022, 0.6, 0.0012, 0.0025, 15.0, 0.0030),
    # eager torch (host-bound): between-trial CV up to 2.4 % (gpu.md); a rough stand-in
    "resnet50-eager": NoiseModel(3.8, 0.02, 0.6, 0.004, 0.010, 15.0, 0.005, 0.01, 0.2),
}


class Simulator:
    """A simulated GPU in wall time; every call advances the clock."""

    def __init__(self, model: NoiseModel, seed: int = 0) -> None:
        self.m = model
        self.rng = np.random.default_rng(seed)
        self.t = 0.0
        self.drift = self.rng.normal(0, model.sigma_drift)
        self.process = self.rng.normal(0, model.sigma_process)

    def new_process(self, gap_s: float = 3600.0) -> None:
        """A new process, ``gap_s`` later (an hour: the drift has forgotten the past)."""
        self.process = self.rng.normal(0, self.m.sigma_process)
        self.advance(gap_s)

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.rng.random() < -math.expm1(-seconds / self.m.tau_s):
            self.drift = self.rng.normal(0, self.m.sigma_drift)
        self.t += seconds

    def run(self, seconds: float, slowdown: float = 0.0, warmup_s: float = 0.2) -> np.ndarray:
        """One run (or block): warm-up, then samples for ``seconds``; latencies in ms."""
        m = self.m
        self.advance(warmup_s)
        n = max(3, int(seconds * 1e3 / m.base_ms))
        offset = self.rng.normal(0, m.sigma_run)
        innov = self.rng.normal(0, m.cv_sample * math.sqrt(1 - m.phi ** 2), n)
        ar = np.empty(n)
        prev = self.rng.normal(0, m.cv_sample)
        for i in range(n):       # AR(1); a plain loop is fast enough at these sizes
            prev = m.phi * prev + innov[i]
            ar[i] = prev
        # the drift moves during the run too: update it every ~50 ms of samples
        chunk = max(1, int(50 / m.base_ms))
        drift = np.empty(n)
        for start in range(0, n, chunk):
            drift[start:start + chunk] = self.drift
            self.advance(chunk * m.base_ms / 1e3)
        spikes = (self.rng.random(n) < m.spike_rate) * self.rng.exponential(m.spike_size, n)
        log_lat = (math.log(m.base_ms) + math.log1p(slowdown) + self.process + offset + drift
                   + ar + spikes)
        return np.exp(log_lat)


def check(preset: str, runs: int = 96, seed: int = 1) -> dict[str, float]:
    """The gpu.md figures, measured on the simulator (runs of ~300 samples, short gaps)."""
    sim = Simulator(PRESETS[preset], seed)
    meds, cvs = [], []
    for r in range(runs):
        if r and r % (runs // 4) == 0:         # 4 processes, as measured
            sim.new_process(gap_s=5.0)
        x = sim.run(0.3 * PRESETS[preset].base_ms)  # ~300 samples
        meds.append(np.median(x))
        cvs.append(x.std() / x.mean())
        sim.advance(0.5)
    meds_a = np.array(meds)
    adj = np.abs(np.diff(np.log(meds_a)))
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, runs, 500), rng.integers(0, runs, 500)
    keep = i != j
    rand = np.abs(np.log(meds_a[i[keep]]) - np.log(meds_a[j[keep]]))
    return {"within-run CV": float(np.median(cvs)),
            "CV of run medians": float(np.std(np.log(meds_a), ddof=1)),
            "median gap adjacent": float(np.median(adj)),
            "median gap random": float(np.median(rand))}


def check_median(preset: str, seeds: int = 6) -> dict[str, float]:
    """:func:`check` over several seeds, median of each figure (one seed is a few jumps)."""
    runs = [check(preset, seed=s) for s in range(seeds)]
    return {k: float(np.median([r[k] for r in runs])) for k in runs[0]}


if __name__ == "__main__":
    for name in PRESETS:
        figures = ", ".join(f"{k} {v:.2%}" for k, v in check_median(name).items())
        print(f"{name}: {figures}")
