"""Every module of the package imports on its own, first, in a fresh interpreter: an import
circle hides while some other module happens to be imported before it (the CLI's order) and
breaks the first caller who starts elsewhere (a plugin, a notebook, ``python -c``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

# each module is imported with every harness module dropped before it, so none rides on an
# earlier one's partial initialisation; third-party packages stay loaded (fast, and not ours)
PROBE = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "harness" or m.startswith("harness.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f"{name}: {exc}")
print("\\n".join(failed))
"""


def _modules() -> list[str]:
    names = []
    for path in sorted(HARNESS.rglob("*.py")):
        parts = path.relative_to(HARNESS.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue  # runs the command line on import
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_first_on_its_own():
    modules = _modules()
    assert "harness.timing.mode" in modules and "harness.ab.verdict" in modules
    done = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True,
                          text=True, cwd=HARNESS.parent, timeout=600, check=True)
    assert done.stdout.strip() == "", done.stdout
