"""The markdown summary for a CI job page or a PR comment: short, regressions first, every
case in a folded table below. User strings are escaped: GitHub renders inline HTML."""

from __future__ import annotations

import re
from typing import Any

from harness.report.html import ATTENTION
from harness.report.view import change_interval, verdict_of
from harness.results import CaseResult, RunResult

_CONTROL = re.compile("[\x00-\x1f\x7f]")
ORDER = ("regression", "failed", "incomparable", "unstable", "improvement", "new", "pass",
         "skipped")


def md_escape(text: Any) -> str:
    """Safe inside a markdown table cell: no markup, no pipes, one line."""
    s = str(text if text is not None else "")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\|`*_[]":
        s = s.replace(ch, "\\" + ch)
    return " ".join(_CONTROL.sub(" ", s).split())


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:+.1%}"


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def _row(c: CaseResult) -> str:
    v = verdict_of(c)
    ci = change_interval(v)
    interval = f"{_pct(ci[0])} … {_pct(ci[1])}" if ci else "–"
    return (f"| {md_escape(c.id)} | {_ms(c.stats_ms.get('median'))} | "
            f"{_pct(v.get('change'))} | {interval} | **{v['status']}** | "
            f"{md_escape(v.get('reason') or c.error or '')} |")


HEADER = ("| case | median ms | change | interval of change | verdict | reason |\n"
          "|---|---:|---:|---|---|---|")


def render_markdown(run: RunResult, report_link: str | None = None) -> str:
    cases = sorted(run.cases, key=lambda c: (ORDER.index(verdict_of(c)["status"])
                                             if verdict_of(c)["status"] in ORDER else 99,
                                             -(verdict_of(c).get("change") or 0.0)))
    counts: dict[str, int] = {}
    for c in cases:
        counts[verdict_of(c)["status"]] = counts.get(verdict_of(c)["status"], 0) + 1
    headline = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no cases"
    bad = counts.get("regression", 0) + counts.get("failed", 0)
    icon = "❌" if bad else "✅"
    lines = [f"## {icon} trt-harness: {headline}", "",
             f"Platform `{md_escape(run.platform_id)}` · run `{md_escape(run.run_id)}` · "
             f"harness {md_escape(run.harness_version)}"
             + (f" · [full report]({report_link})" if report_link else ""), ""]
    attention = [c for c in cases if verdict_of(c)["status"] in ATTENTION]
    if attention:
        lines += ["### Needs attention", "", HEADER, *map(_row, attention), ""]
    throttled = [c for c in cases if c.telemetry and (c.telemetry.get("flagged_share") or 0) > 0]
    if throttled:
        lines += ["### GPU throttled while measuring", "",
                  *(f"- {md_escape(c.id)}: {c.telemetry['flagged_share']:.0%} of telemetry "
                    "samples flagged" for c in throttled), ""]
    lines += [f"<details><summary>All {len(cases)} case(s)</summary>", "", HEADER,
              *map(_row, cases), "", "</details>", ""]
    return "\n".join(lines)
