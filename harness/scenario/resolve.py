"""What the schema alone cannot check, because it needs the rest of the harness: zoo names
(``zoo:NAME`` sources) and every ``options.<backend>`` table against that backend's typed
options model. Run when a file is loaded, so ``validate`` and ``list`` see what a run would
refuse later. (A missing model *file* stays a failed case, as README says: the matrix goes
on, and a file may be produced by an earlier CI step.)

Each problem is a key path (as pydantic writes locations) and a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from harness.scenario.schema import BACKENDS, CaseSettings, ScenarioFile

Problem = tuple[tuple[str | int, ...], str]


def problems(scenario: ScenarioFile) -> list[Problem]:
    return [*_source_problems(scenario), *_option_problems(scenario)]


def _layers(scenario: ScenarioFile) -> Iterator[tuple[tuple[str | int, ...], CaseSettings]]:
    yield ("defaults",), scenario.defaults
    for i, model in enumerate(scenario.model):
        yield ("model", i), model
    for i, override in enumerate(scenario.case):
        yield ("case", i), override


def _source_problems(scenario: ScenarioFile) -> Iterator[Problem]:
    from harness.errors import ConfigError
    from harness.models.source import check_source

    for loc, layer in _layers(scenario):
        sources = [(("reference", "source"), layer.reference.source if layer.reference else None)]
        if loc[0] == "model":
            sources.append((("source",), getattr(layer, "source", None)))
        for key, text in sources:
            try:
                if text and text.startswith("zoo:"):
                    check_source(text)
            except ConfigError as exc:
                yield (*loc, *key), str(exc)


def _option_problems(scenario: ScenarioFile) -> Iterator[Problem]:
    from harness.backends import backend_class

    for loc, layer in _layers(scenario):
        for backend, table in (layer.options or {}).items():
            where = (*loc, "options", backend)
            if backend not in BACKENDS:
                yield where, f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}"
                continue
            cls = backend_class(backend)
            try:
                cls.options_model.model_validate(table)
            except ValidationError as exc:
                yield from _located(where, exc, cls.options_model.model_fields)


def _located(where: tuple[str | int, ...], exc: ValidationError,
             fields: dict[str, Any]) -> Iterator[Problem]:
    for e in exc.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown option; expected one of {', '.join(sorted(fields))}"
        elif not isinstance(e.get("input"), dict | list):
            msg += f"; got {e['input']!r}"
        yield (*where, *e["loc"]), msg
