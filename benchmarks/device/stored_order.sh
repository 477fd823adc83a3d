#!/usr/bin/env bash
# Issue 22, stored flow on the GPU: one case accepted alone three times, then judged with one
# and with two cases added before it (5 runs each: nothing but "pass" expected), then once
# with +2 % injected (the reason must name latency, never memory). Every run is a separate
# process, as in CI. Results and the table land in $OUT/stored-order/.
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache}
O=${OUT:-/tmp}/stored-order; B=/tmp/stored-order-baselines; mkdir -p $O; rm -rf $B
NEW=${NEW_MODEL:-shufflenet_v2_x1_0}
LAYOUTS=${LAYOUTS:-}      # timing.layouts (random memory layouts per case); unset: the default
scenario() {   # $1: file, $2...: models before the judged one, "slow" adds +2 % to it
  local f=$1; shift; local slow="" models=()
  for m in "$@"; do
    if [[ $m == slow ]]; then slow=",slowdown=2%"; continue; fi
    models+=("$m=$m")
  done
  python3 -m benchmarks.device.scenario $f order "${models[@]}" "new=$NEW$slow" \
    --defaults 'warmup = { min_time = "300ms", max_time = "2s" }' \
    --defaults 'stop = { rel_ci = "0.5%", min_samples = 50, min_time = "1s", max_time = "3s" }' \
    ${LAYOUTS:+--defaults "timing = { layouts = $LAYOUTS }"}
}
run() {   # $1: label, $2: scenario file
  python3 -m harness run $2 --allow-code --quiet --out /tmp/so-$1 --baselines $B > $O/$1.txt 2>&1
  local rc=$?
  cp /tmp/so-$1/results.json $O/$1.json
  python3 - "$O/$1.json" "$1" "$rc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = next(c for c in r["cases"] if c["case"]["model"] == "new")
v = c.get("verdict") or {}
fired = [k for k, m in (v.get("metrics") or {}).items() if m.get("status") == "regression"]
per = [round(x["median_ms"], 4) for x in (c.get("timing") or {}).get("layout_figures") or []]
print(f"{sys.argv[2]:>10} rc={sys.argv[3]} verdict={v.get('status')} gates_fired={fired} "
      f"median={c['stats_ms'].get('median'):.4f}ms layouts={per} "
      f"device_bytes={c['memory'].get('device_bytes')} "
      f"load_s={c['build'].get('load_time_s'):.3f} startup_s={r.get('startup_s')}")
print(f"{'':>10} reason: {v.get('reason')}")
PY
}
scenario /tmp/alone.toml; scenario /tmp/one.toml resnet50; scenario /tmp/two.toml resnet50 efficientnet_b0
scenario /tmp/slow.toml resnet50 slow
for i in 1 2 3; do run accept$i /tmp/alone.toml; python3 -m harness baseline accept /tmp/so-accept$i/results.json --baselines $B > /dev/null; done
for i in 1 2 3 4 5; do run one$i /tmp/one.toml; run two$i /tmp/two.toml; done
run slow2pct /tmp/slow.toml
# the device tool brings back at most 8 files: one archive of every run's JSON and printout
tar -czf ${OUT:-/tmp}/stored-order-$NEW-L${LAYOUTS:-default}.tgz -C $O . && rm -rf $O
