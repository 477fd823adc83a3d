"""The HTML latency report: one self-contained file (inline CSS, SVG and a few lines of JS),
rendered by jinja2 with autoescaping on, so no user string can inject markup.

It answers, top to bottom: what got slower and how sure are we (summary, attention list,
case table with the change's interval), was the GPU healthy (throttle share per case), and
then the detail per scenario and per case.
"""

from __future__ import annotations

import datetime as _dt
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from harness.baseline.verdict import summarize_verdicts
from harness.fsutil import atomic_write_text
from harness.metrics import METRICS
from harness.report.scenarios import scenario_views
from harness.report.view import case_view
from harness.results import RunResult

# Verdicts that need a reader's attention, worst first.
ATTENTION = ("regression", "failed", "incomparable", "unstable", "undecided")

History = dict[str, list[dict[str, Any]]]


@cache
def env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["ms"] = METRICS["median"].text          # every latency in ms
    env.filters["pct"] = METRICS["change"].text         # a relative change
    env.filters["num"] = lambda v: "–" if v is None else (f"{v:,.0f}" if abs(v) >= 1e4
                                                           else f"{v:,.4g}")
    env.filters["auto"] = lambda v: f"{v:.4g}" if isinstance(v, float) else v
    env.filters["sci"] = lambda v: "–" if v is None else f"{v:.3g}"
    env.globals["ab_views"] = _ab_views     # the A vs B section (templates/ab.html.j2)
    return env


def _ab_views(run: RunResult) -> list[dict[str, Any]]:
    from harness.report.ab import ab_views

    return ab_views(run)


def normalize_history(baselines: dict[str, Any] | None) -> History:
    """Accept case id -> baseline entries (the store's dicts), or the older form case id ->
    the latest baseline's samples."""
    out: History = {}
    for case_id, value in (baselines or {}).items():
        if value and all(isinstance(v, int | float) for v in value):
            out[case_id] = [{"samples_ms": list(value)}]
        else:
            out[case_id] = list(value or [])
    return out


def duration_s(run: RunResult) -> float | None:
    try:
        start = _dt.datetime.fromisoformat(run.started)
        end = _dt.datetime.fromisoformat(run.finished) if run.finished else None
    except (TypeError, ValueError):
        return None
    return (end - start).total_seconds() if end else None


def summary(run: RunResult, cases: list[dict[str, Any]]) -> dict[str, Any]:
    counts = summarize_verdicts([x["verdict"] for x in cases])
    attention = sorted((x for x in cases if x["verdict"].status in ATTENTION),
                       key=lambda x: (ATTENTION.index(x["verdict"].status),
                                      -(x["change"] or 0.0)))
    versions = {(c.backend.get("name", "?"), c.backend.get("version") or "") for c in run.cases}
    backends = sorted((n, v) for n, v in versions
                      if v or not any(m == n and w for m, w in versions))
    throttled = [x for x in cases if x["telemetry"] and (x["telemetry"]["flagged_share"] or 0) > 0]
    return {"counts": {k: v for k, v in counts.items() if v}, "attention": attention,
            "backends": backends, "duration_s": duration_s(run), "throttled": throttled,
            "with_telemetry": sum(1 for x in cases if x["telemetry"])}


def render_html(run: RunResult, baselines: dict[str, Any] | None = None,
                title: str | None = None) -> str:
    """``baselines`` maps case id -> its accepted baseline entries, oldest first (see
    :func:`harness.report.outputs.baseline_history`)."""
    history = normalize_history(baselines)
    cases = [case_view(c, history.get(c.id, []), run.commit) | {"anchor": f"case-{i}"}
             for i, c in enumerate(run.cases, 1)]
    return env().get_template("report.html.j2").render(
        run=run, cases=cases, summary=summary(run, cases), scenarios=scenario_views(run.cases),
        title=title or f"trt-harness report {run.run_id}", ab=run.ab)


def write_html(run: RunResult, path: str | Path, baselines: dict[str, Any] | None = None,
               title: str | None = None) -> Path:
    path = Path(path)
    atomic_write_text(path, render_html(run, baselines, title))
    return path
