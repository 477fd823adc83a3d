#!/usr/bin/env bash
# Issue 20, stored flow: raw runs for re-judging on a CPU (benchmarks/stored_panel.py).
# Each run is a fresh process (as in CI) with every workload twice, plain and with +2 %
# injected (`slowdown`), in a new random case order, so each judged case has a different set
# of cases before it in different runs ("a case added before the judged one"). Nothing is
# judged here: the re-judging forms baselines of 5 runs and judges the others against them,
# plain (A/A) and injected (power), with the harness's own verdict code.
# Default scenario settings apart from the workload (default stop rule, default layouts).
# The first ACCEPT runs are accepted into a store the later runs read, as CI's would be: the
# later runs draw as many layouts as their history asks for (harness.baseline.layout_count).
# The store sets only the layout count and the layout seeds (a run replays its newest accepted
# run's seeds: harness.baseline.layout_count.replayed_seed); the re-judging forms its own
# baselines. Each +2 % twin is given its plain case's history (TWIN_HISTORY=plain, the
# default), as the same case after a change would have: it then draws the plain case's
# layouts, seed for seed. TWIN_HISTORY=own keeps the twins' own entries (before session 15).
# ORDER=fixed (session 15): the cases keep one order, as a CI scenario does, and a process
# runs them all plain or all slowed: after the ACCEPT runs, in turn slowed, plain, slowed,
# plain with ADDED (default resnet18) put before them ("a case added before the judged one").
# A slowed case then has the plain case's history in its process, as a changed case would.
#   WORKLOADS="resnet18 regnet_y_400mf squeezenet1_1" BUDGET_S=420 bash benchmarks/device/stored_panel.sh
#   WORKLOADS="squeezenet1_1 mobilenet_v3_small" ORDER=fixed bash benchmarks/device/stored_panel.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache}
WORKLOADS=${WORKLOADS:-resnet18 regnet_y_400mf squeezenet1_1}
BUDGET_S=${BUDGET_S:-420}; MAX_RUNS=${MAX_RUNS:-40}; TAG=${TAG:-stored-panel}; ACCEPT=${ACCEPT:-3}
TWIN_HISTORY=${TWIN_HISTORY:-plain}; ORDER=${ORDER:-shuffled}; ADDED=${ADDED:-resnet18}
O=/tmp/$TAG; rm -rf $O /tmp/$TAG-store; mkdir -p $O
start=$(date +%s); longest=45
for ((i = 1; i <= MAX_RUNS; i++)); do
  t0=$(date +%s)
  python3 - "$O/run$i.toml" "$i" "$ORDER" "$ACCEPT" "$ADDED" $WORKLOADS <<'PY'
import random, sys
from pathlib import Path
from benchmarks.device.scenario import scenario_text
path, seed, order, accept, added, models = (sys.argv[1], int(sys.argv[2]), sys.argv[3],
                                            int(sys.argv[4]), sys.argv[5], sys.argv[6:])
plain = [(m, m, {}) for m in models]
slow = [(f"{m}-slow", m, {"slowdown": "2%"}) for m in models]
if order == "fixed":
    turn = (seed - accept) % 4 if seed > accept else 2
    cases = {1: slow, 2: plain, 3: slow, 0: [(added, added, {})] + plain}[turn]
else:
    cases = plain + slow
    random.Random(seed).shuffle(cases)
Path(path).write_text(scenario_text("panel", cases))
PY
  python3 -m harness run $O/run$i.toml --allow-code --quiet --out /tmp/$TAG-out$i \
    --baselines /tmp/$TAG-store > $O/run$i.txt 2>&1
  echo "run $i rc=$? $(( $(date +%s) - start )) s"
  cp /tmp/$TAG-out$i/results.json $O/run$i.json 2>/dev/null
  (( i <= ACCEPT )) && python3 -m harness baseline accept $O/run$i.json --baselines /tmp/$TAG-store \
    --force >> $O/accept.txt 2>&1
  (( i <= ACCEPT )) && [[ $TWIN_HISTORY == plain ]] && python3 - /tmp/$TAG-store <<'PY'
import json, pathlib, sys
for f in pathlib.Path(sys.argv[1]).rglob("*.json"):
    data = json.loads(f.read_text())
    cases = data.get("cases")
    if not isinstance(cases, dict):
        continue
    for cid in [c for c in cases if "-slow/" not in c]:
        model = cid.split("/")[1]
        cases[cid.replace(f"/{model}/", f"/{model}-slow/", 1)] = cases[cid]
    f.write_text(json.dumps(data))
PY
  (( $(date +%s) - t0 > longest )) && longest=$(( $(date +%s) - t0 ))
  # no run started that the longest so far would carry past the budget
  (( $(date +%s) - start + longest > BUDGET_S )) && break
done
tar -czf ${OUT:-/tmp}/$TAG.tgz -C /tmp $TAG
