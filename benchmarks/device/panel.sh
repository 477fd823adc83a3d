#!/usr/bin/env bash
# Issue 20's panel, one slice per device call (each < 10 min: 20-24 A/B trials of ~22 s).
# Defaults were chosen on the TUNING half and are reported on the REPORTING half only:
#   tuning:    efficientnet_b0, resnet50 (A/B instances and tolerance, issue 22);
#              shufflenet_v2_x1_0 (stored runs' DEFAULT_LAYOUTS, issue 22)
#   reporting: mobilenet_v3_small, squeezenet1_1, regnet_y_400mf, resnet18, densenet121,
#              eager:resnet18, spin:10, spin:100, spin:1000, ort:zoo:transformer (CPU)
# Levels per trial: 0 (A/A), moved (A/A, B's layout moved by an extra 1-64 MiB allocation),
# 0.01 and 0.005 (injected on B). The raw records land in $OUT/panel-$SLICE.json; tabulate
# any number of them here with: python benchmarks/device/failclosed.py --load FILE...
#   SLICE=1 bash benchmarks/device/panel.sh     # ... up to SLICE=10
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache} TRT_HARNESS_ALLOW_CODE=1
REPORTING=(mobilenet_v3_small squeezenet1_1 regnet_y_400mf resnet18 densenet121 eager:resnet18
           spin:10 spin:100 spin:1000 ort:zoo:transformer)
SLICE=${SLICE:-1}
W=${WORKLOAD:-${REPORTING[$((SLICE - 1))]}}
case $W in
  ort:*)  LEVELS=${LEVELS:-0:20,0.1:6,0.2:4} ;;           # host slowdowns: busy-waits
  spin:*) LEVELS=${LEVELS:-0:8,0.01:8,0.005:6} ;;         # no memory layout to move
  *)      LEVELS=${LEVELS:-0:8,moved:6,0.01:6,0.005:4} ;;
esac
# REDRAW=1: ab --redraw (a fresh buffer/graph layout per block pair; opt-in until validated)
# INSTANCES, DURATION: other than the defaults (e.g. DURATION=4: about one block pair per
# preparation, docs/verdicts.md "Where an A/B's time goes"); TAG names the files
# EXT_PAIRS=1: one block pair per new preparation in extension rounds (a candidate,
# ABSettings.extension_pairs; to be chosen on the tuning half first)
# SEED: trial order and the moved side's extra allocation (default: SLICE); give top-ups
# of a slice their own so they do not repeat its pads
# BUDGET_S: no trial is started that would run past it (a device call ends at 600 s)
# PROCESSES=N: ab --processes N (each side in N fresh processes at one set of layout seeds,
# judged layout by layout; ~100 s a trial on squeezenet1_1 at N=4, so LEVELS small)
# ESCALATE=N: ab --escalate-processes N (an interleaved trial its layouts leave undecided goes
# on in N processes a side; unset: ab's default for the timer, 3 on CUDA-event timing since
# the chain's rule was met in session 26, so a panel without it measures what a user gets)
# GPUS=K (a multi-GPU machine): K copies of the slice at once, one per GPU
# (CUDA_VISIBLE_DEVICES=i; NVML follows by UUID), seeds SEED*10+i, files panel-$TAG-g$i.*:
# K times the trials per device second. They share the host's cores and PCIe, which the
# single-GPU slices did not: tabulate them apart from those before pooling.
TAG=${TAG:-$SLICE${REDRAW:+-redraw}${PROCESSES:+-p$PROCESSES}${ESCALATE:+-e$ESCALATE}}
slice() {  # $1: seed, $2: file tag
  python3 benchmarks/device/failclosed.py --workload "$W" --levels "$LEVELS" --seed "$1" \
    --budget "${BUDGET_S:-540}" ${REDRAW:+--redraw} ${INSTANCES:+--instances $INSTANCES} \
    ${DURATION:+--duration $DURATION} ${EXT_PAIRS:+--extension-pairs $EXT_PAIRS} \
    ${PROCESSES:+--processes $PROCESSES} ${ESCALATE:+--escalate $ESCALATE} \
    --save ${OUT:-/tmp}/panel-$2.json > ${OUT:-/tmp}/panel-$2.txt 2>&1
  tail -12 ${OUT:-/tmp}/panel-$2.txt
}
if [ "${GPUS:-1}" -gt 1 ]; then
  for ((i = 0; i < GPUS; i++)); do
    CUDA_VISIBLE_DEVICES=$i slice $(( ${SEED:-$SLICE} * 10 + i )) "$TAG-g$i" &
  done
  wait
else
  slice "${SEED:-$SLICE}" "$TAG"
fi
