"""The built-in model zoo: small seeded ONNX models shaped like the source articles' models,
each with a dynamic batch dimension. Generated on first use and cached by content hash.

- ``resnet``: a ResNet-style classifier, ``input: Nx3x224x224`` -> ``logits: Nx100``.
- ``yunet``: a YuNet-style face detector at 320x240 with 12 heads (cls/obj/bbox/kps at
  strides 8/16/32), like libfacedetection's model.
- ``yolo-8400``: a YOLO-style detector, ``images: Nx3x640x640`` -> ``output0: Nx16x8400``
  (4 box + 12 class channels over 80x80 + 40x40 + 20x20 anchors).
- ``transformer``: one transformer encoder block over ``input_ids: NxS`` (int64, dynamic S).
- ``yunet-nms``: ``yunet`` with decode + ONNX NonMaxSuppression added by graph surgery
  (:mod:`harness.models.yunet`).
- ``enhancer``: a fully convolutional image-to-image model (a face enhancer's shape, as in
  FaceFusion) with dynamic batch, height and width: ``input: Nx3xHxW -> output: Nx3xHxW``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from harness.fsutil import atomic_write_bytes, atomic_write_json, file_lock, sha256_file
from harness.models.graph import FLOAT, INT64, GraphBuilder, tensor

# Bump when a generator changes: cached files of the old version are then not reused.
ZOO_VERSION = 2


def cache_dir() -> Path:
    root = os.environ.get("TRT_HARNESS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "trt-harness")
    return Path(root)


def _resnet(seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = g.conv("input", 3, 16, k=3, stride=2)                       # 112x112
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])  # 56
    c = 16
    for c_out, stride in ((16, 1), (32, 2), (64, 2), (64, 1)):
        y = g.conv(x, c, c_out, stride=stride)
        y = g.conv(y, c_out, c_out, relu=False)
        skip = x if (stride == 1 and c == c_out) else g.conv(x, c, c_out, k=1, stride=stride,
                                                             relu=False)
        x = g.op("Relu", [g.op("Add", [y, skip])])
        c = c_out
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    w = g.rng.normal(0, 0.1, (100, c)).astype(np.float32)
    logits = g.op("Gemm", [x, g.const(w), g.const(np.zeros(100, np.float32), "b")], transB=1)
    g.nodes[-1].output[0] = "logits"
    del logits
    return g.model("resnet", [tensor("input", FLOAT, ["batch", 3, 224, 224])],
                   [tensor("logits", FLOAT, ["batch", 100])], {})


def _flatten_head(g: GraphBuilder, x: str, channels: int, out: str) -> None:
    # NCHW -> N x (H*W) x C, keeping the batch dimension dynamic (Reshape's 0 copies it).
    t = g.op("Transpose", [x], perm=[0, 2, 3, 1])
    g.op("Reshape", [t, g.shape_const([0, -1, channels])])
    g.nodes[-1].output[0] = out


def _yunet(seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = g.conv("input", 3, 16, stride=2)          # 120x160
    x = g.conv(x, 16, 16)
    x = g.conv(x, 16, 32, stride=2)               # 60x80
    p8 = g.conv(g.conv(x, 32, 32, stride=2), 32, 32)      # 30x40
    p16 = g.conv(g.conv(p8, 32, 48, stride=2), 48, 48)    # 15x20
    p32 = g.conv(g.conv(p16, 48, 64, stride=2), 64, 64)   # 8x10
    outputs = []
    for stride, feat, c in ((8, p8, 32), (16, p16, 48), (32, p32, 64)):
        for head, ch, act in (("cls", 1, "Sigmoid"), ("obj", 1, "Sigmoid"), ("bbox", 4, None),
                              ("kps", 10, None)):
            y = g.conv(feat, c, ch, k=1, relu=False)
            if act:
                y = g.op(act, [y])
            name = f"{head}_{stride}"
            _flatten_head(g, y, ch, name)
            outputs.append(tensor(name, FLOAT, ["batch", "anchors", ch]))
    return g.model("yunet", [tensor("input", FLOAT, ["batch", 3, 240, 320])], outputs, {})


def _yolo(seed: int, classes: int = 12) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = g.conv("images", 3, 8, stride=2)               # 320
    x = g.conv(x, 8, 16, stride=2)                     # 160
    p8 = g.conv(g.conv(x, 16, 24, stride=2), 24, 24)   # 80
    p16 = g.conv(g.conv(p8, 24, 32, stride=2), 32, 32)  # 40
    p32 = g.conv(g.conv(p16, 32, 48, stride=2), 48, 48)  # 20
    heads, grid, stride = [], [], []
    for feat, c, s in ((p8, 24, 8), (p16, 32, 16), (p32, 48, 32)):
        y = g.conv(feat, c, 4 + classes, k=1, relu=False)
        heads.append(g.op("Reshape", [y, g.shape_const([0, 4 + classes, -1])]))
        n = 640 // s
        yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grid.append(np.stack([xx.ravel(), yy.ravel()]))
        stride.append(np.full(n * n, s))
    raw = g.op("Concat", heads, axis=2)                # N x 16 x 8400
    # Decoded in the graph as YOLO exports are: boxes in pixels (cx, cy, w, h) from the anchor
    # grid and stride, class scores with a background bias. Untrained weights would otherwise
    # give ~1 px boxes at the origin and every anchor near 0.5, so NMS would pick among
    # near-ties and detection-level accuracy would measure noise, not the runtime.
    grid_c = g.const(np.concatenate(grid, axis=1)[None].astype(np.float32), "grid")
    stride_c = g.const(np.concatenate(stride)[None, None].astype(np.float32), "stride")

    def sl(lo: int, hi: int) -> str:
        return g.op("Slice", [raw, g.shape_const([lo]), g.shape_const([hi]), g.shape_const([1])])

    def scalar(v: float) -> str:
        return g.const(np.asarray(v, np.float32), "k")

    xy = g.op("Mul", [g.op("Add", [g.op("Add", [g.op("Mul", [g.op("Sigmoid", [sl(0, 2)]),
                                                              scalar(2.0)]), scalar(-0.5)]),
                                   grid_c]), stride_c])
    wh2 = g.op("Mul", [g.op("Sigmoid", [sl(2, 4)]), scalar(2.0)])
    wh = g.op("Mul", [g.op("Mul", [wh2, wh2]), g.op("Mul", [stride_c, scalar(4.0)])])
    scores = g.op("Sigmoid", [g.op("Add", [sl(4, 4 + classes), scalar(-3.5)])])
    g.op("Concat", [xy, wh, scores], axis=1)
    g.nodes[-1].output[0] = "output0"
    return g.model("yolo-8400", [tensor("images", FLOAT, ["batch", 3, 640, 640])],
                   [tensor("output0", FLOAT, ["batch", 4 + classes, 8400])], {})


def _transformer(seed: int, vocab: int = 1000, d: int = 64, heads: int = 4,
                 ffn: int = 256) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    emb = g.const(g.rng.normal(0, 1, (vocab, d)).astype(np.float32), "embedding")
    x = g.op("Gather", [emb, "input_ids"], axis=0)           # N x S x D

    def layer_norm(v: str) -> str:
        return g.op("LayerNormalization", [v, g.const(np.ones(d, np.float32), "gamma"),
                                           g.const(np.zeros(d, np.float32), "beta")], axis=-1)

    h = layer_norm(x)
    dh = d // heads

    def split_heads(v: str) -> str:
        return g.op("Transpose", [g.op("Reshape", [v, g.shape_const([0, 0, heads, dh])])],
                    perm=[0, 2, 1, 3])                       # N x H x S x dh

    q, k, v = (split_heads(g.linear(h, d, d)) for _ in range(3))
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    scores = g.op("Mul", [g.op("MatMul", [q, kt]),
                          g.const(np.asarray(1 / np.sqrt(dh), np.float32), "scale")])
    attn = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    merged = g.op("Reshape", [g.op("Transpose", [attn], perm=[0, 2, 1, 3]),
                              g.shape_const([0, 0, d])])
    x = g.op("Add", [x, g.linear(merged, d, d)])
    f = g.linear(g.op("Relu", [g.linear(layer_norm(x), d, ffn)]), ffn, d)
    g.op("Add", [x, f])
    g.nodes[-1].output[0] = "hidden"
    return g.model("transformer", [tensor("input_ids", INT64, ["batch", "seq"])],
                   [tensor("hidden", FLOAT, ["batch", "seq", d])],
                   {"trt_harness.input_range": json.dumps({"input_ids": [0, vocab - 1]})})


def _yunet_nms(seed: int) -> onnx.ModelProto:
    from harness.models.yunet import add_yunet_nms

    return add_yunet_nms(_yunet(seed))


def _enhancer(seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = g.conv("input", 3, 16)
    d = g.conv(g.conv(x, 16, 32, stride=2), 32, 32)            # H/2 x W/2
    u = g.op("Resize", [d, "", g.const(np.asarray([1, 1, 2, 2], np.float32), "scales")],
             mode="nearest")
    y = g.conv(g.op("Concat", [u, x], axis=1), 48, 16)          # skip connection, U-Net style
    y = g.conv(y, 16, 3, relu=False)
    g.op("Add", ["input", y])
    g.nodes[-1].output[0] = "output"
    dims = ["batch", 3, "height", "width"]
    return g.model("enhancer", [tensor("input", FLOAT, dims)], [tensor("output", FLOAT, dims)],
                   {})


ZOO: dict[str, Callable[[int], onnx.ModelProto]] = {
    "resnet": _resnet, "yunet": _yunet, "yolo-8400": _yolo, "transformer": _transformer,
    "yunet-nms": _yunet_nms, "enhancer": _enhancer,
}

# Shapes a zoo model runs at when the scenario gives none ({batch} filled per case).
DEFAULT_SHAPES = {
    "resnet": "input:{batch}x3x224x224",
    "yunet": "input:{batch}x3x240x320",
    "yolo-8400": "images:{batch}x3x640x640",
    "transformer": "input_ids:{batch}x128",
    "yunet-nms": "input:{batch}x3x240x320",
    "enhancer": "input:{batch}x3x256x256",
}


def zoo_model(name: str, seed: int = 0) -> Path:
    """Path of the zoo model ``name`` (generated on first use, verified by hash afterwards)."""
    if name not in ZOO:
        raise KeyError(name)
    key = hashlib.sha256(f"{name}:{ZOO_VERSION}:{seed}".encode()).hexdigest()[:16]
    root = cache_dir() / "zoo"
    index = root / f"{name}-{key}.json"
    with file_lock(index):
        if index.exists():
            try:
                entry = json.loads(index.read_text())
                path = root / entry["file"]
                if path.exists() and sha256_file(path) == entry["sha256"]:
                    return path
            except (ValueError, KeyError):
                pass   # a damaged index entry: regenerate below
        data = ZOO[name](seed).SerializeToString()
        digest = hashlib.sha256(data).hexdigest()
        path = root / f"{name}-{digest[:16]}.onnx"
        atomic_write_bytes(path, data)
        atomic_write_json(index, {"name": name, "version": ZOO_VERSION, "seed": seed,
                                  "file": path.name, "sha256": digest})
        return path
