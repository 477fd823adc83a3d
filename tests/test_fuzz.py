"""Fuzzing the files the harness reads (issue 14): scenario files and results/baseline files
either load or raise :class:`ConfigError` (exit 2), never another exception (a traceback)."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.results import SCHEMA, load_results
from harness.scenario.expand import expand
from harness.scenario.load import load_scenario

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

KEYS = ["name", "defaults", "model", "case", "ab", "id", "source", "backends", "precisions",
        "batch", "shapes", "stop", "warmup", "timing", "options", "onnxruntime", "tensorrt",
        "torch", "calibration", "threads", "rel_ci", "max_time", "min_samples", "max_samples",
        "match", "skip", "cuda_graph", "min", "opt", "max", "pre", "post", "step", "a", "b",
        "tolerance", "median", "seed", "inject_delay", "input_range", "target", "workspace"]
WORDS = ["zoo:transformer", "zoo:nope", "onnxruntime", "tensorrt", "torch:graph", "fp32",
         "fp16", "input_ids:{batch}x8", "input_ids:1x8", "5%", "10ms", "x/*", "", "inf", "all",
         "s/m/onnxruntime/fp32/b1", "harness.pipeline.ops:softmax_topk", "../x", "sm89"]

scalars = st.one_of(st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(WORDS),
                    st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=20)


def toml_value(v: object) -> str:
    """A value as TOML inline syntax (enough of it for fuzzing)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if abs(v) == float("inf") \
            else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"


BASE = {"name": "s", "model": [{"id": "m", "source": "zoo:transformer"}]}


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) and value else None


@st.composite
def scenarios(draw):
    doc = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "defaults", "model", "case"]))
        key, value = draw(st.sampled_from(KEYS)), draw(values)
        # a "top" draw may have replaced the model or case array by any value
        tables = {"defaults": doc.get("defaults"), "model": _first(doc.get("model")),
                  "case": _first(doc.get("case"))}
        if where == "defaults" and tables["defaults"] is None:
            tables["defaults"] = doc["defaults"] = {}
        if where == "case" and tables["case"] is None:
            doc["case"] = [{"match": "s/*"}]
            tables["case"] = doc["case"][0]
        target = doc if where == "top" else tables[where]
        if isinstance(target, dict):
            target[key] = value
    return "\n".join(f"{k} = {toml_value(v)}" for k, v in doc.items())


@FUZZ
@given(text=scenarios())
def test_scenario_files_load_or_raise_config_error(text, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with contextlib.suppress(ConfigError):
        expand(load_scenario(path), str(path))


@FUZZ
@given(data=st.binary(max_size=200))
def test_scenario_bytes_load_or_raise_config_error(data, tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        expand(load_scenario(path), str(path))


RESULTS = {"schema": SCHEMA, "run_id": "r", "started": "2026-01-01", "platform": {},
           "platform_id": "p", "complete": True,
           "cases": [{"id": "s/m", "status": "ok", "case": {"scenario": "s"},
                      "samples_ms": [1.0, 2.0], "stats_ms": {"median": 1.5}}]}
RESULT_KEYS = [*RESULTS, "cases", "samples_ms", "stats_ms", "status", "case", "id", "verdict",
               "warnings", "memory", "scenario", "ab", "command"]


@st.composite
def results_files(draw):
    doc = json.loads(json.dumps(RESULTS))
    for _ in range(draw(st.integers(1, 3))):
        cases = doc.get("cases")
        case = cases[0] if isinstance(cases, list) and cases else None
        spec = case.get("case") if isinstance(case, dict) else None
        target = draw(st.sampled_from([doc, case, spec]))
        if isinstance(target, dict):
            target[draw(st.sampled_from(RESULT_KEYS))] = draw(values)
    return json.dumps(doc, allow_nan=True)


@FUZZ
@given(text=st.one_of(results_files(), st.text(max_size=50)))
def test_results_files_load_or_raise_config_error(text, tmp_path):
    from harness.baseline.store import BaselineStore

    path = tmp_path / "r.json"
    path.write_text(text)
    with contextlib.suppress(ConfigError):
        load_results(path)
    # the same bytes as a baseline file
    store = tmp_path / "b"
    (store / "p").mkdir(parents=True, exist_ok=True)
    (store / "p" / "s.json").write_text(text.replace(SCHEMA, "trt-harness/baseline/1"))
    with contextlib.suppress(ConfigError):
        BaselineStore(store).load("p", "s")
