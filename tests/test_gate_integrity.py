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
