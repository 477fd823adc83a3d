"""Modules of ``benchmarks/`` for the tests: loaded from their files, with the repository root
on ``sys.path`` only while they load (they import one another as ``benchmarks.…``; the tests
run from an installed harness, where ``benchmarks`` is not a package on the path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` (``name`` dotted below ``benchmarks``, e.g. ``device.scenario``)
    as the module ``benchmarks.<name>``, loaded once."""
    full = f"benchmarks.{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(
        full, ROOT / "benchmarks" / (name.replace(".", "/") + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module              # dataclasses look their module up
    sys.path.insert(0, str(ROOT))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT))
    return module
