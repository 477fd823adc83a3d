#!/usr/bin/env bash
# Issue 20, A/B half: trials of benchmarks/ab_processes.py (A and B in alternate fresh
# processes at one set of layout seeds, judged layout by layout) on one workload, A/A and
# +LEVEL injected into B, a new layout seed per trial. Raw runs and each trial's table go to
# $OUT/$TAG.tgz. Pre-registered use (session 15): on a tuning workload first.
#   WORKLOAD=shufflenet_v2_x1_0 ROUNDS=4 BUDGET_S=480 bash benchmarks/device/ab_processes.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache}
WORKLOAD=${WORKLOAD:-shufflenet_v2_x1_0}; ROUNDS=${ROUNDS:-4}; LEVEL=${LEVEL:-1%}
BUDGET_S=${BUDGET_S:-480}; TAG=${TAG:-abp-$WORKLOAD}; SEED0=${SEED0:-1000}
O=/tmp/$TAG; rm -rf $O; mkdir -p $O
# the workload under one id in every file, so that --layout-seed gives both sides its seeds
python3 -m benchmarks.device.scenario $O/a.toml abp "m=$WORKLOAD"
python3 -m benchmarks.device.scenario $O/b-same.toml abp "m=$WORKLOAD"
python3 -m benchmarks.device.scenario $O/b-slow.toml abp "m=$WORKLOAD,slowdown=$LEVEL"
start=$(date +%s); longest=60
for ((t = 1; t <= 40; t++)); do
  t0=$(date +%s)
  kind=$([[ $((t % 2)) == 1 ]] && echo same || echo slow)
  python3 -m benchmarks.ab_processes $O/a.toml $O/b-$kind.toml --rounds $ROUNDS \
    --layout-seed $((SEED0 + t)) --out $O/trial$t-$kind --allow-code > $O/trial$t-$kind.txt 2>&1
  echo "trial $t ($kind): $(grep '^| abp' $O/trial$t-$kind.txt) $(( $(date +%s) - start )) s"
  (( $(date +%s) - t0 > longest )) && longest=$(( $(date +%s) - t0 ))
  (( $(date +%s) - start + longest > BUDGET_S )) && break
done
tar -czf ${OUT:-/tmp}/$TAG.tgz -C /tmp $TAG
