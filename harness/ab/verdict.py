"""The paired verdict of an A/B record: per metric, the log-ratio B/A of each interleaved
pair of blocks is one replicate (:func:`harness.comparison.compare_paired`); B is "slower"
only when that is statistically clear (after correcting over all A/B metrics of the run) and
beyond the tolerance, "faster" likewise, else "same" — with ``equivalent`` saying whether the
interval lies inside ±tolerance, i.e. whether "same" was shown rather than just not refuted.
Pure functions over the record's blocks."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.baseline.verdict import (
    DEFAULT_POLICY,
    DEFAULT_TOLERANCE,
    VerdictPolicy,
    adjust_pvalues,
    decide_metric,
    describe_metric,
    throughput_metric,
)
from harness.comparison import compare_paired

LABELS = ("slower", "faster", "same")
FAILING = ("slower", "failed")
METRICS = {"median": "median_ms", "p99": "p99_ms"}
MIN_PAIRS = 5


def pair_values(record: dict[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """The A and B block values of each complete pair, in pair order."""
    a: dict[int, float] = {}
    b: dict[int, float] = {}
    for blk in record["blocks"]:
        (a if blk["side"] == "A" else b)[blk["pair"]] = blk[key]
    pairs = sorted(set(a) & set(b))
    return np.array([a[i] for i in pairs]), np.array([b[i] for i in pairs])


def instance_cv(record: dict[str, Any], policy: VerdictPolicy = DEFAULT_POLICY) -> float:
    """The larger of the two sides' stated instance spreads, the policy's where unstated."""
    spreads = [(record.get(side) or {}).get("instance_spread") for side in ("a", "b")]
    return max(policy.instance_cv if s is None else float(s) for s in spreads)


def pair_instances(record: dict[str, Any]) -> np.ndarray:
    """The instance each complete pair measured, in pair order (0 for older records)."""
    seen: dict[int, set[str]] = {}
    inst: dict[int, int] = {}
    for blk in record["blocks"]:
        seen.setdefault(blk["pair"], set()).add(blk["side"])
        inst[blk["pair"]] = int(blk.get("instance", 0))
    return np.array([inst[p] for p in sorted(seen) if len(seen[p]) == 2], dtype=int)


def instance_means(d: np.ndarray, instances: np.ndarray, k: int) -> np.ndarray:
    """Mean log-ratio per instance pair."""
    return np.array([d[instances == i].mean() for i in range(k) if np.any(instances == i)])


def evaluate(record: dict[str, Any], policy: VerdictPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """Evidence for one record (metrics "pending" until :func:`finalize`)."""
    tol = {**DEFAULT_TOLERANCE, **(record.get("settings", {}).get("tolerance") or {})}
    k = max(1, int(record.get("settings", {}).get("instances") or 1))
    cv = instance_cv(record, policy)
    if record.get("status") in ("failed", "skipped"):
        return {"status": record["status"], "reason": record.get("error") or "a side failed",
                "metrics": {}}
    inst = pair_instances(record)
    metrics: dict[str, Any] = {}
    for metric, key in METRICS.items():
        a, b = pair_values(record, key)
        if len(a) == 0 or np.any(a <= 0) or np.any(b <= 0):
            continue
        d = np.log(b) - np.log(a)
        # each side's instances add their offsets: variance 2 cv^2 / k on the mean log-ratio
        scale = policy.p99_noise if metric == "p99" else 1.0
        inst_var = 2 * (cv * scale) ** 2 / k
        comp = compare_paired(d, policy.alpha, policy.power, instance_var=inst_var)
        means = instance_means(d, inst, k)
        metrics[metric] = {"status": "pending", "tolerance": tol[metric],
                           "direction": "lower is better",
                           # geometric means: their ratio is exactly the reported change
                           "a_ms": float(np.exp(np.log(a).mean())),
                           "b_ms": float(np.exp(np.log(b).mean())), "pairs": len(a),
                           "instances": k, "instance_cv": cv * scale,
                           "instance_spread": float(means.std(ddof=1)) if len(means) > 1
                           else None,
                           "instance_spread_allowed": spread_allowed(d, inst, means,
                                                                     cv * scale),
                           **comp.to_json()}
    unstable = []
    med = metrics.get("median", {})
    spread, allowed = med.get("instance_spread"), med.get("instance_spread_allowed")
    if spread is not None and allowed is not None and spread > allowed:
        unstable.append(f"the {k} preparations of each side disagree: instance-pair means "
                        f"spread {spread:.2%} (more than {allowed:.2%} that the instance "
                        f"prior of {cv:.2%} allows); compare with more instances")
    pairs = med.get("pairs", 0)
    if pairs < MIN_PAIRS:
        unstable.append(f"too few block pairs ({pairs} < {MIN_PAIRS})")
    share = (record.get("telemetry") or {}).get("flagged_share")
    if share is not None and share > policy.max_throttled_share:
        unstable.append(f"clock slowdown (throttling) during {share:.0%} of the interleaved "
                        "phase")
    return {"status": "pending", "reason": "", "metrics": metrics, "unstable": unstable,
            "throughput_tolerance": tol["throughput"]}


def spread_allowed(d: np.ndarray, instances: np.ndarray, means: np.ndarray,
                   cv: float) -> float | None:
    """Four SDs of an instance-pair mean (``means``: :func:`instance_means`) under the
    verdict's noise model: the instances' 2 cv^2 plus the blocks' own noise (pooled within
    instance pairs) over its pairs."""
    if len(means) < 2 or len(d) <= len(means):
        return None
    own = {i: d[instances == i].mean() for i in set(instances.tolist())}
    resid = d - np.array([own[i] for i in instances])
    within = float((resid ** 2).sum() / (len(d) - len(means)))
    return 4 * float(np.sqrt(2 * cv ** 2 + within * len(means) / len(d)))


def finalize(verdicts: list[dict[str, Any]], policy: VerdictPolicy = DEFAULT_POLICY) -> None:
    pending = [m for v in verdicts if v["status"] == "pending" for m in v["metrics"].values()]
    adjust_pvalues(pending, policy)
    for m in pending:
        m["status"] = decide_metric(m, policy.alpha, LABELS)
        lo, hi = m["ci"]
        m["equivalent"] = bool(-m["tolerance"] <= lo and hi <= m["tolerance"])
        m["reason"] = describe_metric(m, "a_ms", "b_ms")
    for v in verdicts:
        if v["status"] != "pending":
            continue
        ms = v["metrics"]
        if "median" in ms:
            ms["throughput"] = throughput_metric(ms["median"], v.pop("throughput_tolerance"),
                                                 ("slower", "faster", "same"))
        slower = [k for k, m in ms.items() if m["status"] == "slower"]
        faster = [k for k, m in ms.items() if m["status"] == "faster"]
        lead = (slower or faster or ["median"])[0]
        m = ms.get(lead, {})
        v.update(metric=lead, change=m.get("change"), ci=m.get("ci"), mdc=m.get("mdc"))
        if v["unstable"]:
            v["status"] = "unstable"
            v["reason"] = "unstable: " + "; ".join(v["unstable"])
        elif slower:
            v["status"] = "slower"
            v["reason"] = "B slower than A: " + "; ".join(f"{k} {ms[k]['reason']}"
                                                           for k in slower)
        elif faster:
            v["status"] = "faster"
            v["reason"] = "B faster than A: " + "; ".join(f"{k} {ms[k]['reason']}"
                                                           for k in faster)
        else:
            v["status"] = "same"
            shown = "equivalent within" if m.get("equivalent") else "no change shown beyond"
            v["reason"] = f"{shown} the tolerance: median {m.get('reason', '')}"


def judge(records: list[dict[str, Any]], policy: VerdictPolicy = DEFAULT_POLICY) -> None:
    """Attach ``verdict`` to every A/B record, sharing one false-alarm budget."""
    verdicts = [evaluate(r, policy) for r in records]
    finalize(verdicts, policy)
    for r, v in zip(records, verdicts, strict=True):
        r["verdict"] = v
