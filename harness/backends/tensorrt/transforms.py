"""The ONNX model TensorRT parses: the source model after the harness's transforms (NMS
surgery, FP16/BF16 retyping, INT8/FP8 Q/DQ), cached by content hash like the zoo's models."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx

from harness.fsutil import atomic_write_bytes, file_lock, sha256_file

# Bump when a transform changes what it writes: old cached models are then not reused.
TRANSFORM_VERSION = 1


def prepared_model(source: str, steps: list[tuple[dict[str, Any], Callable]],
                   root: Path) -> tuple[str, str]:
    """(path, sha256) of ``source`` after ``steps`` ((description, function) pairs).

    No steps: the source itself. The result is cached under ``root`` by the source's hash and
    the step descriptions, written atomically under a lock.
    """
    source_hash = sha256_file(source)
    if not steps:
        return source, source_hash
    spec = json.dumps({"v": TRANSFORM_VERSION, "source": source_hash,
                       "steps": [d for d, _ in steps]}, sort_keys=True)
    key = hashlib.sha256(spec.encode()).hexdigest()[:24]
    path = root / f"{Path(source).stem}-{key}.onnx"
    with file_lock(path):
        if not path.exists():
            model = onnx.load(source)
            for _, step in steps:
                model = step(model)
            atomic_write_bytes(path, model.SerializeToString())
    return str(path), sha256_file(path)
