"""Everything a run leaves in its report folder: ``index.html``, ``summary.md`` (also appended
to ``$GITHUB_STEP_SUMMARY`` when set, so the job page shows it) and ``junit.xml``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.baseline.store import BaselineStore
from harness.fsutil import atomic_write_text
from harness.report.html import write_html
from harness.report.junit import render_junit
from harness.report.markdown import render_markdown
from harness.results import RunResult


@dataclass
class ReportPaths:
    html: Path
    markdown: Path
    junit: Path
    step_summary: Path | None = None


def baseline_history(run: RunResult, store: BaselineStore) -> dict[str, list[dict[str, Any]]]:
    """Case id -> its accepted baseline entries (oldest first) on the run's platform; none for
    a case whose baseline's platform differs (its verdict says so)."""
    out = {}
    for c in run.cases:
        entries, diffs = store.entries(run, c)
        if entries and not diffs:
            out[c.id] = entries
    return out


def write_reports(run: RunResult, out_dir: str | Path,
                  history: dict[str, list[dict[str, Any]]] | None = None, *,
                  html_name: str = "index.html", title: str | None = None) -> ReportPaths:
    out = Path(out_dir)
    html = write_html(run, out / html_name, history, title)
    md = out / "summary.md"
    text = render_markdown(run, report_link=html_name)
    atomic_write_text(md, text)
    junit = out / "junit.xml"
    atomic_write_text(junit, render_junit(run))
    paths = ReportPaths(html, md, junit)
    if step := os.environ.get("GITHUB_STEP_SUMMARY"):
        # GitHub's own contract: steps append to this file.
        with open(step, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        paths.step_summary = Path(step)
    return paths
