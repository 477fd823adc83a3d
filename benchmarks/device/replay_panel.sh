#!/usr/bin/env bash
# Issue 20, the stored flow's process term: is it in the layouts or in the process?
# Fresh processes (as in CI), each one `trt-harness run` of the same scenario (WORKLOADS in a
# fixed order, `timing.layouts = LAYOUTS`, default stop rule), in three modes taken in turn:
# `run --layout-seed A`, `run --layout-seed B` (every process of a mode prepares the very same
# layouts, in the same order) and fresh random layouts (as stored runs do). Between processes
# of one fixed seed the layouts cannot differ, so what their run means still scatter is the
# process term itself; the random mode's scatter is what stored runs see. Nothing is judged
# here: `python -m benchmarks.replay_panel X.tgz` analyses the raw results.
# WORKSPACES, if set, is every model's options.torch.workspaces ("preparation": each layout
# places its own cuBLAS workspace). MODES sets the rotation (default "seedA seedB random"; "seedA random random" spends two
# thirds of the processes on the random runs' spread; "random random-ws" interleaves random
# runs with the default workspaces and with "preparation", the second arm's model ids ending
# in "-ws" so that the analysis keeps the arms apart; "random-eager": random runs with
# CUDA_MODULE_LOADING=EAGER, every kernel loaded when the context is made, so no preparation's
# layout decides where the code lands; ids ending in "-eager"); "random-nocudnn": random runs
# with cuDNN off (torch.backends.cudnn.enabled = False, so no cuDNN handle or plan exists to
# keep state between layouts; ids ending in "-nocudnn").
#   WORKLOADS="squeezenet1_1 mobilenet_v3_small" BUDGET_S=420 bash benchmarks/device/replay_panel.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache}
WORKLOADS=${WORKLOADS:-squeezenet1_1 mobilenet_v3_small}; LAYOUTS=${LAYOUTS:-8}
BUDGET_S=${BUDGET_S:-420}; MAX_RUNS=${MAX_RUNS:-60}; TAG=${TAG:-replay-panel}
SEED_A=${SEED_A:-101}; SEED_B=${SEED_B:-202}; read -ra MODES <<< "${MODES:-seedA seedB random}"
O=/tmp/$TAG; rm -rf $O; mkdir -p $O
scenario() {  # $1: workspaces option ("" for the default), $2: suffix of the model ids, $3: file
  local models=(); for m in $WORKLOADS; do models+=("$m$2=$m${1:+,workspaces=$1}"); done
  python3 -m benchmarks.device.scenario "$3" replay "${models[@]}" \
    --defaults "timing = { layouts = $LAYOUTS }"
}
scenario "${WORKSPACES:-}" "" $O/scenario.toml
scenario preparation -ws $O/scenario-ws.toml
scenario "${WORKSPACES:-}" -eager $O/scenario-eager.toml
scenario "${WORKSPACES:-}" -nocudnn $O/scenario-nocudnn.toml
# the harness with cuDNN switched off for the whole process (torch's own convolutions): an
# instrument's setting, not a scenario option
NOCUDNN=(python3 -c 'import sys, torch; torch.backends.cudnn.enabled = False
from harness.cli import main; sys.exit(main())')
start=$(date +%s); longest=30
for ((i = 1; i <= MAX_RUNS; i++)); do
  t0=$(date +%s)
  mode=${MODES[$(( (i - 1) % ${#MODES[@]} ))]}
  sc= loading=; entry=(python3 -m harness)
  case $mode in
    seedA) seed=(--layout-seed $SEED_A) ;;
    seedB) seed=(--layout-seed $SEED_B) ;;
    random) seed=() ;;
    random-ws) seed=(); sc=$O/scenario-ws.toml ;;
    random-eager) seed=(); sc=$O/scenario-eager.toml; loading=EAGER ;;
    random-nocudnn) seed=(); sc=$O/scenario-nocudnn.toml; entry=("${NOCUDNN[@]}") ;;
    *) echo "MODES: unknown $mode (seedA, seedB, random, random-ws, random-eager," \
            "random-nocudnn)"; exit 2 ;;
  esac
  CUDA_MODULE_LOADING=${loading:-${CUDA_MODULE_LOADING:-LAZY}} "${entry[@]}" run ${sc:-$O/scenario.toml} --allow-code --quiet "${seed[@]}" \
    --out /tmp/$TAG-out$i --baselines /tmp/$TAG-store > $O/run$i-$mode.txt 2>&1
  echo "run $i $mode rc=$? $(( $(date +%s) - start )) s"
  cp /tmp/$TAG-out$i/results.json $O/run$i-$mode.json 2>/dev/null
  (( $(date +%s) - t0 > longest )) && longest=$(( $(date +%s) - t0 ))
  (( $(date +%s) - start + longest > BUDGET_S )) && break
done
tar -czf ${OUT:-/tmp}/$TAG.tgz -C /tmp $TAG
