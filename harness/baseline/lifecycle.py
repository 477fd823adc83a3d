"""Baseline lifecycle views for the CLI (`baseline show / history / prune`): plain text over
:class:`~harness.baseline.store.BaselineStore`, so scripts can call them too."""

from __future__ import annotations

from pathlib import Path

from harness.baseline.creep import case_changes
from harness.baseline.store import BaselineStore, between_run_cv
from harness.commit import describe
from harness.metrics import text
from harness.platform import platform_id


def _pid(store: BaselineStore, platform: str | None) -> str:
    return platform or platform_id()


def show(root: str | Path, platform: str | None = None, pattern: str = "*") -> str:
    store = BaselineStore(root)
    pid = _pid(store, platform)
    hist = store.history(pid, pattern)
    if not hist:
        others = ", ".join(store.platforms()) or "none"
        return f"no baselines for platform {pid} under {root} (platforms stored: {others})"
    lines = [f"platform {pid}:"]
    for case_id, entries in hist.items():
        last = entries[-1]
        med = (last.get("stats_ms") or {}).get("median")
        cv = between_run_cv(entries)
        backend = last.get("backend") or {}
        fp = (last.get("build") or {}).get("fingerprint")
        lines.append(
            f"  {case_id}: {len(entries)} run(s), last median "
            f"{'–' if med is None else format(med, '.4g')} ms"
            f"{'' if cv is None else f', run-to-run CV {cv:.2%}'}, "
            f"{backend.get('name')} {backend.get('version') or ''} {last.get('precision')}, "
            f"accepted {last.get('accepted')}" + (f", engine {fp[:12]}" if fp else ""))
    return "\n".join(lines)


def history(root: str | Path, platform: str | None = None, pattern: str = "*",
            last: int = 5) -> str:
    store = BaselineStore(root)
    pid = _pid(store, platform)
    hist = store.history(pid, pattern, last)
    if not hist:
        return f"no baselines for platform {pid} matching {pattern!r}"
    everything = store.history(pid, pattern)
    lines = []
    for case_id, entries in hist.items():
        lines.append(f"{case_id} (last {len(entries)}):")
        # Change points over all the case's accepted runs, not just the ones shown: creep
        # that each accept let through (harness.baseline.creep)
        runs = everything.get(case_id, entries)
        ids = [str(e.get("run_id")) for e in runs]
        lines += [f"  change: {c.describe(ids)}" for c in case_changes(runs)]
        for e in entries:
            s = e.get("stats_ms") or {}
            med = s.get("median")
            lo, hi = s.get("median_ci_low", 0), s.get("median_ci_high", 0)
            timing = (f"median {text('median', med)} ms [{text('median', lo)}, "
                      f"{text('median', hi)}] p99 {text('p99', s.get('p99', 0))} n={s.get('n')}"
                      if med else "build only")
            at = describe(e.get("commit"))
            lines.append(f"  {e.get('accepted')}  run {e.get('run_id')}  "
                         + (f"commit {at}  " if at else "") + timing)
    return "\n".join(lines)


def prune(root: str | Path, platform: str | None = None, keep: int = 10,
          pattern: str = "*") -> str:
    store = BaselineStore(root)
    removed = store.prune(_pid(store, platform), keep, pattern)
    if not removed:
        return "nothing to prune"
    return "\n".join(f"{case_id}: removed {n} entr{'y' if n == 1 else 'ies'}"
                     for case_id, n in removed.items())
