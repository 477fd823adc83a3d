"""Resolve a case's ``source`` string: ``zoo:NAME``, a path to an ``.onnx`` file (relative to
the scenario file, then to the working directory), or a torch factory ``module:callable``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError

_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


_DIGESTS: dict[tuple[str, int, int], str] = {}


def is_factory(text: str) -> bool:
    """``module:callable`` (Python code), not a zoo name or a model file."""
    return not text.startswith("zoo:") and bool(_FACTORY.match(text))


def model_digest(source: ModelSource) -> str | None:
    """SHA-256 of the model file the source resolved to (None for factories): what tells
    whether a baseline's model is still at hand. Cached per path, mtime and size."""
    if source.onnx_path is None:
        return None
    from harness.fsutil import sha256_file

    st = Path(source.onnx_path).stat()
    key = (str(Path(source.onnx_path).resolve()), st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(source.onnx_path)
    return _DIGESTS[key]


@dataclass(frozen=True)
class ModelSource:
    kind: str                 # "zoo" | "onnx" | "factory"
    text: str                 # as written
    onnx_path: str | None     # the ONNX file (zoo models have one too)
    factory: str | None = None
    zoo_name: str | None = None


def check_source(text: str, base_dir: str | Path | None = None) -> Path | None:
    """What can be known of a source without building anything: a zoo name exists, a model
    file is there (its path returned). :class:`ConfigError` otherwise; ``validate`` and
    ``bench`` call this before anything is measured."""
    if text.startswith("zoo:"):
        from harness.models.zoo import ZOO

        if text[4:] not in ZOO:
            raise ConfigError(f"unknown zoo model {text[4:]!r}",
                              expected=", ".join(sorted(ZOO)))
        return None
    if text.endswith(".onnx") or "/" in text or text.startswith("."):
        for root in ([Path(base_dir)] if base_dir else []) + [Path.cwd()]:
            candidate = (root / text).expanduser()
            if candidate.is_file():
                return candidate.resolve()
        raise ConfigError(f"model file {text!r} not found"
                          + (f" (looked in {base_dir} and the working directory)"
                             if base_dir else ""))
    return None


def resolve_source(text: str, base_dir: str | Path | None = None, seed: int = 0) -> ModelSource:
    path = check_source(text, base_dir)
    if text.startswith("zoo:"):
        from harness.models.zoo import zoo_model

        return ModelSource("zoo", text, str(zoo_model(text[4:], seed)), zoo_name=text[4:])
    if path is not None:
        return ModelSource("onnx", text, str(path))
    if _FACTORY.match(text):
        return ModelSource("factory", text, None, factory=text)
    raise ConfigError(f"model source {text!r} is not understood", expected="'zoo:NAME', a path "
                      "to an .onnx file, or a torch factory 'module:callable'")
