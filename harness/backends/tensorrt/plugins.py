"""Plugins: TensorRT's own (``init_libnvinfer_plugins``, before parsing and deserialising),
extra plugin libraries named in the scenario, and NMS added to a detector by graph surgery
(the YuNet article: NMS inside the engine instead of in Python after it).

The surgery uses plain ``onnx`` (no onnx-graphsurgeon): it is a handful of nodes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from harness.backends.tensorrt.errors import PluginError
from harness.backends.tensorrt.options import NmsOptions
from harness.scenario.paths import scenario_path

EFFICIENT_NMS = "EfficientNMS_TRT"


def init_plugins(trt: Any, logger: Any, libraries: list[str]) -> list[str]:
    """Register TensorRT's plugins and load ``libraries``; returns the resolved paths."""
    trt.init_libnvinfer_plugins(logger, "")
    registry = trt.get_plugin_registry()
    loaded = []
    for text in libraries:
        path = resolve_library(text)
        if registry.load_library(str(path)) is None:
            raise PluginError(f"TensorRT could not load plugin library {path}: "
                              f"{logger.take_errors()}")
        loaded.append(str(path))
    return loaded


def resolve_library(text: str) -> Path:
    """By the scenario path rule (:mod:`harness.scenario.paths`): a scenario's libraries are
    absolute after expansion; one given in code is relative to the working directory."""
    path = scenario_path(text, None)
    if not path.is_file():
        raise PluginError(f"plugin library {text!r} not found ({path})")
    return path.resolve()


def has_creator(trt: Any, name: str) -> bool:
    registry = trt.get_plugin_registry()
    return any(c.name == name for c in registry.all_creators)


def add_nms(model: onnx.ModelProto, opts: NmsOptions, use_plugin: bool) -> onnx.ModelProto:
    """Replace a detector's box/score outputs by NMS results.

    ``use_plugin``: EfficientNMS_TRT (TensorRT 10/11 ship it) with its four fixed-size
    outputs; otherwise ONNX NonMaxSuppression, which TensorRT parses into its own NMS layer
    (TensorRT-RTX has no EfficientNMS plugin) and whose output size depends on the data.
    """
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    names = {o.name for o in g.output}
    for name in {opts.boxes, opts.scores}:
        if name not in names:
            raise PluginError(f"NMS: the model has no output {name!r}; its outputs are "
                              f"{sorted(names)}")
    boxes, scores = _boxes_and_scores(g, opts)
    del g.output[:]
    if use_plugin:
        results = ["num_detections", "detection_boxes", "detection_scores", "detection_classes"]
        g.node.append(helper.make_node(
            EFFICIENT_NMS, [boxes, scores], results, name="nms/EfficientNMS_TRT",
            plugin_version="1", background_class=-1, max_output_boxes=opts.max_detections,
            score_threshold=opts.score_threshold, iou_threshold=opts.iou_threshold,
            score_activation=0, class_agnostic=0, box_coding=opts.box_coding))
        k = opts.max_detections
        g.output.extend([
            helper.make_tensor_value_info(results[0], TensorProto.INT32, ["batch", 1]),
            helper.make_tensor_value_info(results[1], TensorProto.FLOAT, ["batch", k, 4]),
            helper.make_tensor_value_info(results[2], TensorProto.FLOAT, ["batch", k]),
            helper.make_tensor_value_info(results[3], TensorProto.INT32, ["batch", k])])
        return out
    # ONNX NMS wants scores as [N, classes, anchors].
    scores_t = _node(g, "Transpose", [scores], perm=[0, 2, 1])
    consts = {"max": [opts.max_detections], "iou": [opts.iou_threshold],
              "score": [opts.score_threshold]}
    inputs = [boxes, scores_t]
    for key, value in consts.items():
        dtype = "int64" if key == "max" else "float32"
        init = numpy_helper.from_array(np.asarray(value, dtype), f"nms/{key}")
        g.initializer.append(init)
        inputs.append(init.name)
    g.node.append(helper.make_node("NonMaxSuppression", inputs, ["selected_indices"],
                                   name="nms/NonMaxSuppression",
                                   center_point_box=opts.box_coding))
    g.output.append(helper.make_tensor_value_info("selected_indices", TensorProto.INT64,
                                                  ["detections", 3]))
    return out


def _boxes_and_scores(g: onnx.GraphProto, opts: NmsOptions) -> tuple[str, str]:
    boxes, scores = opts.boxes, opts.scores
    if opts.transpose:      # N x C x anchors -> N x anchors x C
        boxes = _node(g, "Transpose", [boxes], perm=[0, 2, 1])
        scores = boxes if opts.scores == opts.boxes else _node(g, "Transpose", [scores],
                                                              perm=[0, 2, 1])
    if opts.scores == opts.boxes:      # one tensor: 4 box channels, then class scores
        both = boxes
        boxes = _slice(g, both, 0, 4)
        scores = _slice(g, both, 4, 1 << 30)
    return boxes, scores


def _slice(g: onnx.GraphProto, x: str, start: int, end: int) -> str:
    names = []
    for part, value in (("starts", start), ("ends", end), ("axes", 2)):
        init = numpy_helper.from_array(np.asarray([value], np.int64), f"nms/{x}/{part}{start}")
        g.initializer.append(init)
        names.append(init.name)
    return _node(g, "Slice", [x, *names])


def _node(g: onnx.GraphProto, op: str, inputs: list[str], **attrs: Any) -> str:
    out = f"nms/{op.lower()}_{len(g.node)}"
    g.node.append(helper.make_node(op, inputs, [out], name=out, **attrs))
    return out
