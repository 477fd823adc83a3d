"""The API contract with the real TensorRT: every TensorRT name the backend uses must exist in
the TensorRT line it is used on, checked against the names compiled into ``tensorrt.so`` of
the real ``tensorrt-cu12-bindings`` 10.x and ``tensorrt-cu13-bindings`` 11.x wheels (they
carry every registered class, method, property and enum name as strings) and TensorRT-RTX's.

The linker merges a string into the tail of a longer one ("FP16" may live only inside
"kFP16"), so names are looked for as string suffixes. CI fetches the wheels (nox -s tests
sets TRT_HARNESS_TRT_WHEELS); there a missing wheel fails the test, it never skips.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import pytest

from harness.backends.tensorrt import names

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "harness" / "backends" / "tensorrt"
WHEELS = {"10": ("tensorrt-cu12-bindings", "10.16.1.11"),
          "11": ("tensorrt-cu13-bindings", "11.4.0.106")}


# ------------------------------------------------------------- names used in the source
def _is_trt(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names.TRT_OBJECTS
    if isinstance(node, ast.Attribute):
        return node.attr in names.TRT_OBJECTS or _is_trt(node.value)
    if isinstance(node, ast.Call):
        return _is_trt(node.func)
    return False


def _trt_bases(cls: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Attribute) and _is_trt(b.value) for b in cls.bases)


def used_names() -> dict[str, set[str]]:
    """TensorRT name -> the enclosing function chains it is used in ("mod:f1.f2")."""
    found: dict[str, set[str]] = {}

    def visit(node: ast.AST, chain: tuple[str, ...], module: str) -> None:
        for child in ast.iter_child_nodes(node):
            sub = chain
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                sub = (*chain, child.name)
            if isinstance(child, ast.ClassDef) and _trt_bases(child):
                for item in child.body:
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("_") \
                            and item.name not in names.OWN_METHODS:
                        found.setdefault(item.name, set()).add(f"{module}:{'.'.join(sub)}")
            if isinstance(child, ast.Attribute) and _is_trt(child.value) \
                    and not child.attr.startswith("__"):
                found.setdefault(child.attr, set()).add(f"{module}:{'.'.join(chain)}")
            visit(child, sub, module)

    for path in sorted(SOURCE.glob("*.py")):
        if path.name != "names.py":
            visit(ast.parse(path.read_text()), (), path.stem)
    return found


def test_inventory_matches_the_source_exactly():
    used = set(used_names())
    declared = names.COMMON | names.TRT10 | names.RTX
    assert not used - declared, f"TensorRT names used but not in names.py: {sorted(used - declared)}"
    assert not declared - used, f"names.py lists names no code uses: {sorted(declared - used)}"


def test_dynamic_lookups_only_through_declared_tables():
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" \
                    and _is_trt(node.args[0]):
                target, key = node.args[0], node.args[1]
                if isinstance(key, ast.Constant) and str(key.value).startswith("__"):
                    continue            # Python-level module facts (__name__), not the API
                assert isinstance(target, ast.Attribute) and target.attr == "ComputeCapability", \
                    f"{path.name}:{node.lineno}: getattr on a TensorRT object outside the " \
                    "declared tables: the name could not be checked"


def test_line_specific_names_stay_on_their_code_path():
    used = used_names()
    for line, only in (("10", names.TRT10), ("rtx", names.RTX)):
        suffix = names.PATH_SUFFIX[line]
        for name in only:
            for where in used[name]:
                funcs = where.split(":")[1].split(".")
                assert any(f.endswith(suffix) for f in funcs), \
                    f"{name} (TensorRT {line} only) is used in {where}, outside a *{suffix} path"


# -------------------------------------------------------------- names in the real .so
def _ci() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("TRT_HARNESS_TRT_WHEELS"))


def _unavailable(reason: str) -> None:
    if _ci():
        pytest.fail(f"{reason} (CI must provide the TensorRT bindings wheels)")
    pytest.skip(reason)


def wheel_dir() -> Path:
    given = os.environ.get("TRT_HARNESS_TRT_WHEELS")
    folder = Path(given) if given else ROOT / ".pytest_cache" / "trt-wheels"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fetch_wheels(folder: Path) -> None:
    """pip download the two bindings wheels (about 1.3 MB each), no dependencies."""
    for package, version in WHEELS.values():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                        "--only-binary=:all:", "--python-version", "3.11",
                        "--platform", "manylinux_2_28_x86_64", "-d", str(folder),
                        f"{package}=={version}"], check=True, capture_output=True, timeout=300)


def _strings(data: bytes) -> bytes:
    # Like `strings`: printable runs, NUL-terminated, in one blob for suffix searches.
    return b"\0".join(re.findall(rb"[\x20-\x7e]{2,}", data)) + b"\0"


@cache
def so_strings(line: str) -> bytes:
    if line == "rtx":
        try:
            import tensorrt_rtx_bindings
        except ImportError:
            _unavailable("TensorRT-RTX is not installed: pip install trt-harness[tensorrt-rtx]")
        [so] = Path(tensorrt_rtx_bindings.__file__).parent.glob("tensorrt*.so")
        return _strings(so.read_bytes())
    package, version = WHEELS[line]
    folder = wheel_dir()
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    if not list(folder.glob(pattern)):
        try:
            fetch_wheels(folder)
        except (subprocess.SubprocessError, OSError) as exc:
            _unavailable(f"cannot download {package}=={version} (no network?): {exc}")
    wheels = list(folder.glob(pattern))
    if not wheels:
        _unavailable(f"{package}=={version} is not in {folder}")
    with zipfile.ZipFile(wheels[0]) as zf:
        [member] = [n for n in zf.namelist() if re.search(r"tensorrt[^/]*\.so$", n)]
        return _strings(zf.read(member))


def has_name(blob: bytes, name: str) -> bool:
    return (name.encode() + b"\0") in blob


@pytest.mark.parametrize("line", ["10", "11", "rtx"])
def test_every_name_exists_in_its_tensorrt_line(line):
    blob = so_strings(line)
    missing = sorted(n for n in names.LINES[line] if not has_name(blob, n))
    assert not missing, f"TensorRT {line} has no {missing}"


def test_the_wheels_are_the_lines_they_claim():
    # Sanity: the 11.x wheel lost weakly typed calibration; 10.x still has it.
    assert has_name(so_strings("10"), "IInt8EntropyCalibrator2")
    assert not has_name(so_strings("11"), "IInt8EntropyCalibrator2")
    assert has_name(so_strings("10"), "device_memory_size")
    assert not has_name(so_strings("11"), "_device_memory_size")


# ------------------------------------------------------------ the double, same rules
def test_the_double_offers_only_inventory_names():
    import trt_double as d

    extra = set()
    for version in ("10.16.1.11", "11.4.0.106"):
        trt = d.FakeTensorRT(version)
        objects = [trt, *(getattr(trt, a) for a in vars(trt)
                          if not a.startswith("_") and a != "cuda")]   # FakeCuda: not TensorRT
        classes = [d._Builder, d._Config, d._Network, d._OnnxParser, d._ParserError,
                   d._Profile, d._TimingCache, d._Engine, d._Context, d._Inspector,
                   d._Runtime, d._Registry, d._Layer, d._Tensor]
        instances = [vars(obj) for obj in objects if hasattr(obj, "__dict__")]
        public = {n for c in classes for n in vars(c) if not n.startswith("_")}
        public |= {n for inst in instances for n in inst if not n.startswith("_")}
        extra |= public - names.ALL - d.DOUBLE_STATE
        if version.startswith("11"):
            assert not (public & names.TRT10), "the 11.x double offers TensorRT-10-only names"
    assert not extra, f"the double offers names TensorRT does not have: {sorted(extra)}"
