"""A TensorRT logger that keeps what TensorRT said, so a failed build or deserialisation is
reported with TensorRT's own words instead of a bare ``None``."""

from __future__ import annotations

from typing import Any


def make_logger(trt: Any, echo_warnings: bool = False) -> Any:
    class CapturingLogger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.warnings: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            if severity in (trt.ILogger.ERROR, trt.ILogger.INTERNAL_ERROR):
                self.errors.append(msg)
            elif severity == trt.ILogger.WARNING:
                self.warnings.append(msg)
                if echo_warnings:
                    print(f"[TensorRT] {msg}")

        def take_errors(self) -> str:
            text = "; ".join(self.errors[-5:]) or "no message from TensorRT"
            self.errors.clear()
            return text

    return CapturingLogger()
