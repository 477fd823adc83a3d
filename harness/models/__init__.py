"""Model sources: the built-in zoo (``zoo:NAME``), ONNX files by path, torch factories."""

from harness.models.source import ModelSource, resolve_source

__all__ = ["ModelSource", "resolve_source"]
