"""Whether process pairs held: per process-paired A/B record (``ab --processes``, or the panel's
``failclosed.py --processes`` files), how B's layout pattern matches A's and how far the
process pairs disagree.

Per record, from the log median of every layout in every process (rows: process pairs, as
:func:`harness.ab.verdict.process_layouts` pairs them):

- ``replay``: the SD of a layout's figure between a side's processes (the replay noise);
- ``d spread``: the SD over layouts of B's mean less A's;
- ``F``, ``p``: the side-by-layout interaction (two-way, processes as replicates) against
  the replay noise. Large where B's layouts are other placements than A's (its allocations
  moved), but (session 18, squeezenet1_1 on the H200) 5-1227 in moved A/A trials against
  0.1-8.4 in the others: no threshold on it separates the two at 4 layouts and 2 processes;
- ``in pair``: the SD over layouts of B less A within a process pair, pooled over the pairs:
  where the sides allocate alike it is the replay noise of a difference, and where B's
  layouts are other placements it holds their spread (session 19, squeezenet1_1, a base per
  pair: 0.9-2.5 % in the moved A/As against 0.12-0.21 % in the others);
- ``pairs``: the SD of the process pairs' mean differences, the term a base pad per pair
  (since session 18) makes visible where all of B's layouts shift together;
- ``pair term``: how the verdict took that term (``paired-runs`` records): ``measured``
  where the pairs disagreed beyond the paired prior (``terms.between_measured``; records
  saved before session 21 lack it, and their ``terms.between_df`` is pairs - 1), ``prior``
  where the prior floored it; ``-`` for records judged before session 18;
- ``bases``: the distinct placements among the pairs' base pads, counted in the caching
  allocator's 2 MiB segments, of the pairs (session 19: two pairs in one segment replayed
  one placement; since then a comparison's pairs never share one).

    python -m benchmarks.pairing docs/device-runs/session18/panel-2-p2-s18*.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np
from scipy import stats

from harness.ab.rounds import completed_rounds
from harness.ab.verdict import process_layouts
from harness.layout import BASE_SEGMENT


def pairing(record: dict[str, Any]) -> dict[str, float]:
    """The figures above for one process-paired record (log scale, as fractions)."""
    a, b = process_layouts(record, "median_ms")
    k, n = a.shape
    cells = np.stack([a, b])                                  # side x pair x layout
    means = cells.mean(axis=1)                                # side x layout
    df_within = 2 * n * (k - 1)
    within = float(((cells - means[:, None, :]) ** 2).sum()) / df_within
    d = means[1] - means[0]
    interaction = k / 2 * float(((d - d.mean()) ** 2).sum()) / (n - 1)
    f = interaction / within if within > 0 else float("inf")
    in_pairs = b - a                                          # pair x layout
    pair_means = in_pairs.mean(axis=1)
    in_pair = float(((in_pairs - pair_means[:, None]) ** 2).sum()) / (k * (n - 1))
    return {"change": float(d.mean()), "replay": float(np.sqrt(within)),
            "d_spread": float(d.std(ddof=1)), "F": f,
            "p": float(stats.f.sf(f, n - 1, df_within)), "in_pair": float(np.sqrt(in_pair)),
            "pairs": float(pair_means.std(ddof=1)) if k > 1 else float("nan"),
            "processes": k, "layouts": n}


def pair_term(record: dict[str, Any]) -> str:
    """How a judged record's verdict took the pairs' term (see the module's docstring)."""
    m = ((record.get("verdict") or {}).get("metrics") or {}).get("median") or {}
    terms = m.get("terms") or {}
    if m.get("method") != "paired-runs" or "between_df" not in terms:
        return "-"
    if "between_measured" in terms:      # saved since session 21
        return "measured" if terms["between_measured"] else "prior"
    # Records saved before: the measured term kept the pairs' own pairs - 1 degrees of
    # freedom (right under the paired prior's weight > 0, which every saved record had)
    return "measured" if terms["between_df"] == (m.get("processes") or 0) - 1 else "prior"


def distinct_bases(record: dict[str, Any]) -> str:
    """``distinct/pairs`` of a record's base pads in whole segments (``-``: no base pads)."""
    bases = {r["round"]: r.get("layout_base") or 0 for r in completed_rounds(record)}
    if not any(bases.values()):
        return "-"
    segments = {math.ceil(b / BASE_SEGMENT) for b in bases.values()}
    return f"{len(segments)}/{len(bases)}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="saved panel files (failclosed.py --save)")
    args = p.parse_args(argv)
    print("| file | trial | on B | verdict | change | replay | d spread | F | p | in pair "
          "| pairs | pair term | bases | processes x layouts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in args.files:
        with open(path) as f:
            records = json.load(f)["records"]
        for i, r in enumerate(records, 1):
            if r.get("method") != "processes" or r.get("status") != "ok":
                continue
            x = pairing(r)
            level = (r.get("experiment") or {}).get("slowdown", "")
            status = (r.get("verdict") or {}).get("status", "")
            print(f"| {path.rsplit('/', 1)[-1]} | {i} | {level} | {status} | "
                  f"{x['change']:+.2%} | {x['replay']:.3%} | {x['d_spread']:.3%} | "
                  f"{x['F']:.1f} | {x['p']:.2g} | {x['in_pair']:.3%} | {x['pairs']:.3%} | "
                  f"{pair_term(r)} | "
                  f"{distinct_bases(r)} | "
                  f"{x['processes']} x {x['layouts']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
