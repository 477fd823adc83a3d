"""One rule for every file a scenario names (``inputs``, ``frames``,
``options.tensorrt.calibration``, ``options.tensorrt.plugins``) and for its step modules:
relative to the scenario file's folder, else an absolute path (``~`` expanded). A ``pre`` /
``post`` step module is looked up in the scenario's folder first, then among importable
modules (``harness.pipeline.ops``, installed packages).

The rule is applied when cases are expanded (their paths become absolute), so every later
user (the runner, the A/B runner, the TensorRT build) reads the same file; ``validate``
reports a missing one with its file, key and the path looked at.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.scenario.schema import CaseSettings, ScenarioFile

Loc = tuple[str | int, ...]


def scenario_path(text: str, base_dir: str | Path | None) -> Path:
    """``text`` resolved by the rule (the working directory stands in for a scenario built
    in code, without a file)."""
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    return (Path(base_dir) if base_dir else Path.cwd()) / path


def _layers(scenario: ScenarioFile) -> Iterator[tuple[Loc, CaseSettings]]:
    yield ("defaults",), scenario.defaults
    for i, model in enumerate(scenario.model):
        yield ("model", i), model
    for i, override in enumerate(scenario.case):
        yield ("case", i), override


def named_files(scenario: ScenarioFile) -> Iterator[tuple[Loc, str]]:
    """Every file path the scenario names, with its key path."""
    for loc, layer in _layers(scenario):
        for key in ("inputs", "frames"):
            text = getattr(layer, key, None)
            if text and (key == "inputs" or text.endswith(".npy")):
                yield (*loc, key), text
        trt = (layer.options or {}).get("tensorrt")
        if not isinstance(trt, dict):       # a wrong type is the options check's to report
            continue
        if isinstance(trt.get("calibration"), str):
            yield (*loc, "options", "tensorrt", "calibration"), trt["calibration"]
        plugins = trt.get("plugins")
        for j, lib in enumerate(plugins if isinstance(plugins, list) else ()):
            if isinstance(lib, str):
                yield (*loc, "options", "tensorrt", "plugins", j), lib


def named_steps(scenario: ScenarioFile) -> Iterator[tuple[Loc, str]]:
    for loc, layer in _layers(scenario):
        for key in ("pre", "post"):
            step = getattr(layer, key, None)
            if step is not None:
                yield (*loc, key, "step"), step.step
        if layer.reference is not None and layer.reference.post is not None:
            yield (*loc, "reference", "post", "step"), layer.reference.post.step


def path_problems(scenario: ScenarioFile, base_dir: str | Path | None
                  ) -> Iterator[tuple[Loc, str]]:
    """Files that do not exist and step modules found neither in the scenario's folder nor
    among importable modules (located, never imported: checking runs no code)."""
    for loc, text in named_files(scenario):
        path = scenario_path(text, base_dir)
        if not path.is_file():
            where = " (relative paths are read from the scenario's folder)" \
                if not Path(text).expanduser().is_absolute() else ""
            yield loc, f"file not found: {path}{where}"
    for loc, target in named_steps(scenario):
        module = target.partition(":")[0]
        if step_origin(module, base_dir) is None:
            yield loc, (f"module {module!r} not found in the scenario's folder"
                        f"{f' ({base_dir})' if base_dir else ''} nor among importable modules")


def step_origin(module: str, base_dir: str | Path | None) -> str | None:
    """Where the top-level package of ``module`` would be imported from (None: nowhere)."""
    top = module.split(".")[0]
    if base_dir:
        spec = importlib.machinery.PathFinder.find_spec(top, [str(base_dir)])
        if spec is not None:
            return spec.origin or str(base_dir)
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    return (spec.origin or top) if spec is not None else None


def import_step_module(module: str, base_dir: str | Path | None) -> Any:
    """Import a step's module, the scenario's folder first."""
    top = module.split(".")[0]
    local = base_dir is not None and importlib.machinery.PathFinder.find_spec(
        top, [str(base_dir)]) is not None
    with _on_path(str(base_dir)) if local else contextlib.nullcontext():
        return importlib.import_module(module)


@contextlib.contextmanager
def _on_path(folder: str) -> Iterator[None]:
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def absolute_options(options: dict[str, Any], backend: str,
                     base_dir: str | Path | None) -> dict[str, Any]:
    """A case's options with the TensorRT calibration file and plugin libraries made
    absolute by the rule."""
    if backend != "tensorrt" or base_dir is None:
        return options
    out = dict(options)
    if isinstance(out.get("calibration"), str):
        out["calibration"] = str(scenario_path(out["calibration"], base_dir))
    if out.get("plugins"):
        out["plugins"] = [str(scenario_path(p, base_dir)) if isinstance(p, str) else p
                          for p in out["plugins"]]
    return out
