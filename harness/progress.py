"""Live progress during a run: case n of N, the current case, elapsed time (rich on a
terminal; one plain line per finished case otherwise, e.g. in CI logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from harness.metrics import text
from harness.results import CaseResult
from harness.scenario.expand import Case


def _line(result: CaseResult) -> str:
    if result.stats_ms:
        s = result.stats_ms
        return (f"{result.id}: median {text('median', s['median'])} ms "
                f"[{text('median', s['median_ci_low'])}, {text('median', s['median_ci_high'])}]"
                f" n={s['n']}")
    b = result.build or {}
    if result.status == "ok" and b.get("engine_bytes") is not None:   # build-only case
        hit = {True: ", cache hit", False: ", built"}.get(b.get("cache_hit"), "")
        layers = f", {b['layer_count']} layers" if b.get("layer_count") is not None else ""
        return (f"{result.id}: engine {b['engine_bytes'] / 1e6:.3g} MB in "
                f"{b.get('build_time_s') or 0:.3g} s{layers}{hit}")
    return f"{result.id}: {result.status} ({result.error})"


class PlainProgress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total, self.t0 = 0, time.monotonic()

    def start(self, total: int) -> None:
        self.total, self.t0 = total, time.monotonic()

    def case_started(self, index: int, case: Case) -> None:
        pass

    def case_finished(self, index: int, result: CaseResult) -> None:
        print(f"[{index + 1}/{self.total} {time.monotonic() - self.t0:6.1f}s] {_line(result)}",
              file=self.stream, flush=True)

    def stop(self) -> None:
        pass


class RichProgress(PlainProgress):
    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(file=self.stream)
        self.progress = Progress(TextColumn("[bold]case"), MofNCompleteColumn(), BarColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.description}"),
                                 console=self.console, transient=False)
        self.task = None

    def start(self, total: int) -> None:
        super().start(total)
        self.progress.start()
        self.task = self.progress.add_task("", total=total)

    def case_started(self, index: int, case: Case) -> None:
        self.progress.update(self.task, description=case.id)

    def case_finished(self, index: int, result: CaseResult) -> None:
        self.progress.console.print(_line(result), highlight=False, markup=False)
        self.progress.advance(self.task)

    def stop(self) -> None:
        self.progress.stop()


def make_progress(enabled: bool = True) -> PlainProgress:
    if not enabled:
        return PlainProgress(open("/dev/null", "w"))
    return RichProgress() if sys.stderr.isatty() else PlainProgress()
