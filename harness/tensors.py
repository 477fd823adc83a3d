"""A tensor as an engine declares it: name, numpy dtype name and dims (static or dynamic).

Below the backends, so input generation (:mod:`harness.inputs`) and ONNX reading
(:mod:`harness.models.onnx_io`) can speak of tensors without importing the backend layer.
"""

from __future__ import annotations

from dataclasses import dataclass

Dim = int | str | None   # int: static; str/None: dynamic (named / unnamed)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str                      # numpy dtype name: float32, float16, int64, bool, ...
    shape: tuple[Dim, ...]

    @property
    def dynamic_dims(self) -> list[int]:
        return [i for i, d in enumerate(self.shape) if not isinstance(d, int) or d < 0]

    def describe(self) -> str:
        dims = "x".join(str(d) if isinstance(d, int) and d >= 0 else (d or "?")
                        for d in self.shape)
        return f"{self.name}: {self.dtype}[{dims}]"
