"""The report in a real browser: headless Chromium (Debian's package, installed by this set-up
when missing) opens the report of a real run from disk; the page must make no request but the
file itself, its table must sort and filter, and the screenshot must show the key elements.

Screenshots are kept at reports/screenshot.png (the real run) and
reports/screenshot-synthetic.png (every section, from the synthetic GPU run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import TINY
from fixtures.browser import Browser, find_chromium, page_requests
from fixtures.synthetic import HOSTILE_ID, synthetic_run

from harness import api
from harness.report.outputs import write_reports
from harness.verdict import Verdict

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1400

# the conftest's tiny scenario on two batch sizes: a throughput curve too
SCENARIO = TINY.replace("batch = [1]", "batch = [1, 2]")


@pytest.fixture(scope="session")
def chromium() -> str:
    path, why = find_chromium(install=True)
    if path:
        return path
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test cannot run in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser(chromium):
    with Browser(chromium, width=WIDTH, height=1000) as b:
        yield b


def _pixel_rgb(png: Path, x: float, y: float) -> tuple[int, int, int]:
    from PIL import Image

    with Image.open(png) as img:
        return img.convert("RGB").getpixel((int(x), int(y)))


def _rect(browser: Browser, selector: str) -> dict:
    return browser.eval(f"(() => {{ const r = document.querySelector({selector!r})"
                        ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, "
                        "w: r.width, h: r.height}; })()")


def test_network_check_catches_requests(browser, tmp_path):
    """Negative control: the check below would see a page's requests."""
    page = tmp_path / "probe.html"
    page.write_text('<img src="http://example.invalid/x.png">'
                    '<script>fetch("https://example.invalid/y").catch(() => 0)</script>')
    urls = page_requests(browser.open(page.as_uri()))
    assert "http://example.invalid/x.png" in urls and "https://example.invalid/y" in urls


def test_report_of_a_real_run(browser, write_toml, tmp_path):
    scenario = write_toml(SCENARIO, "tiny.toml")
    out, base = tmp_path / "reports", tmp_path / "baselines"
    api.run([scenario], out_dir=out, baselines=base)
    api.accept(out / "results.json", base)
    # a delay far above CPU noise on one case: a regression beside a pass
    outcome = api.run([scenario], out_dir=out, baselines=base,
                      inject=["*/b1=20ms"])
    assert outcome.exit_code == 1
    report = outcome.report_path

    urls = page_requests(browser.open(report.as_uri()))
    assert urls == [report.as_uri()], f"the report made network requests: {urls}"

    assert browser.eval("document.title").startswith("trt-harness report")
    assert browser.eval("document.querySelectorAll('#cases tbody tr').length") == 2
    assert browser.eval("document.querySelector('#attention').textContent").count(
        "tiny/transformer/onnxruntime/fp32/b1") == 1
    assert browser.eval("document.querySelectorAll('svg.plot').length") == 5  # 2 CDFs, 2 histories, throughput
    # CDF against the baseline and the history of the median are drawn for each case
    assert browser.eval("[...document.querySelectorAll('h4')].filter(h => "
                        "h.textContent.includes('against the baseline')).length") == 2
    assert browser.eval("[...document.querySelectorAll('h4')].filter(h => "
                        "h.textContent.includes('History of the median')).length") == 2

    # filter and sort work
    shown = browser.eval("""(() => { const f = document.getElementById('filter');
        f.value = 'b2'; f.dispatchEvent(new Event('input'));
        const n = [...document.querySelectorAll('#cases tbody tr')]
          .filter(r => r.style.display !== 'none').length;
        f.value = ''; f.dispatchEvent(new Event('input')); return n; })()""")
    assert shown == 1
    order = browser.eval("""(() => { const th = document.querySelectorAll('#cases th')[4];
        th.click(); const a = [...document.querySelectorAll('#cases tbody tr')]
          .map(r => r.cells[0].textContent.trim());
        th.click(); const b = [...document.querySelectorAll('#cases tbody tr')]
          .map(r => r.cells[0].textContent.trim()); return [a, b]; })()""")
    assert order[0] == list(reversed(order[1])) and order[0][0].endswith("/b2")  # b1 is slow

    height = min(browser.eval("document.documentElement.scrollHeight"), 1500)
    shot = browser.screenshot(ROOT / "reports" / "screenshot.png", WIDTH, height)
    _check_badge_colours(browser, shot)


def _check_badge_colours(browser: Browser, shot: Path) -> None:
    """The screenshot shows the regression badge red and the plots drawn (not a blank page)."""
    r = _rect(browser, "#attention .badge.regression")
    red = _pixel_rgb(shot, r["x"] + 3, r["y"] + r["h"] / 2)
    assert red[0] > 150 and red[1] < 90 and red[2] < 90, red
    from PIL import Image

    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours and len(colours) > 50               # text, badges, table: not blank


