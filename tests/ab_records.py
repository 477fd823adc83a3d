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


def spread(n, sd):
    """``n`` preparation offsets of sample SD ``sd`` and mean 0, evenly spaced: a layout
    spread with no sampling luck in it."""
    z = np.linspace(-1.0, 1.0, n)
    return sd * (z - z.mean()) / z.std(ddof=1) if n > 1 else np.zeros(n)


def prepared(record, shift, offsets, pairs_each=3):
    """Append to ``record`` one preparation pair per offset (B/A = (1 + shift) x e^offset),
    ``pairs_each`` noiseless block pairs each, numbered after the record's own: what an
    extension round measures."""
    pair = len({b["pair"] for b in record["blocks"]})
    first = len({b["instance"] for b in record["blocks"]})
    for j, off in enumerate(offsets):
        for _ in range(pairs_each):
            t = 0.5 * pair
            b_ms = float(np.exp(np.log1p(shift) + off))
            record["blocks"].append(make_block("A", pair, t, t + 0.25, np.full(20, 1.0),
                                               first + j))
            record["blocks"].append(make_block("B", pair, t + 0.25, t + 0.5,
                                               np.full(20, b_ms), first + j))
            pair += 1
    record["settings"]["instances"] = first + len(offsets)
    summarize_sides(record)
    return record
