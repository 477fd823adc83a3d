"""Consent for code: a scenario file can name Python (``pre``/``post`` steps, ``module:callable``
model factories) and native plugin libraries, and running it would execute them. That code
loads only from the harness itself or the scenario's own folder tree, unless the user allows
any code: ``--allow-code`` on the command line or ``TRT_HARNESS_ALLOW_CODE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError
from harness.scenario.paths import scenario_path

if TYPE_CHECKING:
    from harness.scenario.expand import Case

ENV = "TRT_HARNESS_ALLOW_CODE"
_HARNESS = Path(__file__).resolve().parent


def code_allowed() -> bool:
    return os.environ.get(ENV, "") not in ("", "0")


def allow_code() -> None:
    """What ``--allow-code`` does: for this process and the ones it starts (profile)."""
    os.environ[ENV] = "1"


def _inside(path: Path, roots: list[Path]) -> bool:
    path = path.resolve()
    return any(path.is_relative_to(r) for r in roots)


def check_file(path: str | Path, base_dir: str | Path | None, what: str) -> None:
    """A native library (TensorRT plugin) the scenario names."""
    if code_allowed() or (base_dir and _inside(Path(path), [Path(base_dir).resolve()])):
        return
    raise ConfigError(f"{what} {str(path)!r} is outside the scenario's folder"
                      f"{f' ({base_dir})' if base_dir else ''}: loading it runs its code",
                      expected=f"a file under the scenario's folder, or --allow-code "
                               f"(or {ENV}=1)")


def check_module(target: str, base_dir: str | Path | None, what: str) -> None:
    """A ``module:callable`` the scenario names. Only the top-level package is located (never
    imported), so checking runs nothing."""
    if code_allowed():
        return
    from harness.scenario.paths import step_origin

    found = step_origin(target.partition(":")[0], base_dir)
    origin = Path(found) if found and Path(found).exists() else None
    roots = [_HARNESS] + ([Path(base_dir).resolve()] if base_dir else [])
    if origin is not None and _inside(origin, roots):
        return
    raise ConfigError(f"{what} {target!r} is code from outside the harness and the "
                      f"scenario's folder{f' ({base_dir})' if base_dir else ''}",
                      expected=f"--allow-code (or {ENV}=1) to run code a scenario names")


def check_case(case: Case, base_dir: str | None) -> None:
    """Every piece of code a scenario case would load: its pre/post steps (and the
    reference's), a torch model factory, TensorRT plugin libraries."""
    from harness.models.source import is_factory

    for what, step in (("pre", case.pre), ("post", case.post),
                       ("reference post", case.reference.post)):
        if step is not None:
            check_module(step.step, base_dir, f"{what} step")
    if case.backend == "torch" and is_factory(case.source):
        check_module(case.source, base_dir, "model factory")
    if case.backend == "tensorrt":
        for text in case.options.get("plugins") or ():
            check_file(scenario_path(text, base_dir), base_dir,
                       "plugin library")
