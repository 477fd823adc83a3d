"""Host contention: what competed for the CPU while a host-timed case was measured.

Two snapshots of ``/proc/stat`` (CPU time of the whole machine by kind, in clock ticks) and
``/proc/self/stat`` (this process's own user + system time, all threads) around the
measuring window give, by difference:

* ``others_cores``: the CPU time of everything else (busy time of all CPUs less this
  process's), in cores on average over the window: other processes, kernel work for them,
  interrupts;
* ``self_cores``: this process's own use (a single-threaded CPU case: about 1);
* ``steal_share``: the time a hypervisor gave this VM's CPUs to another guest;
* ``iowait_share``: CPUs idle waiting for I/O (recorded; it does not itself take CPU);
* ``load_avg_1m``: the kernel's one-minute load average at the end (recorded only: it lags
  the window by a minute and counts the case itself).

Parsing and arithmetic are pure functions (:func:`parse_proc_stat`, :func:`parse_self_stat`,
:func:`host_load`, :func:`combine`, :func:`host_busy`); :func:`snapshot` is the only reader.
The measurement loop records each window in a per-thread accumulator (:func:`record`); the
result writer takes it (:func:`take`) when the case's result is added.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq")   # guest time is inside user


@dataclass(frozen=True)
class HostSnapshot:
    cpu: dict[str, int]      # /proc/stat "cpu" line, all CPUs summed, clock ticks
    cpus: int                # "cpuN" lines
    self_ticks: int          # this process's utime + stime
    t_s: float               # time.perf_counter()
    load_avg_1m: float | None = None


@dataclass(frozen=True)
class HostLoad:
    """What competed for the CPU during a measuring window (or several, combined)."""

    wall_s: float
    cpus: int
    others_cores: float
    self_cores: float
    steal_share: float
    iowait_share: float
    load_avg_1m: float | None = None
    windows: int = 1

    @property
    def idle_cores(self) -> float:
        """Cores the case left to everything else."""
        return max(self.cpus - self.self_cores, 0.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HostLoad:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def parse_proc_stat(text: str) -> tuple[dict[str, int], int]:
    """The summed ``cpu`` line of /proc/stat by field, and the number of CPUs."""
    total: dict[str, int] = {}
    cpus = 0
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "cpu":
            total = {k: int(v) for k, v in zip(CPU_FIELDS, parts[1:], strict=False)}
        elif parts[0].startswith("cpu") and parts[0][3:].isdigit():
            cpus += 1
    return total, max(cpus, 1)


def parse_self_stat(text: str) -> int:
    """utime + stime (clock ticks) from /proc/<pid>/stat; the name in parentheses may hold
    spaces, so fields are counted after its closing parenthesis (utime is field 14)."""
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def snapshot() -> HostSnapshot | None:
    """The current counters; None where /proc is not there (macOS, Windows)."""
    try:
        with open("/proc/stat") as f:
            cpu, cpus = parse_proc_stat(f.read())
        with open("/proc/self/stat") as f:
            own = parse_self_stat(f.read())
    except (OSError, ValueError, IndexError):
        return None
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return HostSnapshot(cpu, cpus, own, time.perf_counter(), load)


def host_load(before: HostSnapshot, after: HostSnapshot) -> HostLoad | None:
    """The window between two snapshots; None when no CPU time was counted in it."""
    delta = {k: after.cpu.get(k, 0) - before.cpu.get(k, 0) for k in CPU_FIELDS}
    total = sum(max(v, 0) for v in delta.values())
    if total <= 0:
        return None
    busy = sum(max(delta[k], 0) for k in BUSY_FIELDS)
    own = max(after.self_ticks - before.self_ticks, 0)
    cpus = after.cpus
    return HostLoad(wall_s=after.t_s - before.t_s, cpus=cpus,
                    others_cores=max(busy - own, 0) / total * cpus,
                    self_cores=min(own, total) / total * cpus,
                    steal_share=max(delta["steal"], 0) / total,
                    iowait_share=max(delta["iowait"], 0) / total,
                    load_avg_1m=after.load_avg_1m)


def combine(a: HostLoad | None, b: HostLoad | None) -> HostLoad | None:
    """Two windows of one case (e.g. several layouts) as one: time-weighted means."""
    if a is None or b is None:
        return a or b
    w = a.wall_s + b.wall_s
    if w <= 0:
        return b

    def mean(x: float, y: float) -> float:
        return (x * a.wall_s + y * b.wall_s) / w

    return HostLoad(wall_s=w, cpus=b.cpus, others_cores=mean(a.others_cores, b.others_cores),
                    self_cores=mean(a.self_cores, b.self_cores),
                    steal_share=mean(a.steal_share, b.steal_share),
                    iowait_share=mean(a.iowait_share, b.iowait_share),
                    load_avg_1m=b.load_avg_1m if b.load_avg_1m is not None else a.load_avg_1m,
                    windows=a.windows + b.windows)


# Thresholds (why): others' CPU time is what they got, not what they wanted. The scheduler
# places other work on the cores the case leaves idle first; once it takes more than half of
# those cores' time, wake-ups of the case's threads find their core taken often enough to
# move a median (on the 2-core CI VM, an unmodified quick-start run beside other engineers'
# jobs read +114 %, CoV 44 %). When the case itself uses every core there is no idle core,
# and a quarter of a core of others' work means the case is preempted regularly. Steal is
# CPU time the hypervisor gave to another guest while our runnable threads waited: above 5 %
# of the window it is larger than the changes the verdict is asked to resolve.
MAX_OTHERS_OF_IDLE = 0.5
MIN_OTHERS_CORES = 0.25
MAX_STEAL_SHARE = 0.05
MIN_WINDOW_S = 0.2   # clock ticks are 10 ms: a shorter window says little


def host_busy(load: HostLoad | dict[str, Any] | None,
              max_others_of_idle: float = MAX_OTHERS_OF_IDLE,
              min_others_cores: float = MIN_OTHERS_CORES,
              max_steal: float = MAX_STEAL_SHARE) -> str | None:
    """Why the host was too busy for this window to be judged, or None."""
    if load is None:
        return None
    if isinstance(load, dict):
        load = HostLoad.from_json(load)
    if load.wall_s < MIN_WINDOW_S:
        return None
    limit = max(max_others_of_idle * load.idle_cores, min_others_cores)
    why = []
    if load.others_cores > limit:
        why.append(f"other processes used {load.others_cores:.2f} cores of {load.cpus} "
                   f"(the case {load.self_cores:.2f}; limit {limit:.2f})")
    if load.steal_share > max_steal:
        why.append(f"CPU steal {load.steal_share:.0%} (limit {max_steal:.0%})")
    if not why:
        return None
    if load.load_avg_1m is not None and math.isfinite(load.load_avg_1m):
        why.append(f"load average {load.load_avg_1m:.2f}")
    return "host busy (" + ", ".join(why) + ")"


def explained_slowdown(load: HostLoad | dict[str, Any]) -> float:
    """The largest slowdown contention can account for: a case that got ``self_cores`` of
    CPU could have had at most all ``cpus`` alone, and cache and memory-bandwidth sharing
    can double that. A slowdown beyond it is the case's own, busy host or not."""
    if isinstance(load, dict):
        load = HostLoad.from_json(load)
    return 2.0 * load.cpus / max(load.self_cores, 0.05)
