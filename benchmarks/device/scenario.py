"""The scenario files the device scripts write: torchvision models, fp16, batch 8, a CUDA
graph, 224x224 inputs, each case with its own torch options (an injected ``slowdown``, a
``workspaces`` mode). One writer for every script, so that what a script writes is a valid
scenario before any device time is spent on it (tests/test_device_scripts.py).

    python3 -m benchmarks.device.scenario OUT.toml NAME [--defaults LINE]... MODEL...

MODEL is ``ID=ARCH[,KEY=VALUE...]``: the case id, the ``torchvision.models`` factory, and
its torch options, e.g. ``m-slow=squeezenet1_1,slowdown=2%``. Standard library only: the
scripts call it before anything else is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HEADER = ('[defaults]\nbackends = ["torch:graph"]\nprecisions = ["fp16"]\nbatch = [8]\n')


def parse_model(spec: str) -> tuple[str, str, dict[str, str]]:
    """``ID=ARCH[,KEY=VALUE...]`` as (id, arch, options)."""
    case_id, sep, rest = spec.partition("=")
    arch, *pairs = rest.split(",")
    if not (sep and case_id and arch) or any("=" not in p for p in pairs):
        raise ValueError(f"{spec!r}: expected ID=ARCH[,KEY=VALUE...]")
    return case_id, arch, dict(p.split("=", 1) for p in pairs)


def model_block(case_id: str, arch: str, options: dict[str, str]) -> str:
    block = (f'[[model]]\nid = "{case_id}"\nsource = "torchvision.models:{arch}"\n'
             'shapes = "x:{batch}x3x224x224"\n')
    if options:
        inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in options.items())
        block += f"options = {{ torch = {{ {inner} }} }}\n"
    return block


def scenario_text(name: str, models: list[tuple[str, str, dict[str, str]]],
                  defaults: list[str] = ()) -> str:
    """The scenario: ``name``, the common defaults and ``defaults`` lines, the models."""
    lines = "".join(f"{line}\n" for line in defaults)
    return f'name = "{name}"\n{HEADER}{lines}' + "".join(model_block(*m) for m in models)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("name")
    p.add_argument("models", nargs="+", metavar="MODEL")
    p.add_argument("--defaults", action="append", default=[], metavar="LINE",
                   help="a TOML line for [defaults], e.g. 'timing = { layouts = 8 }'")
    args = p.parse_args(argv)
    try:
        models = [parse_model(m) for m in args.models]
    except ValueError as exc:
        p.error(str(exc))
    Path(args.out).write_text(scenario_text(args.name, models, args.defaults))
    return 0


if __name__ == "__main__":
    sys.exit(main())
