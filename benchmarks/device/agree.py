"""Do two runs of one matrix agree? Per case: both medians with their 95 % intervals, the
ratio, whether the intervals overlap, and where each ran (worker, CUDA_VISIBLE_DEVICES).

    python benchmarks/device/agree.py A/results.json B/results.json
"""

from __future__ import annotations

import json
import sys


def cases(path: str) -> dict[str, dict]:
    with open(path) as f:
        return {c["id"]: c for c in json.load(f)["cases"] if c.get("status") == "ok"}


def main(a_path: str, b_path: str) -> int:
    a, b = cases(a_path), cases(b_path)
    print(f"{'case':52} {'A median [CI]':>28} {'B median [CI]':>28} {'B/A':>7}  "
          "overlap  where B ran")
    overlap = 0
    common = sorted(set(a) & set(b))
    for cid in common:
        sa, sb = a[cid]["stats_ms"], b[cid]["stats_ms"]
        lo_a, hi_a = sa.get("median_ci_low"), sa.get("median_ci_high")
        lo_b, hi_b = sb.get("median_ci_low"), sb.get("median_ci_high")
        ok = lo_a <= hi_b and lo_b <= hi_a
        overlap += ok
        t = b[cid].get("timing") or {}
        print(f"{cid:52} {sa['median']:9.4f} [{lo_a:.4f},{hi_a:.4f}] "
              f"{sb['median']:9.4f} [{lo_b:.4f},{hi_b:.4f}] {sb['median'] / sa['median']:7.4f}  "
              f"{'yes' if ok else 'NO':7}  {t.get('worker')} gpu={t.get('cuda_visible_devices')}")
    print(f"{overlap} of {len(common)} cases' intervals overlap; only in A: "
          f"{sorted(set(a) - set(b))}; only in B: {sorted(set(b) - set(a))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
