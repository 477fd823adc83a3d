#!/usr/bin/env bash
# Issues 5, 7 and 8 on the GPU machine, in steps that each fit one device call (< 10 min):
#   STEPS=gputests,study      GPU-marked tests after the merge, then the study scenarios
#   STEPS=stored              stored-baseline verdicts: false alarms and detection (calibration)
#   STEPS=abcal,abtorch       interleaved A/B: calibration and torch (resnet50 fp16 b8) detection
#   STEPS=instances           several preparations of one case: does the second run slower?
#   STEPS=storedtorch         stored-baseline verdicts on the torch case (TORCH_MODE graph|eager)
# The torch slowdown is options.torch.slowdown: a GPU spin sized to that fraction of the
# model's GPU time, captured into the graph (harness/backends/torch.py).
# Raw data and tables land under $OUT; re-judge them here with `--load`.
set -uo pipefail
# the scenarios name torchvision factories: code from outside their folder (harness/consent.py)
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=/tmp/trt-cache TRT_HARNESS_ALLOW_CODE=1
S=${STEPS:-study}
SECONDS_PER=${SECONDS_PER:-1}
X="python3 -m benchmarks.verdict_experiment"
TORCH="--backend torch --option mode=${TORCH_MODE:-graph} --model torchvision.models:resnet50 \
  --precision fp16 --shapes x:8x3x224x224 --slowdown-option slowdown"
CAL="--backend calibration --model calibration:spin --cuda-graph --option kernel_us=1000 --slowdown-option slowdown"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader
if [[ ,$S, == *,gputests,* ]]; then
  python3 -m pytest -q -m gpu tests -p no:cacheprovider 2>&1 | tail -3
fi
if [[ ,$S, == *,study,* ]]; then
  python3 -m harness run scenarios/face-detect-ladder.toml scenarios/dms-breakdown.toml \
    scenarios/yolo-8400.toml scenarios/yunet-nms.toml scenarios/runtime-shootout.toml \
    --quiet --out /tmp/study > $OUT/study-run.txt 2>&1; echo "study rc=$?"
  gzip -c /tmp/study/results.json > $OUT/study-results.json.gz
  gzip -c /tmp/study/index.html > $OUT/study-report.html.gz
  tail -60 $OUT/study-run.txt
fi
if [[ ,$S, == *,stored,* ]]; then
  $X stored $CAL --slowdowns 0,0.005,0.01,0.02,0.05 --trials 50 --seconds $SECONDS_PER \
    --baseline-pool 10 --save $OUT/stored-calib.json > $OUT/stored-calib.txt 2>&1
  echo "stored rc=$?"; tail -20 $OUT/stored-calib.txt
fi
if [[ ,$S, == *,instances,* ]]; then
  I="python3 -m benchmarks.device.instances --instances 4 --rounds 12"
  R50="--backend torch --model torchvision.models:resnet50 --precision fp16 --shapes x:8x3x224x224"
  $I $R50 --option mode=graph --sets 3 --save $OUT/instances-torch-graph.json
  $I $R50 --option mode=graph --option cudnn_benchmark=false --sets 2 \
    --save $OUT/instances-torch-graph-nobench.json
  $I --backend calibration --model calibration:spin --cuda-graph --option kernel_us=1000 \
    --sets 2 --save $OUT/instances-calib.json
fi
if [[ ,$S, == *,abcal,* ]]; then
  $X ab $CAL --slowdowns ${AB_SLOWDOWNS:-0,0.005} --trials ${AB_TRIALS:-50} --seconds $SECONDS_PER \
    --save $OUT/ab-calib.json > $OUT/ab-calib.txt 2>&1
  echo "ab rc=$?"; tail -20 $OUT/ab-calib.txt
fi
if [[ ,$S, == *,abtorch,* ]]; then
  T=torch-${TORCH_MODE:-graph}-k${AB_INSTANCES:-2}
  $X ab $TORCH --slowdowns ${AB_SLOWDOWNS:-0,0.005} --trials ${AB_TRIALS:-50} \
    --chunk ${AB_CHUNK:-5} --instances ${AB_INSTANCES:-2} --warmup 300ms \
    --seconds $SECONDS_PER --save $OUT/ab-$T.json > $OUT/ab-$T.txt 2>&1
  echo "abtorch rc=$?"; tail -12 $OUT/ab-$T.txt
fi
if [[ ,$S, == *,storedtorch,* ]]; then
  T=torch-${TORCH_MODE:-graph}
  $X stored $TORCH --slowdowns ${STORED_SLOWDOWNS:-0,0.005,0.01,0.02,0.05} \
    --trials ${STORED_TRIALS:-20} --seconds $SECONDS_PER --baseline-pool 10 \
    --save $OUT/stored-$T.json > $OUT/stored-$T.txt 2>&1
  echo "storedtorch rc=$?"; tail -14 $OUT/stored-$T.txt
fi
