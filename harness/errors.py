"""Error types that map onto the CLI's exit codes (2 = usage/config, 1 = regression)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class HarnessError(Exception):
    """Base class: a problem the user can act on, reported without a traceback."""

    exit_code = 2


class ConfigError(HarnessError):
    """A scenario file, option or argument is wrong; nothing was run."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None, expected: str | None = None) -> None:
        self.file, self.key, self.line, self.expected = file, key, line, expected
        where = ""
        if file:
            where = file + (f":{line}" if line else "")
        parts = [p for p in (where, f"key '{key}'" if key else "") if p]
        prefix = ": ".join(parts)
        text = f"{prefix}: {message}" if prefix else message
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)


def validation_problems(exc: ValidationError) -> list[str]:
    """A pydantic validation error as "dotted.key: message" lines, one per problem, for a
    :class:`ConfigError` to name (the key "?" where the model as a whole was refused)."""
    return [f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors()]


class BackendUnavailable(HarnessError):
    """The backend a case asks for is not installed or cannot run here (e.g. no GPU)."""


class CaseSkipped(HarnessError):
    """A case cannot run on this machine; recorded as 'skipped' with the reason."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, after what was measured so far was written (``complete`` false)
    to ``results``: the CLI says where."""

    def __init__(self, results: object) -> None:
        super().__init__(str(results))
        self.results = results
