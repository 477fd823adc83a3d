"""The PyTorch runtime on the GPU: models from a factory (``torchvision.models:resnet50`` or
any importable callable returning an ``nn.Module``) or from ONNX (the zoo's models, through
:mod:`harness.backends.onnx_torch`); fp32 / tf32 / fp16 / bf16; three modes, named in the
backend axis (``torch:eager``, ``torch:graph``, ``torch:compile``) or ``options.torch.mode``:

- ``eager``: the module called from Python every inference (host-bound for small batches);
- ``graph``: captured once with ``torch.cuda.graph``, each inference one graph replay;
- ``compile``: ``torch.compile`` (``compile_mode``, default "default"), compiled at bind.

All work goes on the harness's dedicated stream (made torch's current stream), so the
CUDA-event timer around ``run`` measures exactly the model. Options (``options.torch``):
``mode``, ``compile_mode``, ``cudnn_benchmark`` (default false: cuDNN's autotuner picks
algorithms per process, which moved efficientnet_b0 by 1.9 % between processes on the H200,
so gating runs with deterministic choices; turn it on to measure the tuned speed),
``channels_last`` (false), ``extra_pad`` (bytes, default 0: held before the weights, moving
the layout and nothing else; a verification knob like ``slowdown``), ``workspaces``
("process", default, torch's own: one cuBLAS workspace per process, placed by its first
matrix product; "preparation": released before each preparation when no other engine is in
use, so every layout places its own; a diagnostic, measured not to merge runs),
``slowdown`` (fraction or "x%", default 0): a GPU spin (``torch.cuda._sleep``) appended to every
inference, sized to that fraction of the model's measured GPU time and launched after each
inference or graph replay (never captured: the graph, and every allocation, stay the plain
case's, so a slowed case draws the same layouts as its plain twin), so verdict experiments
can inject a true GPU-time change into a real model (issues #5, #8).
It changes only time: the figures gated besides latency are measured before it is added.

Memory is the case's own (issue 22): ``device_bytes`` is what this model needs, whatever ran
before it: its weights and inputs plus the peak of one inference above the level just before
it (activations, outputs, per-call workspaces), in bytes requested from the caching allocator
(its block rounding depends on the neighbours, so on the layout). What the harness adds
for its own purposes (layout pads, captured graphs' pools, rotated input sets) is reported
apart as ``harness_*_bytes``, and the process-wide allocator figures as ``process_*_bytes``:
context, never gated.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import time
import weakref
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field

from harness import gpu
from harness.backends.base import Backend, BackendOptions, Engine, TensorSpec
from harness.errors import CaseSkipped, ConfigError
from harness.layout import Layout
from harness.models.onnx_io import onnx_input_specs
from harness.timing.analysis import rotation_sets
from harness.units import parse_fraction


class TorchOptions(BackendOptions):
    """``options.torch`` (module docstring)."""

    mode: Literal["eager", "graph", "compile"] = "eager"
    compile_mode: Literal["default", "reduce-overhead", "max-autotune",
                          "max-autotune-no-cudagraphs"] = "default"
    cudnn_benchmark: bool = False      # deterministic algorithm choice for gating
    channels_last: bool = False
    slowdown: Annotated[float, BeforeValidator(parse_fraction),
                        Field(ge=0, allow_inf_nan=False)] = 0.0
    # Verification knob (issue 20): bytes held before the weights on top of the layout's
    # pads, so an A/A comparison can move one side's layout and nothing else.
    extra_pad: int = Field(default=0, ge=0, le=1 << 30)
    # Where the cuBLAS workspace lives (issue 20). torch keeps one per handle and stream for
    # the life of the process, so it is placed by the process's first matrix product (the
    # first case's first layout) and shared by every later preparation: a level a stored run's
    # layouts share (efficientnet_b0 on the H200: 2 of 8 random-layout runs +0.5 %, every
    # layout, while fixed layouts repeat a run to 0.01 %). "preparation": released before
    # each preparation when no other engine of the process is in use (a captured graph
    # holds the workspace's address), so each layout places its own. A diagnostic, not a
    # cure: on the H200 (session 14) it did not merge efficientnet_b0's runs (excess over
    # the layouts 0.15 % with it, 0.21 % without, 9 runs each), so torch's own stays the
    # default (docs/verdicts.md, "Where the process term lives").
    workspaces: Literal["process", "preparation"] = "process"


_DTYPES = {"fp32": "float32", "tf32": "float32", "fp16": "float16", "bf16": "bfloat16"}
GRAPH_WARMUP = 3      # eager runs on a side stream before capture, as torch's docs ask
SIZING_RUNS = 30      # inferences timed to size an injected slowdown


def _torch() -> Any:
    import torch

    return torch


# Engines of this process whose memory is in use (made and not yet deactivated): a graph
# captured by one of them holds the cuBLAS workspace's address, so the workspace is released
# only when none is (A/B keeps both sides' engines alive while it measures).
_IN_USE: weakref.WeakSet[Any] = weakref.WeakSet()


def _nbytes(tensors: Any) -> int:
    """Bytes held by an iterable of tensors."""
    return sum(t.numel() * t.element_size() for t in tensors)


def _flatten(out: Any) -> list[Any]:
    torch = _torch()
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [v for v in out.values() if isinstance(v, torch.Tensor)]
    if isinstance(out, list | tuple):
        return [t for o in out for t in _flatten(o)]
    return []


class TorchEngine(Engine):
    is_async = True
    supports_cuda_graph = False      # mode "graph" captures itself (torch's allocator pools)
    enqueues_copies = True
    rotates_inputs = True

    def __init__(self, module: Any, inputs: list[TensorSpec], output_names: list[str] | None,
                 precision: str, mode: str, options: dict[str, Any]) -> None:
        super().__init__()
        self.module = module
        self._inputs = inputs
        self._output_names = output_names
        self.precision = precision
        self.mode = mode
        self.replays_cuda_graph = mode == "graph"
        self.options = options
        self._outs: list[Any] = []
        self._sets: list[tuple[Any, ...]] = []
        self._graphs: list[Any] = []
        self._fn: Any = None
        self._graph: Any = None
        self._raw: Any = None                # eager/compile: the last run's outputs
        self.dtype: Any = None
        self.slowdown = float(options.get("slowdown", 0.0))    # validated by prepare
        self.spin_cycles = 0                 # torch.cuda._sleep cycles per inference
        self.layout: Layout | None = None
        # per layout stage, held until the stage is placed again or the engine closes
        self._pads: dict[str, list[Any]] = {}
        self._pad_bytes: dict[str, int] = {}
        self._mem: dict[str, int] = {}
        _IN_USE.add(self)

    @property
    def outputs(self) -> list[TensorSpec]:
        names = self._output_names or [f"output{i}" for i in range(max(1, len(self._outs)))]
        return [TensorSpec(n, _DTYPES.get(self.precision, "float32"),
                           tuple(self._outs[i].shape) if i < len(self._outs) else ())
                for i, n in enumerate(names)]

    # -- binding: inputs to the device, then the mode's preparation ----------------------
    def _device_input(self, arr: Any) -> Any:
        t = arr.to("cuda", non_blocking=True)
        return t.to(self.dtype) if t.is_floating_point() else t

    def bind_impl(self, feed: dict[str, np.ndarray]) -> None:
        torch = _torch()
        torch.set_grad_enabled(False)
        self._ext = torch.cuda.ExternalStream(gpu.stream_handle(self.stream))
        torch.cuda.set_stream(self._ext)   # torch enqueues on the harness's stream from now on
        self._host_in = [torch.from_numpy(np.ascontiguousarray(feed[s.name])).pin_memory()
                         for s in self._inputs]
        self._place_inputs()
        t0 = time.perf_counter()
        self.stream.sync()
        before_first = requested_bytes()
        if self.mode == "compile":
            self._fn = torch.compile(self.module, mode=self.options.get("compile_mode",
                                                                        "default"))
            first = _flatten(self._fn(*self._args))   # compiles here, not in the warm-up
            self.build.notes.append(f"torch.compile took {time.perf_counter() - t0:.1f} s")
        else:
            self._fn = self.module
            first = _flatten(self._fn(*self._args))   # first call: lazy init, autotuning
        self.stream.sync()
        # What the first call left allocated beyond its outputs is the libraries' own
        # (cuBLAS/cuDNN workspaces that torch keeps per stream): the first case of a process
        # pays it and later ones reuse it, so it is process start-up, not the case's need.
        kept = requested_bytes() - before_first - _nbytes(first)
        self._mem["process_library_workspace_bytes"] = max(int(kept), 0)
        del first
        self._measure_own_memory()
        if self.mode == "graph":
            self._capture_graph()
        if self.slowdown:
            self._size_slowdown()
        self.stream.sync()
        self._host_out = [torch.empty(o.shape, dtype=o.dtype, pin_memory=True)
                          for o in self._outs]

    def _place_inputs(self) -> None:
        """The layout's buffer pads, then the device copies of the bound host inputs."""
        torch = _torch()
        self.hold_pads("buffers")
        self._args = tuple(self._device_input(h) for h in self._host_in)
        if self.options.get("channels_last"):
            self._args = tuple(a.contiguous(memory_format=torch.channels_last)
                               if a.dim() == 4 else a for a in self._args)
        self._sets = [self._args]

    def _capture_graph(self) -> None:
        """Capture the inference on the current inputs, the graph's pool measured."""
        torch = _torch()
        # torch.cuda.graph empties the allocator's cache as capture begins: empty it first,
        # or the pool's figure is the capture's size minus whatever was cached
        torch.cuda.empty_cache()
        before = torch.cuda.memory_reserved()
        self._graph = self._capture(self._args)
        self._graphs = [self._graph]
        self._mem["harness_graph_pool_bytes"] = torch.cuda.memory_reserved() - before

    def _drop_graphs(self) -> None:
        """Release the captured graphs and, with them, their pools (give back ``_outs``
        first where they live in one) to the driver."""
        self._graph, self._graphs = None, []
        gc.collect()
        _torch().cuda.empty_cache()

    def relayout_impl(self, layout: Layout) -> bool:
        torch = _torch()
        torch.cuda.set_stream(self._ext)     # this engine's stream, whoever ran last
        self.stream.sync()
        self.layout = layout
        # Let go of everything the old placement put down (graphs and their pools, inputs,
        # input sets, outputs, the buffer pads) before anything new is placed: the new pads,
        # not the old buffers' holes, must decide where the new ones land. Weights stay.
        self._outs, self._raw, self._sets, self._args = [], None, [], ()
        self._pads.pop("buffers", None)
        self._drop_graphs()
        self._place_inputs()
        if self.mode == "graph":
            self._capture_graph()
        else:          # the outputs the copies read (as after the bind), in the new placement
            self._outs = _flatten(self._fn(*self._args))
        self.stream.sync()
        return True

    def _measure_own_memory(self) -> None:
        """The case's own device memory: what it holds (weights, inputs) plus the peak of one
        plain inference above the level just before it (activations, outputs, per-call
        workspaces), run after the first call so lazy initialisation does not count.

        Composed from the case's own tensors rather than read as the process's level minus
        a level taken before the case: whatever else lives in the process (earlier cases'
        leftovers, the libraries' per-stream workspaces, layout pads) then cannot enter it.
        With "before-case" levels the H200 still gave a model 1 MiB more as the first case
        of a process than after another case."""
        torch = _torch()
        self.stream.sync()
        torch.cuda.reset_peak_memory_stats()
        before = requested_bytes()
        self._outs = _flatten(self._fn(*self._args))
        self.stream.sync()
        held = self._weight_bytes() + _nbytes(self._args)
        self._mem["device_bytes"] = int(held + requested_bytes(peak=True) - before)

    def _gpu_ms(self, fn: Any, runs: int = SIZING_RUNS) -> float:
        """Median GPU time of ``fn`` on the current stream (CUDA events around each call)."""
        torch = _torch()
        times = []
        for _ in range(runs):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        return float(np.median(times))

    def _size_slowdown(self) -> None:
        """Measure the model's GPU time and the spin's cycles per ms here, then size the spin:
        the injected change is a fraction of *this* GPU's time, whatever its clock.

        The spin allocates nothing and the captured graph is kept as it is (the spin runs
        after each replay, :meth:`run_impl`): the injection changes what runs, never where
        anything is placed, so a slowed case lands in the very layouts its plain twin does
        (re-capturing the graph here, as before session 15, put the slowed case's graph and
        outputs elsewhere than the plain case's, and the stored verdict's paired layouts
        saw two layout draws, not a change)."""
        torch = _torch()
        model_ms = self._gpu_ms(self.run_impl)
        probe = 1_000_000
        cycles_per_ms = probe / self._gpu_ms(lambda: torch.cuda._sleep(probe), 5)
        self.spin_cycles = max(1, round(self.slowdown * model_ms * cycles_per_ms))
        self.build.notes.append(
            f"injected slowdown {self.slowdown:+.2%}: torch.cuda._sleep({self.spin_cycles}) "
            f"= {self.spin_cycles / cycles_per_ms * 1e3:.2f} us after each inference "
            f"(model {model_ms:.4f} ms on the GPU)")

    def _infer(self, *args: Any) -> Any:
        out = self._fn(*args)
        self._spin()
        return out

    def _spin(self) -> None:
        """The injected slowdown's GPU spin, if any (never captured: graphs stay the plain
        case's, :meth:`_size_slowdown`)."""
        if self.spin_cycles:
            _torch().cuda._sleep(self.spin_cycles)

    def _capture(self, args: tuple[Any, ...]) -> Any:
        torch = _torch()
        side = torch.cuda.Stream()
        side.wait_stream(self._ext)
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP):
                self._fn(*args)
        self._ext.wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._outs = _flatten(self._fn(*args))
        return graph

    def update_inputs_impl(self, feed: dict[str, np.ndarray]) -> None:
        # Into the pinned staging buffers; enqueue_h2d moves them (the captured graph reads
        # the same device tensors, so it stays valid).
        for spec, host in zip(self._inputs, self._host_in, strict=True):
            np.copyto(host.numpy(), feed[spec.name])

    # -- the hot path ------------------------------------------------------------------
    def run_impl(self) -> None:
        if self._graph is not None:
            self._graph.replay()
            self._spin()
        else:
            self._raw = self._infer(*self._args)

    def enqueue_h2d(self) -> None:
        for dst, src in zip(self._args, self._host_in, strict=True):
            dst.copy_(src, non_blocking=True)

    def enqueue_d2h(self) -> None:
        for dst, src in zip(self._host_out, self._outs, strict=True):
            dst.copy_(src, non_blocking=True)

    def fetch_outputs_impl(self) -> dict[str, np.ndarray]:
        if self._graph is None and self._raw is not None:
            self._outs = _flatten(self._raw)     # the last run's outputs, not a new inference
        self.stream.sync()
        return {s.name: o.float().cpu().numpy() for s, o in zip(self.outputs, self._outs,
                                                                   strict=False)}

    # -- cold runs: rotate among input sets ----------------------------------------------
    def prepare_input_sets(self, l2_bytes: int) -> int:
        size = _nbytes(self._args)
        n = rotation_sets(size, l2_bytes)
        before = _torch().cuda.memory_reserved()
        self._sets = [self._args] + [tuple(a.clone() for a in self._args) for _ in range(n - 1)]
        if self.mode == "graph":
            self._graphs = [self._graph] + [self._capture(s) for s in self._sets[1:]]
        self.stream.sync()
        self._mem["harness_input_sets_bytes"] = _torch().cuda.memory_reserved() - before
        return n

    def select_input_set(self, i: int) -> None:
        self._args = self._sets[i]
        if self._graphs:
            self._graph = self._graphs[i]

    def memory(self) -> dict[str, int]:
        torch = _torch()
        return {"model_bytes": int(self._weight_bytes()), **self._mem,
                # process-wide context: what the allocator holds now, whoever asked for it
                "process_reserved_bytes": int(torch.cuda.memory_reserved()),
                "process_peak_bytes": int(torch.cuda.max_memory_allocated())}

    def _weight_bytes(self) -> int:
        """The model's parameters and buffers on the device."""
        return _nbytes(self.module.parameters()) + _nbytes(self.module.buffers())

    def hold_pads(self, stage: str) -> None:
        """Allocate the layout's pads for ``stage`` and hold them in place of the stage's
        earlier ones (a relayout lets those go before anything new is placed)."""
        self.keep_pads(stage, *layout_pads(self.layout, stage))

    def keep_pads(self, stage: str, pads: list[Any], nbytes: int) -> None:
        """Hold ``pads`` (``nbytes``) as ``stage``'s until it is placed again or the engine
        closes: they are the layout."""
        self._pads[stage] = pads
        self._pad_bytes[stage] = nbytes
        self._mem["harness_layout_pad_bytes"] = sum(self._pad_bytes.values())

    def deactivate_impl(self) -> None:
        torch = _torch()
        self._graph, self._graphs, self._sets, self._args = None, [], [], ()
        self._pads = {}
        torch.cuda.set_stream(torch.cuda.default_stream())
        _IN_USE.discard(self)


