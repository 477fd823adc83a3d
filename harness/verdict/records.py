"""Verdict records: the frozen dataclasses every judge returns and every reader takes.

The judges (harness.baseline.verdict, harness.ab.verdict, harness.pipeline.gates,
harness.api.judge) build records with :meth:`~_JsonRecord.build` and derive the next stage's
record with :meth:`~_JsonRecord.updated`, never changing one in place. :meth:`Verdict.to_json`
and :meth:`Verdict.from_json` are the one serialisation path: a results file read and written
again is unchanged, key for key and in the same order. Fields the records do not model
(``gates``, ``engine``, ``would_be``, ``latency`` ...) are kept in ``extra`` (metric fields in
``evidence``); nested lists and dicts there are frozen too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Self

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_MISSING = object()


class FrozenList(tuple):
    """A JSON list, frozen: a tuple that :func:`thaw` turns back into a list (a tuple
    stays a tuple), so freezing and thawing gives back the very value."""

    __slots__ = ()


def freeze(value: Any) -> Any:
    """An immutable copy of a JSON-like value: dicts become read-only mappings, lists
    :class:`FrozenList`; everything else is kept as it is."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, FrozenList):
        return value
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    if isinstance(value, tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The plain (mutable) value :func:`freeze` was given."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, FrozenList):
        return [thaw(v) for v in value]
    if isinstance(value, tuple):
        return tuple(thaw(v) for v in value)
    return value


def _to_json(record: Any, modelled: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The dict of a record: its keys in the order they were read (``record.key_order``), then
    modelled fields set since (not at their default), then any other ``extra`` keys."""
    out: dict[str, Any] = {}
    defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING
                else f.default for f in dataclasses.fields(record) if f.name in modelled}
    for key in record.key_order:
        if key in modelled:
            out[key] = modelled[key]
        elif key in extra:
            out[key] = thaw(extra[key])
    for key, value in modelled.items():
        if key not in out and key not in record.key_order and value != defaults.get(key):
            out[key] = value
    for key, value in extra.items():
        if key not in out:
            out[key] = thaw(value)
    return out


class _JsonRecord:
    """What both records share: their fields read by JSON name (``v["status"]``,
    ``m.get("a_ms")``), built and derived the way a dict is filled and updated, so a judge
    written as a chain of records writes the very JSON (keys in the order they were first
    set) its dicts did. ``key_order`` is that order (not ``keys``, which would shadow the
    mapping protocol: ``{**record}`` must fail plainly, not call a tuple); ``BAG`` names the
    field that holds the JSON keys a record does not model."""

    MODELLED: ClassVar[tuple[str, ...]]
    BAG: ClassVar[str]
    key_order: tuple[str, ...]

    def get(self, key: str, default: Any = None) -> Any:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    # Immutable: a copy is the record itself (its read-only mappings cannot be deep-copied
    # or pickled, and copying a results run copies its verdicts).
    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self).from_json, (self.to_json(),)

    def to_json(self) -> Any:
        raise NotImplementedError

    @classmethod
    def from_json(cls, d: Any) -> Self:
        raise NotImplementedError

    @classmethod
    def _typed(cls, key: str, value: Any) -> Any:
        """A modelled field's value as the record holds it."""
        return freeze(value)

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """A record from its fields by JSON name, written in the order given."""
        return cls._assemble(fields, {}, fields)

    def updated(self, **fields: Any) -> Self:
        """A new record with ``fields`` (JSON names) set, as ``dict.update`` would: known
        keys keep their place, new ones are written after them in the order given."""
        current = {k: getattr(self, k) for k in self.MODELLED}
        return self._assemble({**current, **fields}, getattr(self, self.BAG),
                              dict.fromkeys((*self.key_order, *fields)))

    def without(self, *names: str) -> Self:
        """A new record without the unmodelled keys ``names`` (judging's working figures)."""
        bag = {k: v for k, v in getattr(self, self.BAG).items() if k not in names}
        return dataclasses.replace(self, **{self.BAG: MappingProxyType(bag)},
                                   key_order=tuple(k for k in self.key_order if k not in names))

    @classmethod
    def _assemble(cls, fields: Mapping[str, Any], bag: Mapping[str, Any],
                  keys: Mapping[str, Any]) -> Self:
        modelled = {k: cls._typed(k, v) for k, v in fields.items() if k in cls.MODELLED}
        bag = {**bag, **{k: freeze(v) for k, v in fields.items() if k not in cls.MODELLED}}
        return cls(**modelled, **{cls.BAG: MappingProxyType(bag)}, key_order=tuple(keys))


@dataclass(frozen=True)
class Flag:
    """A note a verdict carries without changing its status (today A/B's "the preparations
    disagree"). ``kind`` "note" is written as its bare text, as the judges write it."""

    kind: str
    text: str

    def to_json(self) -> str | dict[str, str]:
        return self.text if self.kind == "note" else {"kind": self.kind, "text": self.text}

    @classmethod
    def from_json(cls, d: str | Mapping[str, Any]) -> Flag:
        if isinstance(d, str):
            return cls("note", d)
        return cls(str(d.get("kind", "note")), str(d.get("text", "")))


@dataclass(frozen=True)
class MetricVerdict(_JsonRecord):
    """One metric's verdict (median, p99, throughput, a gate such as accuracy or size).

    ``change`` is relative (+0.05: 5 % slower or larger); ``ci`` its interval; ``evidence``
    the comparison's other figures (p-values, MDC, baseline/current ms, A/B's a_ms/b_ms ...)
    as the judge wrote them."""

    status: str = "pending"
    change: float | None = None
    ci: Any = None                  # [low, high] (a FrozenList), as written
    tolerance: float | None = None
    direction: str | None = None
    reason: str = ""
    evidence: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    MODELLED = ("status", "change", "ci", "tolerance", "direction", "reason")
    BAG = "evidence"

    def get(self, key: str, default: Any = None) -> Any:
        """A field by its JSON name, modelled or evidence (``m.get("a_ms")``)."""
        if key in self.MODELLED:
            value = getattr(self, key)
            return default if value is None and key not in self.key_order else value
        return self.evidence.get(key, default)

    def to_json(self) -> dict[str, Any]:
        modelled = {k: thaw(getattr(self, k)) for k in self.MODELLED}
        return _to_json(self, modelled, self.evidence)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MetricVerdict:
        return cls(**{k: freeze(d[k]) for k in cls.MODELLED if k in d},
                   evidence=freeze({k: v for k, v in d.items() if k not in cls.MODELLED}),
                   key_order=tuple(d))


@dataclass(frozen=True)
class Verdict(_JsonRecord):
    """A case's or an A/B record's verdict.

    ``status`` is one of harness.baseline.verdict.VERDICTS (A/B: slower, faster, same,
    undecided, unstable, failed, skipped); ``metric`` the metric that decided it and
    ``change``/``ci``/``mdc`` that metric's figures; ``unstable`` why the measurement could
    not be trusted; ``flags`` notes that do not change the status; ``extra`` everything
    else the judge wrote (gates, engine, would_be, latency, baseline_runs ...)."""

    status: str
    reason: str = ""
    metric: str | None = None
    change: float | None = None
    ci: Any = None                  # [low, high] (a FrozenList), as written
    mdc: float | None = None
    metrics: Mapping[str, MetricVerdict] = field(default_factory=lambda: _EMPTY)
    flags: tuple[Flag, ...] = ()
    unstable: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    SCALARS = ("status", "reason", "metric", "change", "ci", "mdc")
    CONTAINERS = ("metrics", "flags", "unstable")
    MODELLED = (*SCALARS, *CONTAINERS)
    BAG = "extra"

    @classmethod
    def _typed(cls, key: str, value: Any) -> Any:
        if key == "metrics":
            return MappingProxyType({k: m if isinstance(m, MetricVerdict)
                                     else MetricVerdict.from_json(m) for k, m in value.items()})
        if key == "flags":
            return tuple(f if isinstance(f, Flag) else Flag.from_json(f) for f in value)
        if key == "unstable":
            return tuple(value)
        return freeze(value)

    def get(self, key: str, default: Any = None) -> Any:
        """An unmodelled field by its JSON name (``v.get("gates")``), or a modelled one."""
        if key in self.MODELLED:
            value = getattr(self, key)
            return default if key not in self.key_order and value in (None, (), _EMPTY) else value
        return self.extra.get(key, default)

    @property
    def gates(self) -> tuple[Mapping[str, Any], ...]:
        """The absolute gates' outcomes (harness.pipeline.gates), empty where none ran."""
        return tuple(self.extra.get("gates") or ())

    def to_json(self) -> dict[str, Any]:
        modelled: dict[str, Any] = {k: thaw(getattr(self, k)) for k in self.SCALARS}
        modelled["metrics"] = {k: m.to_json() for k, m in self.metrics.items()}
        modelled["flags"] = [f.to_json() for f in self.flags]
        modelled["unstable"] = list(self.unstable)
        for key in self.CONTAINERS:
            if key in self.extra:           # written as null: kept as it was
                modelled.pop(key)
        out = _to_json(self, modelled, self.extra)
        # an empty container left at its default and never read is not written
        for key in self.CONTAINERS:
            if key not in self.key_order and not out.get(key, True):
                out.pop(key)
        return out

    @classmethod
    def read(cls, value: Verdict | Mapping[str, Any]) -> Verdict:
        """A verdict as it is, or one held as its JSON (an A/B record's, a results file's)
        read through :meth:`from_json`."""
        return value if isinstance(value, Verdict) else cls.from_json(value)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Verdict:
        """Any verdict dict the judges write, and older results files' (missing keys take
        their defaults)."""
        fields: dict[str, Any] = {k: freeze(d[k]) for k in cls.SCALARS if k in d}
        fields.setdefault("status", "")
        if d.get("metrics") is not None:
            fields["metrics"] = MappingProxyType(
                {k: MetricVerdict.from_json(m) for k, m in d["metrics"].items()})
        if d.get("flags") is not None:
            fields["flags"] = tuple(Flag.from_json(f) for f in d["flags"])
        if d.get("unstable") is not None:
            fields["unstable"] = tuple(d["unstable"])
        extra = {k: v for k, v in d.items()
                 if k not in cls.MODELLED or (k in cls.CONTAINERS and v is None)}
        return cls(**fields, extra=freeze(extra), key_order=tuple(d))
