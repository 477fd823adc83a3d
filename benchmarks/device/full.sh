#!/usr/bin/env bash
# Everything on the GPU machine in one call: tests, selftest, gpu-core scenario + report,
# between-trial noise of resnet50 graph fp16 b8, and the ncu NVTX proof. Files under $OUT.
set -uo pipefail
# the scenarios name torchvision factories: code from outside their folder (harness/consent.py)
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=/tmp/trt-cache TRT_HARNESS_ALLOW_CODE=1
S=${STEPS:-tests,selftest,scenario,trials,ncu}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,persistence_mode,power.limit --format=csv > $OUT/gpu.txt
if [[ $S == *tests* ]]; then
  python3 -m pytest -q tests -p no:cacheprovider > $OUT/pytest.log 2>&1; echo "pytest rc=$?"; tail -5 $OUT/pytest.log
fi
if [[ $S == *selftest* ]]; then
  python3 -m harness selftest --json $OUT/selftest.json > $OUT/selftest.txt 2>&1; echo "selftest rc=$?"
fi
if [[ $S == *ncu* ]]; then
  python3 -m harness profile --tool ncu scenarios/ncu-proof.toml --output /tmp/ncu/proof \
    --run-args --out /tmp/ncu-run > $OUT/ncu.log 2>&1; echo "ncu rc=$?"
  ncu --import /tmp/ncu/proof.ncu-rep --print-summary per-kernel > $OUT/ncu-summary.txt 2>&1
  grep -c '==PROF== Profiling "spin"' $OUT/ncu.log; grep '==PROF== Profiling' $OUT/ncu.log | sed 's/ - [0-9]*:.*//' | sort | uniq -c
fi
if [[ $S == *trials* ]]; then
  python3 benchmarks/device/trials.py scenarios/gpu-core.toml 'gpu-core/resnet50/torch:graph/fp16/b8' 10 $OUT/trials.json 2>&1 | tail -3
fi
if [[ $S == *scenario* ]]; then
  python3 -m harness run scenarios/gpu-core.toml --quiet --out /tmp/gpu-core ${CASES:-} > $OUT/run.txt 2>&1; echo "run rc=$?"
  cp /tmp/gpu-core/results.json $OUT/gpu-core-results.json; cp /tmp/gpu-core/index.html $OUT/gpu-core-report.html
  tail -45 $OUT/run.txt
fi
[[ $S == *selftest* ]] && cat $OUT/selftest.txt
