"""Between-trial noise of one case: run it N times in one process (each a full warm-up and
measurement, as a real run does) and report the CV of the trial medians.

    python benchmarks/device/trials.py SCENARIO.toml CASE-ID TRIALS OUT.json
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from harness import api
from harness.runner import run_case


def main(scenario: str, case_id: str, trials: int, out: str) -> None:
    [planned] = api.plan([scenario], [case_id])
    rows = []
    for i in range(trials):
        r = run_case(planned.case, planned.base_dir)
        if r.status != "ok":
            raise SystemExit(f"trial {i}: {r.status}: {r.error}")
        rows.append({"median_ms": r.stats_ms["median"], "cv": r.stats_ms["cv"],
                     "n": r.stats_ms["n"], "settle_s": r.timing.get("settle_s"),
                     "flagged_share": (r.telemetry or {}).get("flagged_share"),
                     "sm_clock_median": ((r.telemetry or {}).get("summary") or {})
                     .get("sm_clock_mhz", {}).get("median")})
        time.sleep(0.1)
    meds = np.array([x["median_ms"] for x in rows])
    result = {"case": case_id, "trials": trials, "medians_ms": meds.tolist(),
              "between_trial_cv": float(meds.std(ddof=1) / meds.mean()),
              "within_trial_cv_median": float(np.median([x["cv"] for x in rows])),
              "rows": rows}
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"{case_id}: {trials} trials, medians {meds.min():.4f}..{meds.max():.4f} ms, "
          f"between-trial CV {result['between_trial_cv']:.3%}, within-trial CV (median) "
          f"{result['within_trial_cv_median']:.3%}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
