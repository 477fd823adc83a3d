"""The markdown summary for a CI job page or a PR comment: short, regressions first, every
case in a folded table below. User strings are escaped: GitHub renders inline HTML."""

from __future__ import annotations

import re
from typing import Any

from harness.baseline.verdict import UNDECIDED
from harness.report.html import ATTENTION
from harness.report.view import change_interval, verdict_of
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


AB_HEADER = ("| A vs B | A ms | B ms | change | interval of change | verdict | reason |\n"
             "|---|---:|---:|---:|---|---|---|")
FAILED_STATUSES = ("regression", "failed", "slower")


def _ab_row(r: dict[str, Any]) -> str:
    v = r.get("verdict") or {"status": r.get("status", "failed"), "reason": r.get("error")}
    m = (v.get("metrics") or {}).get("median") or {}
    ci = v.get("ci") or [None, None]
    interval = f"{_pct(ci[0])} … {_pct(ci[1])}" if None not in ci else "–"
    return (f"| {md_escape(r.get('id'))} | {_ms(m.get('a_ms'))} | {_ms(m.get('b_ms'))} | "
            f"{_pct(v.get('change'))} | {interval} | **{v.get('status')}** | "
            f"{md_escape(v.get('reason') or '')} |")


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
    cases = sorted(run.cases, key=lambda c: (ORDER.index(verdict_of(c)["status"])
                                             if verdict_of(c)["status"] in ORDER else 99,
                                             -(verdict_of(c).get("change") or 0.0)))
    counts: dict[str, int] = {}
    for status in [verdict_of(c)["status"] for c in cases] + [
            (r.get("verdict") or {}).get("status", r.get("status", "failed")) for r in run.ab]:
        counts[status] = counts.get(status, 0) + 1
    icon, words = headline(counts)
    lines = [f"## {icon} trt-harness: {words}", "",
             f"Platform `{md_escape(run.platform_id)}` · run `{md_escape(run.run_id)}` · "
             f"harness {md_escape(run.harness_version)}"
             + (f" · [full report]({report_link})" if report_link else ""), ""]
    if icon == "⚠️":
        lines += ["Some verdicts could not be reached, or nothing was measured (see the "
                  "reasons): the run exits 3 unless `--allow-undecided` is given.", ""]
    attention = [c for c in cases if verdict_of(c)["status"] in ATTENTION]
    if attention:
        lines += ["### Needs attention", "", HEADER, *map(_row, attention), ""]
    if run.ab:
        lines += ["### A/B comparisons (interleaved)", "", AB_HEADER, *map(_ab_row, run.ab), ""]
    throttled = [c for c in cases if c.telemetry and (c.telemetry.get("flagged_share") or 0) > 0]
    if throttled:
        lines += ["### GPU throttled while measuring", "",
                  *(f"- {md_escape(c.id)}: {c.telemetry['flagged_share']:.0%} of telemetry "
                    "samples flagged" for c in throttled), ""]
    if cases:
        lines += [f"<details><summary>All {len(cases)} case(s)</summary>", "", HEADER,
                  *map(_row, cases), "", "</details>", ""]
    return "\n".join(lines)
