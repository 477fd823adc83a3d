"""The markdown summary for a CI job page or a PR comment: short, regressions first, every
case in a folded table below. User strings are escaped: GitHub renders inline HTML."""

from __future__ import annotations

import re
from typing import Any

from harness.baseline.verdict import UNDECIDED
from harness.metrics import METRICS, MISSING
from harness.report.html import ATTENTION
from harness.report.view import ab_verdict_of, change_interval, verdict_of
from harness.results import CaseResult, RunResult

_CONTROL = re.compile("[\x00-\x1f\x7f]")
ORDER = ("regression", "failed", "incomparable", "unstable", "undecided", "improvement", "new",
         "pass", "skipped")


def md_escape(text: Any) -> str:
    """Safe inside a markdown table cell: no markup, no pipes, one line."""
    s = str(text if text is not None else "")
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\|`*_[]":
        s = s.replace(ch, "\\" + ch)
    return " ".join(_CONTROL.sub(" ", s).split())


# Labels, units and formats are the metrics table's.
_MEDIAN, _CHANGE = METRICS["median"], METRICS["change"]


def _interval(ci: tuple[Any, Any] | list[Any] | None) -> str:
    return _CHANGE.interval(*ci, between=" … ") if ci else MISSING


def _row(c: CaseResult) -> str:
    v = verdict_of(c)
    return (f"| {md_escape(c.id)} | {_MEDIAN.text(c.stats_ms.get('median'))} | "
            f"{_CHANGE.text(v.change)} | {_interval(change_interval(v))} | "
            f"**{v.status}** | {md_escape(v.reason or c.error or '')} |")


HEADER = (f"| case | {_MEDIAN.heading} | {_CHANGE.heading} | interval of {_CHANGE.label} "
          "| verdict | reason |\n|---|---:|---:|---|---|---|")


AB_HEADER = (f"| A vs B | A {_MEDIAN.unit} | B {_MEDIAN.unit} | {_CHANGE.heading} | "
             f"interval of {_CHANGE.label} | verdict | reason |\n"
             "|---|---:|---:|---:|---|---|---|")
FAILED_STATUSES = ("regression", "failed", "slower")


def _ab_row(r: dict[str, Any]) -> str:
    v = ab_verdict_of(r)
    m = v.metrics.get("median")
    return (f"| {md_escape(r.get('id'))} | {_MEDIAN.text(m and m.get('a_ms'))} | "
            f"{_MEDIAN.text(m and m.get('b_ms'))} | {_CHANGE.text(v.change)} | "
            f"{_interval(v.ci)} | **{v.status}** | "
            f"{md_escape(v.reason or '')} |")


def headline(counts: dict[str, int]) -> tuple[str, str]:
    """The icon and the words: red when something failed, amber (never green) when some
    verdict could not be reached, green only when every case was judged and passed."""
    words = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no cases"
    if any(counts.get(s) for s in FAILED_STATUSES):
        return "❌", words
    if any(counts.get(s) for s in UNDECIDED):
        return "⚠️", f"not judged — {words}"
    if counts and set(counts) == {"skipped"}:
        return "⚠️", f"nothing was measured — {words}"
    return "✅", words


def render_markdown(run: RunResult, report_link: str | None = None) -> str:
    cases = sorted(run.cases, key=lambda c: (ORDER.index(verdict_of(c).status)
                                             if verdict_of(c).status in ORDER else 99,
                                             -(verdict_of(c).change or 0.0)))
    counts: dict[str, int] = {}
    for status in [verdict_of(c).status for c in cases] + [
            ab_verdict_of(r).status for r in run.ab]:
        counts[status] = counts.get(status, 0) + 1
    icon, words = headline(counts)
    lines = [f"## {icon} trt-harness: {words}", "",
             f"Platform `{md_escape(run.platform_id)}` · run `{md_escape(run.run_id)}` · "
             f"harness {md_escape(run.harness_version)}"
             + (f" · [full report]({report_link})" if report_link else ""), ""]
    if icon == "⚠️":
        lines += ["Some verdicts could not be reached, or nothing was measured (see the "
                  "reasons): the run exits 3 unless `--allow-undecided` is given.", ""]
    attention = [c for c in cases if verdict_of(c).status in ATTENTION]
    if attention:
        lines += ["### Needs attention", "", HEADER, *map(_row, attention), ""]
    if run.ab:
        # how they were measured, where all were measured alike (ab --processes and
        # --escalate-processes records are compared in fresh processes)
        how = {"in fresh processes" if r.get("method") == "processes" else "interleaved"
               for r in run.ab}
        lines += [f"### A/B comparisons{f' ({how.pop()})' if len(how) == 1 else ''}", "",
                  AB_HEADER, *map(_ab_row, run.ab), ""]
    throttled = [c for c in cases if c.telemetry and (c.telemetry.get("flagged_share") or 0) > 0]
    if throttled:
        lines += ["### GPU throttled while measuring", "",
                  *(f"- {md_escape(c.id)}: {c.telemetry['flagged_share']:.0%} of telemetry "
                    "samples flagged" for c in throttled), ""]
    if cases:
        lines += [f"<details><summary>All {len(cases)} case(s)</summary>", "", HEADER,
                  *map(_row, cases), "", "</details>", ""]
    return "\n".join(lines)