def test_every_section_in_the_browser(browser, tmp_path):
    run, history = synthetic_run()
    paths = write_reports(run, tmp_path, history)
    urls = page_requests(browser.open(paths.html.as_uri()))
    events = browser.drain()
    assert urls == [paths.html.as_uri()]
    assert not [e for e in events if e.get("method") == "Page.javascriptDialogOpening"]
    assert browser.eval("document.querySelectorAll('#cases tbody tr').length") == len(run.cases)
    # the hostile case id is text, not markup: its script never ran
    assert HOSTILE_ID in browser.eval("document.getElementById('cases').textContent")
    assert browser.eval("document.querySelectorAll('script').length") == 1
    assert browser.eval("document.querySelectorAll('rect.throttled').length") >= 5
    assert browser.eval("document.querySelectorAll('table.layer-diff tr').length") >= 3
    shot = browser.screenshot(ROOT / "reports" / "screenshot-synthetic.png", WIDTH,
                              min(browser.eval("document.documentElement.scrollHeight"), 1500))
    _check_badge_colours(browser, shot)


LONG_REASON = ("median 3.2% slower than the baseline, inside the tolerance of 5%; "
               "the interval of the change spans -0.4% to +6.9% because the CPU was shared "
               "with another job while measuring: rerun on a quiet machine to decide")


def _readability_run():
    """The synthetic run plus what issue 18's readability items need: a build-only ladder of
    six precision rungs, a passing SLO, a pipeline's timing record and a long reason."""
    from harness.results import CaseResult

    run, history = synthetic_run(["yunet"], hostile=False)
    layers = {"fp32": [{"name": f"conv{i}", "type": "CONVOLUTION", "precision": "float32"}
                       for i in range(40)]}
    int8 = [{"name": f"q{i}", "type": "QUANTIZE", "precision": "int8"} for i in range(12)]
    int8 += [{"name": f"dq{i}", "type": "DEQUANTIZE", "precision": "float32"}
             for i in range(12)]
    rungs = [("fp32", 25.0), ("tf32", 25.0), ("bf16", 13.0), ("fp16", 13.0), ("fp8", 28.0),
             ("int8", 27.5)]
    for precision, mib in rungs:
        cid = f"build/resnet/tensorrt/{precision}/b1"
        run.cases.append(CaseResult(
            id=cid, status="ok", backend={"name": "tensorrt", "version": "rtx 1.7"},
            case={"id": cid, "scenario": "build", "model": "resnet", "backend": "tensorrt",
                  "precision": precision, "batch": 1},
            timing={"build_only": True},
            build={"engine_bytes": int(mib * 2**20), "build_time_s": 11.5, "layer_count": 64,
                   "cache_hit": False},
            layers=layers["fp32"] + (int8 if precision in ("int8", "fp8") else [])))
    run.scenarios.append({"name": "build"})
    c = run.cases[0]
    c.timing["pipeline"] = {"clock": "host", "sync_per_stage": True, "frames": "480x640",
                            "stop_reason": "converged", "warmup_s": 0.41}
    c.verdict = (c.verdict or Verdict("pass")).updated(
        status="pass", reason=LONG_REASON,
        gates=[{"gate": "slo.fps", "status": "pass",
                "reason": "total 41.3 fps >= 30 fps (at the median)"}])
    return run, history


def test_readability_in_the_browser(browser, tmp_path):
    run, history = _readability_run()
    paths = write_reports(run, tmp_path, history)
    browser.open(paths.html.as_uri())
    ev = browser.eval
    # throughput charts name their model, above the plot and inside it; y from zero
    titles = ev("[...document.querySelectorAll('.throughput')].map(d => "
                "[d.querySelector('strong').textContent, d.querySelector('text.ttl')"
                ".textContent])")
    assert titles and all(a == "yunet" and b.startswith("yunet") for a, b in titles), titles
    assert ev("[...document.querySelectorAll('.throughput svg')].every(s => "
              "[...s.querySelectorAll('text.tk')].some(t => t.textContent === '0'))")
    # build-only cases: engine size, build time, layers in the case table
    cells = ev("[...document.querySelectorAll('#cases tbody tr')].filter(r => "
               "r.cells[0].textContent.includes('build/resnet')).map(r => "
               "r.querySelector('td.engine').textContent)")
    assert len(cells) == 6 and all("MiB" in t and "built in" in t and "64 layers" in t
                                   for t in cells), cells
    # the six rungs are compared (size, layers by precision, Q/DQ pairs)
    ladder = ev("[...document.querySelectorAll('.build-ladder tr')].slice(1).map(r => "
                "r.textContent)")
    assert len(ladder) == 6 and any("12 Q/DQ pairs" in r for r in ladder), ladder
    build_section = ev("[...document.querySelectorAll('section.scenario')].find(s => "
                       "s.querySelector('h3').textContent.startsWith('build')).textContent")
    assert "nothing to compare" not in build_section
    # a passing SLO is shown: in the case table and the case's gates
    assert "slo.fps" in ev("document.querySelector('#cases .gate-pass').textContent")
    assert ev("document.querySelectorAll('table.gates .gate-pass').length") >= 1
    # the pipeline's record is a table, not a Python dict
    body = ev("document.body.innerText")
    assert "{'clock'" not in body and ev("document.querySelectorAll('table.sub').length") >= 1
    # the reason wraps instead of being clipped
    cell = ev("""(() => { const td = [...document.querySelectorAll('#cases td.reason')]
        .find(t => t.textContent.includes('quiet machine')); const r = td.getBoundingClientRect();
        return {sw: td.scrollWidth, cw: td.clientWidth, h: r.height,
                line: parseFloat(getComputedStyle(td).lineHeight) || 18}; })()""")
    assert cell["sw"] <= cell["cw"] + 1 and cell["h"] > 2 * cell["line"], cell
    assert LONG_REASON in body
