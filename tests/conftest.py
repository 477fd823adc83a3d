from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TRT_HARNESS_CACHE", str(Path(__file__).resolve().parent.parent
                                                / ".pytest_cache" / "trt-harness"))


@pytest.fixture
def write_toml(tmp_path: Path):
    def write(text: str, name: str = "s.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


# A fast scenario on the smallest zoo model: short warm-up and time caps keep e2e tests quick.
TINY = """
name = "tiny"
[defaults]
batch = [1]
warmup = { min_time = "20ms", max_time = "200ms" }
stop = { rel_ci = "5%", min_samples = 10, min_time = "50ms", max_time = "300ms" }
tolerance = { median = "10%" }
[[model]]
id = "transformer"
source = "zoo:transformer"
shapes = "input_ids:{batch}x16"
"""


@pytest.fixture
def tiny_scenario(write_toml):
    return write_toml(TINY, "tiny.toml")
