"""CUDA kernels compiled at run time (NVRTC through ``cuda.core``) for calibration and
self-test: spin kernels of a known cycle count that record ``%globaltimer`` at their start and
end (the in-kernel ground truth of their duration), an empty kernel (the timing floor), and an
in-kernel SM-clock probe (cycles counted over a fixed stretch of global time, as nvbench
does to catch throttling that NVML's sampling misses).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from harness import gpu

SOURCE = r"""
__device__ __forceinline__ unsigned long long global_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// Spin for `cycles` SM cycles on thread 0 of each block; block 0 records start and end
// (global ns) into a ring of `capacity` slots, indexed by an atomic counter, so the ring also
// works inside a CUDA graph replayed many times.
extern "C" __global__ void spin(long long cycles, unsigned long long* ring,
                                unsigned int* counter, unsigned int capacity) {
    if (threadIdx.x != 0) return;
    // The slot is claimed first: the atomic's latency then overlaps the spin instead of
    // adding uncounted time after the end stamp.
    bool rec = blockIdx.x == 0 && capacity > 0;
    unsigned int i = rec ? atomicAdd(counter, 1u) : 0u;
    unsigned long long t0 = global_ns();
    long long c0 = clock64();
    while (clock64() - c0 < cycles) { }
    unsigned long long t1 = global_ns();
    if (rec) {
        i %= capacity;
        ring[2 * i] = t0;
        ring[2 * i + 1] = t1;
    }
}

// Hold the stream until the host sets *flag (or timeout_ns passes), so a whole chunk of
// timed work can be enqueued behind it and then runs at GPU speed, without the host's
// launch latency in the timed intervals (nvbench's "blocking kernel").
extern "C" __global__ void hold(volatile int* flag, unsigned long long timeout_ns) {
    unsigned long long t0 = global_ns();
    while (*flag == 0 && global_ns() - t0 < timeout_ns) { }
}

extern "C" __global__ void empty() { }

// Count SM cycles over `ns` nanoseconds of global time: cycles / ns is the SM clock in GHz.
extern "C" __global__ void sm_clock(unsigned long long ns, unsigned long long* ring,
                                    unsigned int* counter, unsigned int capacity) {
    unsigned long long t0 = global_ns(), t1;
    long long c0 = clock64();
    do { t1 = global_ns(); } while (t1 - t0 < ns);
    long long c1 = clock64();
    unsigned int i = atomicAdd(counter, 1u) % capacity;
    ring[2 * i] = (unsigned long long)(c1 - c0);
    ring[2 * i + 1] = t1 - t0;
}
"""


@cache
def module() -> Any:
    """The compiled module (once per process; NVRTC takes ~100 ms)."""
    from cuda.core import Program, ProgramOptions

    dev = gpu.device()
    arch = "sm_" + "".join(map(str, dev.compute_capability))
    prog = Program(SOURCE, code_type="c++", options=ProgramOptions(arch=arch, std="c++17"))
    return prog.compile("cubin")


def kernel(name: str) -> Any:
    return module().get_kernel(name)


def launch(stream: Any, name: str, *args: Any, grid: int = 1, block: int = 32) -> None:
    from cuda.core import LaunchConfig
    from cuda.core import launch as _launch

    _launch(stream, LaunchConfig(grid=grid, block=block), kernel(name), *args)


class Ring:
    """A device ring of ``capacity`` pairs of u64 plus its atomic counter; what the spin and
    clock-probe kernels write. ``read()`` returns the pairs written so far, oldest first."""

    def __init__(self, capacity: int, stream: Any) -> None:
        dev = gpu.device()
        self.capacity = capacity
        self.stream = stream
        self.data = dev.allocate(16 * capacity, stream=stream)
        self.counter = dev.allocate(4, stream=stream)
        self.reset()

    def args(self) -> tuple[Any, ...]:
        return (self.data, self.counter, np.uint32(self.capacity))

    def reset(self) -> None:
        from cuda.bindings import driver

        gpu.check(driver.cuMemsetD8Async(int(self.counter.handle), 0, 4, self.stream.handle))
        self.stream.sync()

    def read(self) -> np.ndarray:
        """(n, 2) u64 array of the pairs written (the last ``capacity`` if it wrapped)."""
        from cuda.bindings import driver

        self.stream.sync()
        count = np.zeros(1, np.uint32)
        gpu.check(driver.cuMemcpyDtoH(count.ctypes.data, int(self.counter.handle), 4))
        pairs = np.zeros((self.capacity, 2), np.uint64)
        gpu.check(driver.cuMemcpyDtoH(pairs.ctypes.data, int(self.data.handle), pairs.nbytes))
        n = int(count[0])
        if n <= self.capacity:
            return pairs[:n]
        start = n % self.capacity
        return np.concatenate([pairs[start:], pairs[:start]])

    def close(self) -> None:
        self.data.close()
        self.counter.close()


def sm_clock_ghz_nominal() -> float:
    """The device's nominal (maximum boost) SM clock in GHz, from its attributes."""
    return gpu.properties()["clock_rate_khz"] / 1e6


class SmClockProbe:
    """nvbench's in-kernel clock check: each ``probe()`` enqueues a one-thread kernel that
    counts SM cycles over ``ns`` of global time; ``readings_mhz()`` gives the clocks seen."""

    def __init__(self, stream: Any, ns: int = 50_000, capacity: int = 4096) -> None:
        self.stream, self.ns = stream, ns
        self.ring = Ring(capacity, stream)

    def probe(self) -> None:
        launch(self.stream, "sm_clock", np.uint64(self.ns), *self.ring.args(), grid=1, block=1)

    def readings_mhz(self) -> list[float]:
        pairs = self.ring.read()
        return [float(c) / float(t) * 1e3 for c, t in pairs if t > 0]

    def close(self) -> None:
        self.ring.close()


class StreamHold:
    """A pinned, device-mapped flag and the ``hold`` kernel: ``hold()`` blocks the stream,
    ``release()`` lets it go (after the host enqueued what should run back to back)."""

    def __init__(self, stream: Any, timeout_s: float = 2.0) -> None:
        import ctypes

        from cuda.bindings import driver

        self.stream, self.timeout_ns = stream, np.uint64(int(timeout_s * 1e9))
        self.host = gpu.check(driver.cuMemHostAlloc(
            4, driver.CU_MEMHOSTALLOC_DEVICEMAP | driver.CU_MEMHOSTALLOC_PORTABLE))
        self.flag = ctypes.c_int.from_address(int(self.host))
        self.dev = int(gpu.check(driver.cuMemHostGetDevicePointer(self.host, 0)))

    def hold(self) -> None:
        self.flag.value = 0
        launch(self.stream, "hold", np.uint64(self.dev), self.timeout_ns, grid=1, block=1)

    def release(self) -> None:
        self.flag.value = 1

    def close(self) -> None:
        from cuda.bindings import driver

        driver.cuMemFreeHost(self.host)
