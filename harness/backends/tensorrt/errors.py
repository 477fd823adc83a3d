"""TensorRT errors the user can act on, each naming what went wrong and where."""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError


class ParseError(HarnessError):
    """The ONNX parser rejected the model; every parser error is listed (node, op, message)."""

    def __init__(self, model: str, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        lines = [f"TensorRT's ONNX parser rejected {model} ({len(errors)} error(s)):"]
        for e in errors:
            where = f"node {e['node']}" + (f" ({e['node_name']!r})" if e["node_name"] else "")
            op = f" op {e['op']}" if e["op"] else ""
            # An op with no importer is looked up as a plugin: that failure means "unsupported".
            unsupported = e["code"] == "UNSUPPORTED_NODE" or "Plugin not found" in e["message"]
            kind = " [unsupported op: no TensorRT importer or plugin for it]" if unsupported else ""
            lines.append(f"  {where}{op}: {e['code']}: {e['message']}{kind}")
        super().__init__("\n".join(lines))


class BuildError(HarnessError):
    """The builder returned no engine; TensorRT's own error messages say why."""


class PluginError(HarnessError):
    """A plugin library could not be loaded or a plugin is missing."""
