"""Run a matrix's cases on a Dask cluster (``run --executor dask`` or ``dask://HOST:8786``).

One task is one case, prepared and measured whole on one worker by
:func:`harness.runner.run_case`; each worker has one thread, so it measures one case at a time
(on a GPU host ``dask_cuda.LocalCUDACluster`` starts one worker per GPU, pinned with
``CUDA_VISIBLE_DEVICES``). Results stream back as they finish and go to the run file at once.
A worker that dies mid-case leaves that case ``failed`` with the reason (the task is not
retried: a case that kills its worker would kill the next one too) and the rest go on.

Each result carries where it ran (``timing.worker``, ``host``, ``cuda_visible_devices``,
``started_at`` / ``finished_at``) and, where that differs from the client's, the worker's
platform (``CaseResult.platform_id``), so it is judged against that platform's baseline.

``distributed`` and ``dask_cuda`` are imported only here, when this executor is used (the
``dask`` extra).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from harness.errors import BackendUnavailable, ConfigError
from harness.models.source import check_source
from harness.results import CaseResult, ResultWriter
from harness.runner import NoProgress, PlannedCase, Progress, run_case, start_backends
from harness.scale.interference import mark_concurrent

SCHEME = "dask://"
# Scheduler settings for the clusters this executor starts: a case whose worker dies is not
# run again, and a worker gets a task only when its one thread is free (so the task a dying
# worker held is the one it was running, and the queue balances by finishing order).
# Each worker's statistical profiler is off: it samples every thread's stack every 10 ms,
# inside the process whose cases are being timed.
SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 0,
                    "distributed.scheduler.worker-saturation": 1.0,
                    "distributed.worker.profile.enabled": False}


@dataclass
class DaskExecutor:
    address: str | None = None      # a running scheduler; None: start a local cluster
    workers: int | None = None      # local cluster size (default: one per GPU, else 1)
    exclusive: bool = False         # one case at a time on the whole cluster

    @classmethod
    def from_option(cls, text: str, workers: int | None = None,
                    exclusive: bool = False) -> DaskExecutor:
        """``dask`` (a local cluster) or ``dask://HOST:PORT`` (a running scheduler)."""
        if text == "dask":
            return cls(None, workers, exclusive)
        if text.startswith(SCHEME) and len(text) > len(SCHEME):
            if workers is not None:
                raise ConfigError("--workers starts a local cluster; a running scheduler "
                                  f"({text}) has the workers it has", key="--workers")
            return cls("tcp://" + text[len(SCHEME):], None, exclusive)
        raise ConfigError(f"--executor {text!r}", key="--executor",
                          expected="inprocess, dask, or dask://HOST:PORT")

    def run_cases(self, planned: list[PlannedCase], writer: ResultWriter,
                  progress: Progress | None = None) -> None:
        """What :func:`harness.runner.run_cases` does, on the cluster."""
        progress = progress or NoProgress()
        t0 = time.perf_counter()
        with self._client() as client:
            writer.run.startup_s["dask"] = round(time.perf_counter() - t0, 4)
            t0 = time.perf_counter()
            start_workers(client, planned, writer.run.run_id)
            writer.run.startup_s["dask_workers"] = round(time.perf_counter() - t0, 4)
            writer.flush()
            progress.start(len(planned))
            try:
                self._stream(client, planned, writer, progress)
            finally:
                progress.stop()
                order = {p.case.id: i for i, p in enumerate(planned)}
                mark_concurrent(writer.run.cases)
                # The run file lists cases in the matrix's order, whatever order they finished.
                writer.run.cases.sort(key=lambda c: order.get(c.id, len(order)))
                writer.flush()

    def _stream(self, client: Any, planned: list[PlannedCase], writer: ResultWriter,
                progress: Progress) -> None:
        from distributed import as_completed

        pending: dict[Any, PlannedCase] = {}
        done = 0

        def submit(i: int, item: PlannedCase) -> Any:
            fut = client.submit(run_on_worker, item.case, item.base_dir, pure=False,
                                key=f"case-{i}-{writer.run.run_id}")
            pending[fut] = item
            return fut

        def collect(fut: Any) -> None:
            nonlocal done
            item = pending.pop(fut)
            result = collect_result(fut, item, writer.run.platform_id)
            writer.add(result)
            progress.case_finished(done, result)
            done += 1

        try:
            if self.exclusive:
                for i, item in enumerate(planned):
                    fut = submit(i, item)
                    progress.case_started(i, item.case)
                    collect(fut)        # waits: the next case starts when this one ended
            else:
                stream = as_completed([submit(i, item) for i, item in enumerate(planned)])
                for fut in stream:
                    collect(fut)
        except KeyboardInterrupt:
            for item in pending.values():
                writer.add(CaseResult(id=item.case.id, status="interrupted",
                                      case=item.case.to_json(),
                                      error="interrupted by the user"))
            client.cancel(list(pending))
            raise

    def _client(self) -> Any:
        try:
            import dask
            from distributed import Client
        except ImportError:
            raise BackendUnavailable("--executor dask needs Dask: pip install "
                                     "'trt-harness[dask]' (dask[distributed])") from None
        if self.address is not None:
            try:
                return Client(self.address, timeout="20s")
            except OSError as exc:
                raise BackendUnavailable(f"no Dask scheduler at {self.address}: {exc}") from None
        with dask.config.set(SCHEDULER_CONFIG):
            cluster = local_cluster(self.workers)
        return _OwnedClient(Client(cluster), cluster)


