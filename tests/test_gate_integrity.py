"""Issue 14: the CI gate cannot be fooled. Bad input is refused (exit 2) before anything is
measured; nothing measured is lost; nothing is written outside its folder."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.errors import ConfigError

# -- 1. command-line values are checked before anything runs ---------------------------------


@pytest.mark.parametrize("argv, flag", [
    (["run", "s.toml", "--fail-on", "regresion"], "--fail-on"),
    (["run", "s.toml", "--fail-on", "bogus,failed"], "--fail-on"),
    (["run", "s.toml", "--alpha", "5"], "--alpha"),
    (["run", "s.toml", "--alpha", "0"], "--alpha"),
    (["run", "s.toml", "--alpha", "nan"], "--alpha"),
    (["baseline", "accept", "r.json", "--keep", "0"], "--keep"),
    (["baseline", "prune", "--keep", "-1"], "--keep"),
    (["ab", "a.onnx", "b.onnx", "--instances", "0"], "--instances"),
    (["ab", "a.onnx", "b.onnx", "--duration", "0s"], "--duration"),
    (["ab", "a.onnx", "b.onnx", "--block", "-1"], "--block"),
    (["ab", "a.onnx", "b.onnx", "--fail-on", "slowr"], "--fail-on"),
    (["bench", "zoo:resnet", "--duration", "inf"], "--duration"),
    (["bench", "zoo:resnet", "--rel-ci", "0"], "--rel-ci"),
    (["bench", "zoo:resnet", "--threads", "0"], "--threads"),
])
def test_bad_flag_values_exit_2_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_fail_on_takes_ab_names_in_the_runs_words():
    from harness.arguments import verdict_names

    assert verdict_names("slower, failed,unstable") == ("regression", "failed", "unstable")


def test_unmatched_case_and_inject_globs_exit_2(tiny_scenario, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(tiny_scenario), "--out", str(out), "--case", "tiny/*",
                 "--case", "tiny/nosuch/*", "-q"]) == 2
    assert "--case" in capsys.readouterr().err
    assert main(["run", str(tiny_scenario), "--out", str(out), "--inject-delay",
                 "*/resnet/*=2ms", "-q"]) == 2
    assert "--inject-delay" in capsys.readouterr().err
    assert not out.exists()          # nothing ran


def test_case_override_that_matches_nothing_is_an_error(write_toml):
    from harness import api

    path = write_toml("""
        name = "t"
        [[model]]
        id = "m"
        source = "zoo:transformer"
        [[case]]
        match = "t/transfomer/*"
        stop = { max_time = "1s" }
    """)
    with pytest.raises(ConfigError, match=r"case\[0\]\.match.*'t/transfomer/\*' matches no case"
                       ) as err:
        api.list_cases([path])
    assert err.value.file == str(path)


# -- 2. scenario files: strict types, non-empty axes, bounds, options checked at load ---------

MODEL = '[[model]]\nid = "m"\nsource = "zoo:transformer"\n'


@pytest.mark.parametrize("body, key, words", [
    ('[defaults]\nbatch = ["4"]\n' + MODEL, "defaults.batch[0]", "valid integer"),
    ('[defaults]\nbatch = [true]\n' + MODEL, "defaults.batch[0]", "valid integer"),
    ('[defaults]\ntiming = { cuda_graph = "yes" }\n' + MODEL, "defaults.timing.cuda_graph",
     "valid boolean"),
    ('[defaults]\nbackends = []\n' + MODEL, "defaults.backends", "at least 1"),
    ('[defaults]\nprecisions = []\n' + MODEL, "defaults.precisions", "at least 1"),
    (MODEL + "shapes = []\n", "model[0].shapes", "at least 1"),
    ('[defaults]\nbatch = [18446744073709551616]\n' + MODEL, "defaults.batch[0]",
     "less than or equal to 65536"),
    ('[defaults]\nseed = ' + "9" * 4000 + "\n" + MODEL, "defaults.seed", "less than"),
    ('[[model]]\nid = "m"\nsource = ""\n', "model[0].source", "at least 1 character"),
    ('[[model]]\nid = "m"\nsource = "zoo:resnt"\n', "model[0].source", "unknown zoo model"),
    ('[defaults]\nstop = { max_time = inf }\n' + MODEL, "defaults.stop.max_time", "finite"),
    ('[defaults]\nstop = { rel_ci = 0 }\n' + MODEL, "defaults.stop.rel_ci", "greater than 0"),
    ('[defaults]\nstop = { min_samples = 50, max_samples = 10 }\n' + MODEL, "defaults.stop",
     "never stop"),
    ('[defaults]\noptions = { onnxruntime = { thread = 2 } }\n' + MODEL,
     "defaults.options.onnxruntime.thread", "unknown option"),
    ('[defaults]\noptions = { onnxruntime = { opt_level = "fastest" } }\n' + MODEL,
     "defaults.options.onnxruntime.opt_level", "'all'"),
    ('[defaults]\noptions = { onnxrunt1me = { threads = 2 } }\n' + MODEL,
     "defaults.options.onnxrunt1me", "unknown backend"),
    (MODEL + 'options = { tensorrt = { workspce = "1GiB" } }\n',
     "model[0].options.tensorrt.workspce", "unknown option"),
    (MODEL + 'options = { tensorrt = { target = "sm999" } }\n',
     "model[0].options.tensorrt.target", "unknown target"),
    (MODEL + 'options = { calibration = { blocks = 0 } }\n',
     "model[0].options.calibration.blocks", "greater than or equal to 1"),
    (MODEL + 'options = { torch = { mode = "jit" } }\n', "model[0].options.torch.mode", "eager"),
    (MODEL + 'options = { torch = { workspaces = "case" } }\n',
     "model[0].options.torch.workspaces", "'preparation'"),
])
def test_scenario_validation_refuses(body, key, words, write_toml, capsys):
    path = write_toml('name = "x"\n' + body)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and f"key '{key}'" in err and words in err, err
    assert main(["list", str(path)]) == 2


def test_deeply_nested_arrays_and_huge_matrices_are_clear_errors(write_toml, capsys):
    deep = write_toml('name = "x"\nx = ' + "[" * 5000 + "]" * 5000 + "\n", "deep.toml")
    assert main(["validate", str(deep)]) == 2
    assert "nested too deeply" in capsys.readouterr().err
    many = ", ".join(str(b) for b in range(1, 101))
    shapes = ", ".join(f'"input_ids:{{batch}}x{n}"' for n in range(1, 101))
    huge = write_toml(f'name = "x"\n[defaults]\nbatch = [{many}]\n'
                      f'backends = ["onnxruntime", "tensorrt"]\n{MODEL}shapes = [{shapes}]\n',
                      "huge.toml")
    assert main(["validate", str(huge)]) == 2
    assert "more than 10000 cases" in capsys.readouterr().err


# -- 3. nothing measured is lost ---------------------------------------------------------------


@pytest.mark.parametrize("content", [b"[1,2,3]", b"\xff\xfe\x00garbage",
                                     b'{"schema": "trt-harness/baseline/1"}', b"{" * 10000])
def test_damaged_baseline_refused_before_measuring(content, tiny_scenario, tmp_path, capsys):
    from harness.platform import platform_id

    store = tmp_path / "b"
    damaged = store / platform_id() / "tiny.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(content)
    out = tmp_path / "r"
    assert main(["run", str(tiny_scenario), "--out", str(out), "--baselines", str(store),
                 "-q"]) == 2
    assert str(damaged) in capsys.readouterr().err
    assert not out.exists()          # refused before the first case was measured


def test_report_failure_keeps_the_measurements(tiny_scenario, tmp_path, monkeypatch, capsys):
    import json

    from harness import api

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(api, "write_reports", broken)
    out = tmp_path / "r"
    code = main(["run", str(tiny_scenario), "--out", str(out), "--baselines",
                 str(tmp_path / "b"), "-q"])
    assert code != 0
    assert "template exploded" in capsys.readouterr().err
    data = json.loads((out / "results.json").read_text())
    assert data["complete"] and data["cases"][0]["stats_ms"]["n"] >= 10


@pytest.mark.parametrize("content", [b"[1,2,3]", b"\xff\xfe", b'{"schema": 1}',
                                     b'{"schema": "trt-harness/results/1", "cases": 3}',
                                     b'{"schema": "trt-harness/results/1", "run_id": "x", '
                                     b'"started": "s", "platform": {}, "platform_id": "p", '
                                     b'"cases": [{"id": "a", "status": "ok", "case": {}}]}'])
@pytest.mark.parametrize("command", [["report"], ["export", "-o", "x.json"],
                                     ["baseline", "accept"]])
def test_malformed_results_files_exit_2(content, command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "results.json"
    bad.write_bytes(content)
    argv = [*command[:1], *(command[1:2] if command[0] == "baseline" else []), str(bad),
            *([] if command[0] == "baseline" else command[1:])]
    assert main(argv) == 2
    assert str(bad) in capsys.readouterr().err


# -- 4. confinement: nothing written outside its folder ---------------------------------------


def _results_file(path, platform_id="p", scenario="s", **case):
    import json

    from harness.results import SCHEMA

    c = {"id": f"{scenario}/m/onnxruntime/fp32/b1", "status": "ok",
         "case": {"scenario": scenario, "precision": "fp32"}, "samples_ms": [1.0] * 20,
         "stats_ms": {"median": 1.0, "n": 20}, **case}
    path.write_text(json.dumps({"schema": SCHEMA, "run_id": "r1", "started": "2026-01-01",
                                "platform": {}, "platform_id": platform_id, "complete": True,
                                "cases": [c]}))
    return path


@pytest.mark.parametrize("names", [{"platform_id": "../../escaped"},
                                   {"scenario": "../../escaped"},
                                   {"platform_id": "/tmp/escaped-abs"}, {"scenario": ".."}])
def test_accept_cannot_write_outside_the_store(names, tmp_path, capsys):
    results = _results_file(tmp_path / "r.json", **names)
    store = tmp_path / "a" / "b" / "store"
    assert main(["baseline", "accept", str(results), "--baselines", str(store)]) == 2
    assert "cannot name a file" in capsys.readouterr().err
    assert not (tmp_path / "a" / "escaped").exists() and not (tmp_path / "a").exists()
    assert not list(tmp_path.rglob("*escaped*"))


def test_lock_files_are_never_followed(tmp_path):
    from harness.fsutil import file_lock

    victim = tmp_path / "victim"
    (tmp_path / "x.json.lock").symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"), file_lock(tmp_path / "x.json"):
        pass
    assert not victim.exists()


def test_outputs_under_a_file_are_clear_errors(tiny_scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    results = _results_file(tmp_path / "r.json")
    for argv in (["export", str(results), "-o", "afile/x.json"],
                 ["report", str(results), "--out", "afile/report"],
                 ["run", str(tiny_scenario), "--out", "afile/out", "-q"],
                 ["baseline", "accept", str(results), "--baselines", "afile"],
                 ["bench", "zoo:transformer", "--duration", "0.05s", "--json", "afile/b.json"]):
        assert main(argv) == 2, argv
        assert "afile" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2                        # a folder
    assert "folder" in capsys.readouterr().err
    assert main(["bench", "nosuch.onnx"]) == 2
    assert "not found" in capsys.readouterr().err


# -- 5. honest outcomes -------------------------------------------------------------------------


def test_all_nan_outputs_fail_the_case(write_toml, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from harness import api

    # y = x * NaN: fast, and useless
    nan = helper.make_tensor("nan", TensorProto.FLOAT, [1], [float("nan")])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "nan"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [nan])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "nan.onnx")
    path = write_toml("""
        name = "n"
        [defaults]
        warmup = { min_time = "5ms", max_time = "50ms" }
        stop = { rel_ci = "50%", min_samples = 5, min_time = "5ms", max_time = "50ms" }
        [[model]]
        id = "nan"
        source = "nan.onnx"
    """)
    outcome = api.run([path], out_dir=tmp_path / "r", baselines=tmp_path / "b")
    [case] = outcome.run.cases
    assert case.status == "failed" and "'y'" in case.error and "NaN" in case.error
    assert case.stats_ms["n"] >= 5           # the timing is kept
    assert outcome.exit_code == 1


def test_damaged_engine_cache_is_a_case_warning():
    from harness.backends.base import BuildInfo
    from harness.results import CaseResult
    from harness.timing.session import record_build

    class E:
        build = BuildInfo(warnings=["engine cache entry k was damaged (sha): rebuilt"])

    result = CaseResult(id="x", status="ok", case={})
    record_build(E(), result)
    assert result.warnings == ["engine cache entry k was damaged (sha): rebuilt"]


@pytest.mark.parametrize("case", [{"status": "failed", "error": "boom"},
                                  {"case": {"scenario": "s", "inject_delay": 0.002}},
                                  {"timing": {"inject_delay_s": 0.002}}])
def test_accept_refuses_failed_or_delayed_runs_unless_forced(case, tmp_path, capsys):
    results = _results_file(tmp_path / "r.json", **case)
    store = tmp_path / "store"
    assert main(["baseline", "accept", str(results), "--baselines", str(store)]) == 2
    assert "--force" in capsys.readouterr().err and not store.exists()
    assert main(["baseline", "accept", str(results), "--baselines", str(store),
                 "--force"]) == 0


def test_console_text_is_not_markup(capsys):
    from harness.cli import _table

    reason = "input_ids: int64[batchxseq] [/bold] [link=x]"
    _table([{"case": "s/[red]m[/red]/b1", "status": "failed", "median_ms": None,
             "ci_ms": (None, None), "p99_ms": None, "throughput": None, "n": 0,
             "verdict": "failed", "reason": reason}], "run [x]")
    out = capsys.readouterr().out.replace("\n", "")
    assert "int64[batchxseq]" in out.replace(" ", "") or "int64[batchxse" in out
    assert "[red]" in out


# -- 6. consent for code ------------------------------------------------------------------------


# A scenario whose post step is code from outside its folder (the standard library's json).
CODE_SCENARIO = """
        name = "c"
        [[model]]
        id = "m"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        post = { step = "json:dumps" }
