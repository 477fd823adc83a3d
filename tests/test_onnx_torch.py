"""The torch backend's ONNX interpreter computes what ONNX Runtime computes, on every zoo
model. Runs wherever torch imports (CPU is enough); the GPU run is in test_gpu_device.py."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (the [torch] extra)")


@pytest.mark.parametrize(("name", "shape"), [
    ("resnet", (2, 3, 224, 224)), ("yunet", (2, 3, 240, 320)), ("yolo-8400", (1, 3, 640, 640)),
    ("transformer", (2, 16)), ("enhancer", (2, 3, 64, 96)),
])
def test_interpreter_matches_onnxruntime(name, shape):
    import onnxruntime as ort

    from harness.backends import onnx_torch
    from harness.models.zoo import zoo_model

    path = str(zoo_model(name))
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 999, shape).astype(np.int64) if name == "transformer"
         else rng.uniform(-1, 1, shape).astype(np.float32))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        out = onnx_torch.load(path).eval()(torch.from_numpy(x))
    for o, r in zip(out, ref, strict=True):
        assert o.shape == r.shape
        assert np.linalg.norm(o.numpy() - r) <= 1e-5 * np.linalg.norm(r)