class TorchBackend(Backend):
    name = "torch"
    randomizes_layout = True
    precision_hint = "needs TensorRT"

    @classmethod
    def startup(cls, cases: list[Any]) -> None:
        """The CUDA context, cuDNN/cuBLAS and the model factories' modules: seconds that the
        first case's load would otherwise carry (issue 22: 4.7-5.9 s vs 0.09 s)."""
        torch = _torch()
        gpu.ensure_current()
        torch.cuda.init()
        x = torch.ones((8, 8), device="cuda")
        (x @ x).sum().item()                 # cuBLAS handle
        for case in cases:
            mod_name, sep, _ = str(getattr(case, "source", "")).partition(":")
            if sep and not str(case.source).startswith("zoo:"):
                with contextlib.suppress(ImportError):   # the case says why, when it runs
                    importlib.import_module(mod_name)
    options_model = TorchOptions

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import torch
        except ImportError:
            return "torch is not installed (pip install torch)"
        if not torch.cuda.is_available():
            return "torch sees no CUDA GPU"
        return gpu.unavailable_reason()

    @classmethod
    def version(cls) -> str:
        return _torch().__version__

    @classmethod
    def supported_precisions(cls) -> tuple[str, ...]:
        return tuple(_DTYPES)

    def prepare(self, case: Any, model_path: str | None) -> TorchEngine:
        opts = self.parse_options(case.options, case.id).model_dump()
        mode = opts["mode"]
        torch = _torch()
        gpu.ensure_current()
        torch.manual_seed(case.seed)
        torch.backends.cudnn.benchmark = bool(opts["cudnn_benchmark"])
        tf32 = case.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        # Earlier cases' cached blocks go back to the driver, so this case's figures are its
        # own whatever ran before it (issue 22: +17.6 % "regression" after adding a case).
        gc.collect()
        torch.cuda.synchronize()
        workspace = "kept"
        if opts["workspaces"] == "preparation" and not _IN_USE:
            torch._C._cuda_clearCublasWorkspaces()
            workspace = "released"
        torch.cuda.empty_cache()
        pads, pad_bytes = layout_pads(self.layout, "weights")
        if opts["extra_pad"]:
            pads.append(torch.empty(opts["extra_pad"], dtype=torch.uint8, device="cuda"))
            pad_bytes += opts["extra_pad"]
        t0 = time.perf_counter()
        module, inputs, outputs = self._load(case, model_path)
        engine = TorchEngine(module, inputs, outputs, case.precision, mode, opts)
        engine.layout = self.layout
        engine.keep_pads("weights", pads, pad_bytes)
        dtype = getattr(torch, _DTYPES[case.precision])
        module = module.eval().to(device="cuda", dtype=dtype)
        if opts.get("channels_last"):
            module = module.to(memory_format=torch.channels_last)
        engine.module = module
        engine.dtype = dtype
        engine.build.load_time_s = time.perf_counter() - t0
        engine.build.notes.append(f"mode={mode} dtype={dtype} cudnn.benchmark="
                                  f"{torch.backends.cudnn.benchmark} tf32={tf32}")
        if opts["workspaces"] == "preparation":
            engine.build.notes.append(f"cuBLAS workspace {workspace} before this preparation")
        return engine

    @staticmethod
    def _load(case: Any, model_path: str | None) -> tuple[Any, list[TensorSpec], list[str] | None]:
        if model_path is not None:
            from harness.backends import onnx_torch

            module = onnx_torch.load(model_path)
            return module, onnx_input_specs(model_path), module.output_names
        target = case.source
        mod_name, _, attr = target.partition(":")
        try:
            factory = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as exc:
            raise CaseSkipped(f"model factory {target!r} cannot be imported here: {exc}") \
                from None
        module = factory()
        if case.profile is None or not case.profile.run:
            raise ConfigError(f"{case.id}: a factory model needs its input shapes, e.g. "
                              "shapes = \"x:{batch}x3x224x224\"")
        specs = [TensorSpec(name, "float32", tuple(shape))
                 for name, shape in case.profile.run.items()]
        _settle_batchnorm(module, specs, case.seed)
        return module, specs, None


