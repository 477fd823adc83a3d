"""Synthetic A/B records for the verdict tests: blocks as ``harness.ab.measure`` writes them,
from a drifting level, per-sample noise and per-preparation offsets (shared by test_ab and
test_verdict_records)."""

from __future__ import annotations

import numpy as np

from harness.ab.measure import make_block, summarize_sides
from harness.ab.schedule import block_order


def synthetic(shift, seed, pairs=20, drift=0.003, noise=0.0005, instances=6,
              instance_sd=0.0007, declared=None):
    """An A/B record: a drifting level, per-sample noise, and each side's ``instances``
    preparations offset by N(0, instance_sd) (the H100's torch figure: SD 0.07 %)."""
    rng = np.random.default_rng(seed)
    record = {"id": "a vs b", "status": "ok", "blocks": [],
              "a": {"instance_spread": declared}, "b": {"instance_spread": declared},
              "settings": {"tolerance": {"median": 0.0, "p99": 0.02}, "instances": instances},
              "telemetry": None}
    offset = {"A": rng.normal(0, instance_sd, instances), "B": rng.normal(0, instance_sd,
                                                                          instances)}
    level = 0.0
    t = 0.0
    for i, labels in enumerate(block_order(pairs, seed)):
        for label in labels:
            level += rng.normal(0, drift)                   # slow random walk: drift
            x = np.exp(level + (np.log1p(shift) if label == "B" else 0.0)
                       + offset[label][i % instances] + rng.normal(0, noise, 50))
            record["blocks"].append(make_block(label, i, t, t + 0.1, x, i % instances))
            t += 0.1
    summarize_sides(record)
    return record
