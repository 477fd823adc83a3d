"""The HTML latency report: one self-contained file (inline CSS, SVG and a few lines of JS),
rendered by jinja2 with autoescaping on, so no user string can inject markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.baseline.verdict import summarize_verdicts
from harness.fsutil import atomic_write_text
from harness.report import svg, telemetry
from harness.results import RunResult


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["ms"] = lambda v: "–" if v is None else f"{v:.4g}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:+.2%}"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:,.4g}"
    return env


def render_html(run: RunResult, baselines: dict[str, list[float]] | None = None) -> str:
    """``baselines`` maps case id -> the latest baseline's samples (for the CDF overlay)."""
    baselines = baselines or {}
    cases: list[dict[str, Any]] = []
    for c in run.cases:
        series = [("this run", c.samples_ms)]
        if baselines.get(c.id):
            series.append(("baseline", baselines[c.id]))
        cases.append({"r": c, "verdict": c.verdict or {"status": c.status, "reason": c.error or ""},
                      "plot": Markup(svg.cdf(series)) if c.samples_ms else "",
                      "clock_plot": Markup(telemetry.clock_plot(c.telemetry)),
                      "telemetry": telemetry.facts(c.telemetry)})
    counts = summarize_verdicts([x["verdict"] for x in cases])
    return _env().get_template("report.html.j2").render(
        run=run, cases=cases, counts={k: v for k, v in counts.items() if v})


def write_html(run: RunResult, path: str | Path,
               baselines: dict[str, list[float]] | None = None) -> Path:
    path = Path(path)
    atomic_write_text(path, render_html(run, baselines))
    return path