"""


def test_code_from_outside_the_scenario_needs_consent(write_toml, tmp_path, monkeypatch, capsys):
    from harness import consent

    monkeypatch.delenv(consent.ENV, raising=False)
    path = write_toml(CODE_SCENARIO)
    out = tmp_path / "r"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "json:dumps" in err and "--allow-code" in err and not out.exists()
    # the harness's own steps and modules in the scenario's folder need no consent
    (tmp_path / "mysteps.py").write_text("def post(x, **kw):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from harness.scenario.expand import expand
    from harness.scenario.load import load_scenario

    for step in ("harness.pipeline.ops:softmax_topk", "mysteps:post"):
        [case] = expand(load_scenario(write_toml(path.read_text().replace("json:dumps", step),
                                                 "ok.toml")))
        consent.check_case(case, str(tmp_path))
    with pytest.raises(ConfigError, match="plugin library"):
        consent.check_file("/usr/lib/libevil.so", str(tmp_path), "plugin library")
    monkeypatch.setenv(consent.ENV, "1")
    consent.check_module("json:dumps", str(tmp_path), "post step")


def test_ab_scenarios_need_consent_for_code_too(write_toml, tmp_path, monkeypatch, capsys):
    """``ab SCENARIO.toml`` loads its [[ab]] cases' code under the same rule as ``run``."""
    from harness import consent

    monkeypatch.delenv(consent.ENV, raising=False)
    path = write_toml(CODE_SCENARIO + """
        [[model]]
        id = "n"
        source = "zoo:transformer"
        shapes = "input_ids:1x8"
        [[ab]]
        a = "m/onnxruntime/fp32/b1"
        b = "n/onnxruntime/fp32/b1"
    """)
    out = tmp_path / "r"
    assert main(["ab", str(path), "--out", str(out)]) == 2
    assert "--allow-code" in capsys.readouterr().err and not out.exists()
