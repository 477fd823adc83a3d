"""JUnit XML: one test case per case and per A/B comparison, so CI systems list them. A
regression (A/B: "slower") is a failure, and so is a verdict that could not be reached
("unstable", "undecided": type ``undecided``, because a step that could not judge must not look
like one that passed); a broken case is an error, a skipped case skipped (with its reason); the
figures travel as properties and in system-out."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from harness.ab import RUN_VERDICTS
from harness.metrics import CASE_FIGURES, METRICS
from harness.report.view import ab_verdict_of, verdict_of
from harness.results import CaseResult, RunResult

# Verdicts that are JUnit failures, and the failure type each is given.
FAILURE_TYPES = {"regression": "regression", "unstable": "undecided", "undecided": "undecided"}
# Characters XML 1.0 cannot carry at all (escaping does not help): dropped.
_INVALID_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: object) -> str:
    return _INVALID_XML.sub("", str(text if text is not None else ""))


def _testcase(parent: ET.Element, c: CaseResult) -> str:
    v = verdict_of(c)
    status = v.status
    seconds = (c.timing or {}).get("measure_s") or 0.0
    tc = ET.SubElement(parent, "testcase", classname=_clean(f"{c.case.get('scenario', '')}."
                                                            f"{c.case.get('model', '')}"),
                       name=_clean(c.id), time=f"{seconds:.3f}")
    figures = c.figures()
    props = ET.SubElement(tc, "properties")
    # Property names are the metrics table's keys; values stay unrounded, for tools to read.
    for name, value in (("verdict", status),
                        *((METRICS[m].key, figures.get(m)) for m in (*CASE_FIGURES, "change")),
                        ("backend", c.backend.get("name")), ("precision", c.precision)):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_clean(value))
    reason = _clean(v.reason or c.error or status)
    if status in FAILURE_TYPES:
        ET.SubElement(tc, "failure", message=reason, type=FAILURE_TYPES[status]).text = reason
    elif status == "failed":
        ET.SubElement(tc, "error", message=reason, type="failed").text = _clean(
            "\n".join([c.error or "", *c.warnings]))
    elif status == "skipped":
        ET.SubElement(tc, "skipped", message=reason)
    if status not in ("failed", "skipped"):
        ET.SubElement(tc, "system-out").text = reason
    return status


def _ab_testcase(parent: ET.Element, r: dict[str, Any]) -> str:
    """One A/B record as a test case, in the run's vocabulary (slower is a regression)."""
    v = ab_verdict_of(r)
    status = RUN_VERDICTS.get(v.status, v.status or "failed")
    tc = ET.SubElement(parent, "testcase", classname="ab", name=_clean(r.get("id")),
                       time=f"{(r.get('timing') or {}).get('measure_s') or 0.0:.3f}")
    props = ET.SubElement(tc, "properties")
    for name, value in (("verdict", v.status), ("change", v.change),
                        ("layout_seed", r.get("layout_seed"))):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_clean(value))
    reason = _clean(v.reason or r.get("error") or status)
    if status in FAILURE_TYPES:
        ET.SubElement(tc, "failure", message=reason, type=FAILURE_TYPES[status]).text = reason
    elif status == "failed":
        ET.SubElement(tc, "error", message=reason, type="failed").text = reason
    elif status == "skipped":
        ET.SubElement(tc, "skipped", message=reason)
    else:
        ET.SubElement(tc, "system-out").text = reason
    return status


def render_junit(run: RunResult) -> str:
    root = ET.Element("testsuites", name=_clean(f"trt-harness {run.run_id}"))
    by_scenario: dict[str, list[CaseResult]] = defaultdict(list)
    for c in run.cases:
        by_scenario[c.case.get("scenario", "")].append(c)
    suites: list[tuple[ET.Element, list[str]]] = []
    for scenario, cases in by_scenario.items():
        suite = ET.SubElement(root, "testsuite", name=_clean(scenario),
                              timestamp=_clean(run.started), hostname=_clean(run.platform_id))
        suites.append((suite, [_testcase(suite, c) for c in cases]))
    if run.ab:
        suite = ET.SubElement(root, "testsuite", name="ab", timestamp=_clean(run.started),
                              hostname=_clean(run.platform_id))
        suites.append((suite, [_ab_testcase(suite, r) for r in run.ab]))
    for suite, statuses in suites:
        suite.set("tests", str(len(statuses)))
        suite.set("failures", str(sum(statuses.count(s) for s in FAILURE_TYPES)))
        suite.set("errors", str(statuses.count("failed")))
        suite.set("skipped", str(statuses.count("skipped")))
        suite.set("time", f"{sum(float(e.get('time', 0)) for e in suite):.3f}")
    totals = {k: sum(int(s.get(k, 0)) for s in root) for k in ("tests", "failures", "errors",
                                                                "skipped")}
    for k, n in totals.items():
        root.set(k, str(n))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
