"""Load and validate scenario TOML files; every error names the file, the key path, what was
expected and, where it can be found, the line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from harness.errors import ConfigError
from harness.scenario.paths import path_problems
from harness.scenario.resolve import Problem, problems
from harness.scenario.schema import ScenarioFile

_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_scenario(path: str | Path) -> ScenarioFile:
    """Parse and validate one scenario file; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("scenario file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read scenario file: {exc}", file=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        raise ConfigError(f"not valid TOML: {exc}", file=str(path),
                          line=int(m.group(1)) if m else None) from None
    except ValueError as exc:        # an integer beyond Python's digit limit
        raise ConfigError(f"not a usable TOML file: {exc}", file=str(path)) from None
    except RecursionError:
        raise ConfigError("not a usable TOML file: arrays or tables nested too deeply",
                          file=str(path)) from None
    try:
        scenario = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(path, text, [(tuple(p for p in e["loc"] if not _is_union_tag(p)),
                                          _message(e)) for e in exc.errors()]) from None
    except RecursionError:
        raise ConfigError("values nested too deeply", file=str(path)) from None
    found = [*problems(scenario), *path_problems(scenario, path.resolve().parent)]
    if found:
        raise _config_error(path, text, found)
    return scenario


def load_scenarios(paths: list[str | Path]) -> list[ScenarioFile]:
    """Load several files; all of them are checked before any error is raised."""
    loaded, errors = [], []
    for p in paths:
        try:
            loaded.append(load_scenario(p))
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    names = [s.name for s in loaded]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"scenario names must be unique across files, repeated: {dupes}")
    return loaded


def _config_error(path: Path, text: str, found: list[Problem]) -> ConfigError:
    """One error listing every problem with its file, line and key path."""
    lines = []
    first_line = None
    for loc, msg in found:
        key = _key_path(loc)
        line = find_line(text, loc)
        first_line = first_line or line
        where = f"{path}:{line}" if line else str(path)
        lines.append(f"{where}: key '{key}': {msg}")
    if len(lines) == 1:
        err = ConfigError(lines[0])
        err.file, err.line, err.key = str(path), first_line, _key_path(found[0][0])
        return err
    err = ConfigError(f"{len(lines)} problems in {path}:\n  " + "\n  ".join(lines))
    err.file, err.line = str(path), first_line
    return err


def _is_union_tag(part: object) -> bool:
    # pydantic adds the union member's type name to the location ('str', 'ProfileSpec',
    # 'list[...]'); the user never wrote those, so they are dropped from the key path.
    return isinstance(part, str) and (part in {"str", "ProfileSpec", "int", "float"}
                                      or part.startswith(("list[", "function-")))


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(err: dict) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the scenario reference in README.md)"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        return (f"got {value!r}; expected letters, digits, '.', '_' or '-' "
                "(it becomes part of case ids and file names)")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if "input" in err and kind not in ("model_type", "dict_type", "list_type"):
        return f"{msg}; got {value!r}"
    return msg


def find_line(text: str, loc: tuple) -> int | None:
    """Best-effort 1-based line of a key path in TOML text (tomllib keeps no positions).

    Walks ``[table]`` / ``[[array]]`` headers for the leading parts of the path and then looks
    for ``key =`` (also as ``key.sub =`` or inside an inline table) inside that section.
    """
    lines = text.splitlines()
    parts = [p for p in loc]
    section_start, section_end = 0, len(lines)
    i = 0
    # Resolve [[array]] index / [table] headers as deep as they go.
    while i < len(parts):
        name = parts[i]
        if not isinstance(name, str):
            break
        idx = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], int) else None
        header = re.compile(r"^\s*\[\[\s*" + re.escape(name) + r"\s*\]\]" if idx is not None
                            else r"^\s*\[\s*" + re.escape(name) + r"\s*\]")
        hits = [n for n in range(section_start, section_end) if header.match(lines[n])]
        if idx is not None and idx < len(hits):
            section_start = hits[idx]
            i += 2
        elif idx is None and hits:
            section_start = hits[0]
            i += 1
        else:
            break
        section_end = next((n for n in range(section_start + 1, len(lines))
                            if re.match(r"^\s*\[", lines[n])), len(lines))
    rest = [p for p in parts[i:] if isinstance(p, str)]
    if not rest:
        return section_start + 1 if i else None
    key = re.compile(r"(^|[\s{,.])" + re.escape(rest[0]) + r"\s*[=.]")
    for n in range(section_start, section_end):
        if key.search(lines[n].split("#", 1)[0]):
            return n + 1
    return section_start + 1 if i else None
