"""Pure arithmetic of GPU timing: turning event intervals into per-inference times for each
mode, and the warnings trtexec gives. No CUDA here, so it is tested on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

# trtexec's thresholds: enqueue slower than 0.8x the GPU time means the host, not the GPU,
# sets the pace; transfers as long as compute mean the copies dominate; CoV above 2.5 %
# means the figure is unstable.
ENQUEUE_BOUND = 0.8
UNSTABLE_COV = 0.025


def per_inference_ms(elapsed_ms: Sequence[float], runs_per_sample: int) -> list[float]:
    """Each event interval covered ``runs_per_sample`` back-to-back inferences (batched mode,
    or N graph replays between two events): the per-inference time is the interval over N.
    The event floor (one record-to-record gap) is thereby spread over N inferences."""
    if runs_per_sample < 1:
        raise ValueError("runs_per_sample must be >= 1")
    return [e / runs_per_sample for e in elapsed_ms]


def stage_split(marks_ms: Sequence[Sequence[float]],
                names: Sequence[str]) -> dict[str, list[float]]:
    """Per-iteration stage times from event timestamps: ``marks_ms[i]`` holds the times of the
    k+1 events around k stages of iteration i (relative to any origin); ``names`` the stages."""
    out: dict[str, list[float]] = {n: [] for n in names}
    for marks in marks_ms:
        if len(marks) != len(names) + 1:
            raise ValueError(f"need {len(names) + 1} events per iteration, got {len(marks)}")
        for j, n in enumerate(names):
            out[n].append(marks[j + 1] - marks[j])
    return out


def floor_share(median_ms: float, floor_ms: float) -> float:
    """How much of a per-iteration figure the event floor can be (0..1)."""
    return 0.0 if median_ms <= 0 else min(1.0, floor_ms / median_ms)


def warnings_for(gpu_ms: Sequence[float], enqueue_ms: Sequence[float] | None = None,
                 transfer_ms: Sequence[float] | None = None, cov: float | None = None,
                 cov_limit: float = UNSTABLE_COV) -> list[str]:
    """trtexec's three warnings, as sentences naming the figures that triggered them."""
    out: list[str] = []
    if not gpu_ms:
        return out
    gpu = median(gpu_ms)
    bound = enqueue_bound(gpu_ms, enqueue_ms)
    if bound:
        out.append(bound)
    if transfer_ms:
        tr = median(transfer_ms)
        if tr >= gpu:
            out.append(f"transfer-bound: H2D+D2H median {tr:.4g} ms >= compute median "
                       f"{gpu:.4g} ms")
    if cov is not None and cov > cov_limit:
        out.append(f"unstable: CoV {cov:.1%} > {cov_limit:.1%} (trtexec's threshold)")
    return out


def enqueue_bound(gpu_ms: Sequence[float], enqueue_ms: Sequence[float] | None) -> str | None:
    """trtexec's enqueue-bound warning, or None: the host took longer to enqueue an inference
    than ``ENQUEUE_BOUND`` x the GPU's time for it, so the GPU waited on the host and the
    figure is the host's launch pace (it moves with the host, not with the engine)."""
    if not gpu_ms or not enqueue_ms:
        return None
    gpu, enq = median(gpu_ms), median(enqueue_ms)
    if enq <= ENQUEUE_BOUND * gpu:
        return None
    return (f"enqueue-bound: host enqueue median {enq:.4g} ms > {ENQUEUE_BOUND}x the GPU median "
            f"{gpu:.4g} ms; throughput is limited by the host (try timing.cuda_graph or a "
            "larger batch)")


def rotation_sets(input_bytes: int, l2_bytes: int, cap: int = 64) -> int:
    """Input sets to rotate so consecutive runs never find their inputs in L2: enough to
    cover twice the L2 size, at least 2, at most ``cap``."""
    if input_bytes <= 0:
        return 2
    need = -(-2 * l2_bytes // input_bytes)
    return max(2, min(cap, need))
