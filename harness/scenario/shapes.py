"""Input shapes in trtexec's syntax: ``input:4x3x224x224,mask:4x128``.

A :class:`Profile` holds, per input tensor, the min/opt/max shapes of a TensorRT optimisation
profile and the shape actually run (trtexec's ``--shapes``; defaults to opt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Shape = tuple[int, ...]


def parse_shapes(text: str, *, batch: int | None = None) -> dict[str, Shape]:
    """Parse ``"name:1x3x224x224,other:1x10"``; ``{batch}`` is replaced by ``batch``.

    Names may be quoted with single quotes (as trtexec allows) when they contain ``:`` or ``,``.
    """
    if batch is not None:
        text = text.replace("{batch}", str(batch))
    if "{" in text:
        raise ValueError(f"unresolved placeholder in shapes {text!r} (only {{batch}} is known)")
    out: dict[str, Shape] = {}
    for item in _split_items(text):
        name, sep, dims = item.rpartition(":")
        if not sep or not name:
            raise ValueError(f"shape {item!r} is not 'name:dims' (e.g. 'input:1x3x224x224')")
        name = name.strip().strip("'")
        try:
            shape = tuple(int(d) for d in dims.strip().lower().split("x")) if dims.strip() else ()
        except ValueError:
            raise ValueError(f"dims of {name!r} must be integers joined by 'x', got {dims!r}") \
                from None
        if any(d <= 0 for d in shape):
            raise ValueError(f"dims of {name!r} must be positive, got {dims!r}")
        if name in out:
            raise ValueError(f"input {name!r} given twice in {text!r}")
        out[name] = shape
    if not out:
        raise ValueError("empty shape specification")
    return out


def _split_items(text: str) -> list[str]:
    items, cur, quoted = [], [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur))
    return [i.strip() for i in items if i.strip()]


def format_shapes(shapes: dict[str, Shape]) -> str:
    return ",".join(f"{n}:{'x'.join(map(str, s))}" for n, s in shapes.items())


@dataclass(frozen=True)
class Profile:
    """Per-input min/opt/max shapes (TensorRT optimisation profile) and the shape run."""

    min: dict[str, Shape]
    opt: dict[str, Shape]
    max: dict[str, Shape]
    run: dict[str, Shape] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.run:
            object.__setattr__(self, "run", dict(self.opt))
        names = set(self.opt)
        for label, part in (("min", self.min), ("max", self.max), ("run", self.run)):
            if set(part) != names:
                raise ValueError(f"{label} shapes name inputs {sorted(part)}, opt names "
                                 f"{sorted(names)}: every part must name the same inputs")
        for n in names:
            lo, opt, hi, run = self.min[n], self.opt[n], self.max[n], self.run[n]
            if not (len(lo) == len(opt) == len(hi) == len(run)):
                raise ValueError(f"input {n!r}: min/opt/max/run shapes differ in rank")
            if any(not (a <= b <= c) for a, b, c in zip(lo, opt, hi, strict=True)):
                raise ValueError(f"input {n!r}: need min <= opt <= max per dimension, got "
                                 f"{lo} / {opt} / {hi}")
            if any(not (a <= b <= c) for a, b, c in zip(lo, run, hi, strict=True)):
                raise ValueError(f"input {n!r}: run shape {run} is outside the profile "
                                 f"{lo}..{hi}")

    @classmethod
    def static(cls, shapes: dict[str, Shape]) -> Profile:
        return cls(min=dict(shapes), opt=dict(shapes), max=dict(shapes))

    @property
    def is_dynamic(self) -> bool:
        return self.min != self.max

    def to_json(self) -> dict[str, str]:
        return {k: format_shapes(getattr(self, k)) for k in ("min", "opt", "max", "run")}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Profile:
        return cls(**{k: parse_shapes(v) for k, v in data.items()})