class _OwnedClient:
    """A client that also closes the local cluster it was made for."""

    def __init__(self, client: Any, cluster: Any) -> None:
        self.client, self.cluster = client, cluster

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.cluster.close()


def local_cluster(workers: int | None) -> Any:
    """``LocalCUDACluster`` (one worker per GPU, or ``workers`` of them) where a CUDA GPU is
    usable and dask-cuda is installed, else a ``LocalCluster`` of ``workers`` processes, one
    thread each."""
    import logging

    from harness import gpu

    common = {"threads_per_worker": 1, "dashboard_address": None, "memory_limit": 0,
              "silence_logs": logging.ERROR}
    if gpu.unavailable_reason() is None:
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            LocalCUDACluster = None
        if LocalCUDACluster is not None:
            return LocalCUDACluster(n_workers=workers, **common)
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers or 1, processes=True, **common)


def start_workers(client: Any, planned: list[PlannedCase], run_id: str) -> None:
    """Every worker's process-wide start-up (:func:`start_worker`), all at once and before the
    first case, so that no case carries it and none is measured beside another worker's
    start-up. It runs as a task on each worker's one thread, the thread its cases run on (a
    CUDA context made current there is theirs). A worker that cannot start is left to its
    cases, which then fail saying why; one that joins later starts on its first case."""
    from distributed import wait

    workers = list(client.scheduler_info(n_workers=-1)["workers"])
    started = [client.submit(start_worker, planned, workers=[w], allow_other_workers=False,
                             pure=False, key=f"start-{i}-{run_id}")
               for i, w in enumerate(workers)]
    wait(started)


def collect_result(fut: Any, item: PlannedCase, client_platform: str) -> CaseResult:
    """The case's result, or a ``failed`` record saying why the task gave none (its worker
    died, the scheduler went away); a platform equal to the client's is not repeated."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker

    why = None
    try:
        result = fut.result()
    except KilledWorker as exc:
        why = f"the Dask worker running this case died (KilledWorker: {exc})"
    except CancelledError as exc:
        why = f"the task was cancelled: its worker or the scheduler went away ({exc})"
    except Exception as exc:  # the task could not run or its result not come back
        why = f"the Dask task failed: {type(exc).__name__}: {exc}"
    if why is not None:
        return CaseResult(id=item.case.id, status="failed", case=item.case.to_json(),
                          backend={"name": item.case.backend}, error=why)
    if result.platform_id == client_platform:
        result.platform_id = result.platform = None
    return result


_started: set[str] = set()           # backends this worker process has started
_startup: dict[str, float] = {}      # its start-up seconds, reported with its next case


@functools.cache
def _worker_platform() -> tuple[str, dict[str, Any]]:
    from harness.platform import fingerprint, platform_id

    fp = fingerprint()
    return platform_id(fp), fp


def start_worker(planned: list[PlannedCase]) -> None:
    """This worker process's start-up, once per backend, outside every case's load and
    measuring time: the harness's modules (unpickling this task imports them), each backend's
    start-up (:func:`harness.runner.start_backends`), the modules the cases' model sources
    need (the client imported them when it planned the run), the platform fingerprint every
    result is stamped with."""
    todo = [p for p in planned if p.case.backend not in _started]
    if todo:
        _startup.update(start_backends([p.case for p in todo]))
        _started.update(p.case.backend for p in todo)
        for source, base_dir in {(p.case.source, p.base_dir) for p in todo}:
            with contextlib.suppress(Exception):  # the case says what is wrong with its source
                check_source(source, base_dir)
    _worker_platform()


def run_on_worker(case: Any, base_dir: str | None) -> CaseResult:
    """The task: one case, run whole in this worker process, stamped with where it ran."""
    start_worker([PlannedCase(case, base_dir)])   # done, unless it joined after the start
    startup = dict(_startup)
    _startup.clear()
    started = time.time()
    result = run_case(case, base_dir)
    finished = time.time()
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    result.timing.update({"worker": worker, "host": socket.gethostname(),
                          "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                          "started_at": started, "finished_at": finished})
    if startup:
        result.timing["worker_startup_s"] = startup
    result.platform_id, result.platform = _worker_platform()
    return result
