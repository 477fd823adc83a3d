"""Layer information and the engine fingerprint.

With a GPU, the engine inspector's JSON (built with DETAILED profiling verbosity) gives each
layer's type, precision and tactic. Without one (TensorRT-RTX building for a target), the
parsed network's layers stand in. The fingerprint hashes that list, so a verdict can tell "the
engine changed (other tactics, precision or fusion)" from "the same engine got slower".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.backends.tensorrt.build import dtype_name


def network_layers(network: Any) -> list[dict[str, Any]]:
    layers = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        tensor = layer.get_output(0) if layer.num_outputs else None
        layers.append({"name": layer.name, "type": layer.type.name,
                       "precision": dtype_name(tensor.dtype) if tensor is not None else None,
                       "tactic": None})
    return layers


def engine_information(trt: Any, engine: Any, context: Any) -> tuple[dict[str, Any], list[dict]]:
    """The inspector's JSON for the whole engine, and one summary dict per layer."""
    inspector = engine.create_engine_inspector()
    inspector.execution_context = context
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    return info, [_summary(entry) for entry in info.get("Layers", [])]


def _summary(entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):        # LAYER_NAMES_ONLY verbosity: names only
        return {"name": entry, "type": None, "precision": None, "tactic": None}
    outputs = entry.get("Outputs") or [{}]
    fmt = outputs[0].get("Format/Datatype") if isinstance(outputs[0], dict) else None
    return {"name": entry.get("Name"), "type": entry.get("LayerType"), "precision": fmt,
            "tactic": entry.get("TacticName") or entry.get("TacticValue")}


def fingerprint(layers: list[dict[str, Any]]) -> str:
    canon = [[ly.get("name"), ly.get("type"), ly.get("precision"), ly.get("tactic")]
             for ly in layers]
    return hashlib.sha256(json.dumps(canon).encode()).hexdigest()[:16]


def profiler_class(trt: Any) -> type:
    """An IProfiler that accumulates per-layer times over the iterations of one pass."""

    class LayerTimes(trt.IProfiler):
        def __init__(self) -> None:
            trt.IProfiler.__init__(self)
            self.times: dict[str, list[float]] = {}

        def report_layer_time(self, layer_name: str, ms: float) -> None:
            self.times.setdefault(layer_name, []).append(float(ms))

    return LayerTimes