def requested_bytes(peak: bool = False) -> int:
    """Bytes the caching allocator's clients asked for (now, or at the peak since the last
    reset), before its rounding to blocks: whether a block is split or handed out whole
    depends on what sits around it, so allocated bytes moved a model's figure by up to 10 %
    between random layouts and by 1 MiB between case orders (H200, shufflenet_v2_x1_0 and
    mobilenet_v3_small); requested bytes are the model's alone. Allocated bytes where this
    torch keeps no such counter."""
    torch = _torch()
    key = "requested_bytes.all." + ("peak" if peak else "current")
    value = torch.cuda.memory_stats().get(key)
    if value is None:
        return int(torch.cuda.max_memory_allocated() if peak else torch.cuda.memory_allocated())
    return int(value)


def layout_pads(layout: Layout | None, stage: str) -> tuple[list[Any], int]:
    """The layout's pads before ``stage`` as device tensors (to be held), and their bytes."""
    if layout is None:
        return [], 0
    torch = _torch()
    sizes = [n for n in layout.pads(stage) if n]
    return [torch.empty(n, dtype=torch.uint8, device="cuda") for n in sizes], sum(sizes)


def _settle_batchnorm(module: Any, specs: list[TensorSpec], seed: int) -> None:
    """A freshly initialised network's BatchNorm layers hold mean 0 / variance 1, so in eval
    mode nothing normalises and activations can overflow fp16. One training-mode pass over a
    seeded random batch sets the statistics to that batch's, as after real training."""
    torch = _torch()
    bns = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(seed)
    batch = [torch.randn(*(max(2, d) if i == 0 else d for i, d in enumerate(s.shape)),
                         generator=gen).cuda() for s in specs]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None                 # cumulative average: one pass sets the stats
    module.cuda().train()
    with torch.no_grad():
        module(*batch)
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    module.eval()
