#!/usr/bin/env bash
# Issue 17 on a host with N >= 2 GPUs, in one device call (~6-8 min at N = 2): a matrix of
# 16 torch cases (8 torchvision architectures x fp16 b8/b32, CUDA graph) and 4 calibration
# spins, run (1) on one GPU in-process, (2) with --executor dask --workers N, (3) the same
# with --exclusive, (4) as N shards in N processes pinned to different GPUs, then merged,
# and (5) a Dask run in which one case kills its worker. Per run: wall time, the devices the
# cases ran on, and each case's median against the one-GPU run (benchmarks/device/agree.py).
# Needs dask, distributed and dask-cuda carried as wheels. Everything lands in $OUT.
#   N=2 bash benchmarks/device/multi_gpu.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache} TRT_HARNESS_ALLOW_CODE=1
N=${N:-$(nvidia-smi -L | wc -l)}
O=${OUT:-/tmp}; S=/tmp/multi-gpu.toml; H="python3 -m harness"
{ echo 'name = "multi"'
  echo '[defaults]'
  echo 'warmup = { min_time = "300ms", max_time = "1s" }'
  echo 'stop = { rel_ci = "0.5%", min_samples = 50, min_time = "500ms", max_time = "1s" }'
  for m in resnet18 resnet50 mobilenet_v3_small efficientnet_b0 shufflenet_v2_x1_0 \
           squeezenet1_1 regnet_y_400mf densenet121; do
    printf '[[model]]\nid = "%s"\nsource = "torchvision.models:%s"\n' $m $m
    printf 'backends = ["torch:graph"]\nprecisions = ["fp16"]\nbatch = [8, 32]\n'
    printf 'shapes = "x:{batch}x3x224x224"\n'
  done
  for us in 10 100 1000 5000; do
    printf '[[model]]\nid = "spin-%sus"\nsource = "calibration:spin"\n' $us
    printf 'backends = ["calibration"]\nprecisions = ["fp32"]\noptions = { calibration = { kernel_us = %s } }\ntiming = { cuda_graph = true }\n' $us
  done
} > $S
nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,power.draw --format=csv > $O/gpus.txt
timed() {   # $1: label, $2...: command; wall seconds to $O/wall.txt
  local label=$1; shift; local t0=$SECONDS
  "$@" > /tmp/mg-$label.txt 2>&1; local rc=$?
  echo "$label rc=$rc wall_s=$((SECONDS - t0))" | tee -a $O/wall.txt
}
: > $O/wall.txt
timed one env CUDA_VISIBLE_DEVICES=0 $H run $S --quiet --allow-undecided --out /tmp/mg-one
timed dask $H run $S --quiet --allow-undecided --out /tmp/mg-dask --executor dask --workers $N
timed exclusive $H run $S --quiet --allow-undecided --out /tmp/mg-excl --executor dask \
  --workers $N --exclusive
t0=$SECONDS
for i in $(seq 1 $N); do
  CUDA_VISIBLE_DEVICES=$((i - 1)) $H run $S --quiet --allow-undecided --shard $i/$N \
    --out /tmp/mg-shard$i > /tmp/mg-shard$i.txt 2>&1 &
done
wait; echo "shards wall_s=$((SECONDS - t0))" | tee -a $O/wall.txt
timed merge $H merge $(for i in $(seq 1 $N); do echo /tmp/mg-shard$i/results.json; done) \
  --out /tmp/mg-merged --allow-undecided
# a case that kills its Dask worker: that case "failed", the rest complete
mkdir -p /tmp/mg-kill && cat > /tmp/mg-kill/killer.py <<'PY'
import os

def die(*args, **kwargs):
    os._exit(3)
PY
{ sed -n '1,4p' $S
  printf '[[model]]\nid = "killer"\nsource = "zoo:transformer"\nbackends = ["onnxruntime"]\n'
  printf 'shapes = "input_ids:1x16"\npost = "killer:die"\n'
  sed -n '/^\[\[model\]\]/,$p' $S | head -12
} > /tmp/mg-kill/kill.toml
timed kill env PYTHONPATH=/tmp/mg-kill:${PYTHONPATH:-} $H run /tmp/mg-kill/kill.toml --quiet \
  --allow-undecided --out /tmp/mg-kill-run --executor dask --workers $N
for r in dask excl merged; do
  echo "== $r vs one GPU" | tee -a $O/agree.txt
  python3 benchmarks/device/agree.py /tmp/mg-one/results.json /tmp/mg-$r/results.json \
    | tee -a $O/agree.txt | tail -2
done
python3 - <<'PY' | tee $O/kill.txt
import json
r = json.load(open("/tmp/mg-kill-run/results.json"))
for c in r["cases"]:
    print(c["id"], c["status"], (c.get("error") or "")[:120])
PY
tar -czf $O/multi-gpu.tgz -C /tmp mg-one/results.json mg-dask/results.json mg-excl/results.json \
  mg-merged/results.json mg-kill-run/results.json mg-one.txt mg-dask.txt mg-exclusive.txt
