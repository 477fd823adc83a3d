"""The stored panel's re-judging (benchmarks/stored_panel.py): on simulated runs of known
noise, written as results files, it forms baselines from other runs, judges plain cases
(A/A) and slowed cases under the plain ids with the harness's own judge, and counts what it
should: no false alarm, the slowdown found."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from benchmark_modules import load

from harness.results import CaseResult, RunResult, load_results
from harness.stats import summarize

# benchmarks/ is not installed with the package: load the script from the checkout
stored_panel = load("stored_panel")

MODELS = ("alpha", "beta")


def _case(rng, model: str, level: float) -> CaseResult:
    """A torch-like case over 4 random layouts (0.2 % apart), 0.1 % run to run."""
    run = level * np.exp(0.001 * rng.standard_normal())
    parts = [run * np.exp(0.002 * rng.standard_normal()
                          + 0.001 * rng.standard_normal(100)) for _ in range(4)]
    x = np.concatenate(parts)
    figures = [{"seed": i, "applied": True, "n": len(p), "median_ms": float(np.median(p)),
                "p99_ms": float(np.percentile(p, 99))} for i, p in enumerate(parts)]
    return CaseResult(id=f"panel/{model}/torch:graph/fp16/b8", status="ok",
                      case={"scenario": "panel", "model": model, "options": {}, "batch": 8},
                      backend={"name": "torch", "version": "2.11"}, samples_ms=x.tolist(),
                      stats_ms=summarize(x), timing={"timer": "cuda-event", "cuda_graph": True,
                                                     "layout_figures": figures},
                      shapes={"x": [8, 3, 224, 224]})


def _runs(tmp_path: Path, count: int = 8, slow: float = 1.03, level: float = 1.0,
          name: str = "run") -> list[str]:
    """Results files of ``count`` simulated processes, each with the plain models at
    ``level`` and the same models ``slow`` times slower (model id ending in "-slow", no
    slowdown option)."""
    paths = []
    for i in range(count):
        rng = np.random.default_rng(40 + i + (name != "run") * 1000)
        cases = [_case(rng, m, level) for m in MODELS]
        cases += [_case(rng, m + stored_panel.SLOW, level * slow) for m in MODELS]
        run = RunResult(run_id=f"r{i}", started="2026-12-02T00:00:00", platform={},
                        platform_id="sim", cases=cases)
        path = tmp_path / f"{name}{i}.json"
        path.write_text(json.dumps(run.to_json()))
        paths.append(str(path))
    return paths


def test_the_panel_finds_the_slowdown_and_no_false_alarm(tmp_path):
    runs = stored_panel.load_runs(_runs(tmp_path))
    assert len(runs) == 8
    plain, slow = stored_panel.split(runs[0])
    assert set(plain) == set(slow) and all("-slow" not in k for k in slow)
    counts = stored_panel.experiment(runs, 5, 2, stored_panel.DEFAULT_POLICY, None)
    for model in MODELS:
        aa, power = counts[(model, "A/A")], counts[(model, "slowed")]
        assert aa["pass"] == 16 and aa["(median pass)"] == 16, aa
        assert power["regression"] == 16 and power["(median regression)"] == 16, power
    table = stored_panel.table(counts)
    assert "| alpha | A/A | 16 | pass 16 |" in table


def test_results_files_and_archives_load_alike(tmp_path):
    import tarfile

    paths = _runs(tmp_path, count=2)
    archive = tmp_path / "runs.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for p in paths:
            tar.add(p, arcname=f"panel/{Path(p).name}")
    (tmp_path / "printout.json").write_text("[1, 2]")     # an archive's other JSON
    assert len(stored_panel.load_runs([str(archive)])) == 2
    assert [r.run_id for r in stored_panel.load_runs(paths)] == ["r0", "r1"]
    assert load_results(paths[0]).cases[0].timing["layout_figures"]


def test_first_layouts_judges_a_run_as_a_fixed_count_would_have_measured_it(tmp_path):
    """``--layouts K``: each case keeps its first K layouts' figures and exactly their
    samples (which lie in layout order), its statistics recomputed from them; a case with
    no more than K layouts is left as it is."""
    [run] = stored_panel.load_runs(_runs(tmp_path, count=1))
    cut = stored_panel.first_layouts(run, 2)
    for before, after in zip(run.cases, cut.cases, strict=True):
        figures = after.timing["layout_figures"]
        assert figures == before.timing["layout_figures"][:2]
        kept = sum(x["n"] for x in figures)
        assert after.samples_ms == before.samples_ms[:kept] and kept < len(before.samples_ms)
        assert after.stats_ms["median"] == float(np.median(before.samples_ms[:kept]))
    assert stored_panel.first_layouts(run, 4).cases == run.cases


def test_history_draws_the_baselines_from_an_earlier_session(tmp_path):
    """``--history``: the baselines come from those runs, not from the judged set's others;
    an earlier session 3 % slower makes today's plain cases an improvement."""
    runs = stored_panel.load_runs(_runs(tmp_path, count=2))
    earlier = stored_panel.load_runs(_runs(tmp_path, count=6, level=1.03, name="earlier"))
    counts = stored_panel.experiment(runs, 5, 2, stored_panel.DEFAULT_POLICY, None,
                                     history=earlier)
    for model in MODELS:
        assert counts[(model, "A/A")]["improvement"] == 4, counts[(model, "A/A")]


def test_random_layouts_leaves_out_the_replayed_runs(tmp_path, capsys):
    """``--random-layouts``: runs made with ``run --layout-seed`` (a replay panel's fixed
    seeds, which repeat one set of layouts) are not judged; ``--prior-weight`` reaches the
    policy."""
    paths = _runs(tmp_path, count=7)
    for path in paths[:2]:
        run = json.loads(Path(path).read_text())
        for c in run["cases"]:
            c["timing"]["layout_seed"] = 101
        Path(path).write_text(json.dumps(run))
    assert stored_panel.main([*paths, "--random-layouts", "--prior-weight", "2",
                              "--draws", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 runs;") and "2 pseudo-runs" in out


def test_contexts_are_backfilled_as_the_runner_records_them(tmp_path):
    """Runs saved before ``timing.layout_context`` existed get it from their case order,
    with the runner's own functions; a recorded one is kept."""
    from harness.layout import preparation_context, prepared

    [path] = _runs(tmp_path, count=1)
    run = stored_panel.load_runs([path])[0]
    filled = stored_panel.with_contexts(run)
    contexts = [c.timing["layout_context"] for c in filled.cases]
    assert contexts[0] == preparation_context([])
    assert contexts[2] == preparation_context([prepared(c.case, c.timing)
                                               for c in run.cases[:2]])
    assert len(set(contexts)) == len(contexts)
    again = stored_panel.with_contexts(filled)
    assert [c.timing["layout_context"] for c in again.cases] == contexts
