#!/usr/bin/env bash
# First look on the GPU machine: tests (CPU + GPU), a quick selftest, a few gpu-core cases.
# Run from the worktree copy; $OUT is where files come back.
set -uo pipefail
# the scenarios name torchvision factories: code from outside their folder (harness/consent.py)
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=/tmp/trt-cache TRT_HARNESS_ALLOW_CODE=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,persistence_mode,power.limit --format=csv | tee $OUT/gpu.txt
python3 -m pytest -q -x tests 2>&1 | tail -25 | tee $OUT/pytest.log
python3 -m harness selftest --quick --json $OUT/selftest-quick.json 2>&1 | tail -40
python3 -m harness run scenarios/gpu-core.toml --quiet --out /tmp/smoke \
  --case '*spin*' --case '*resnet50/torch:eager/fp16/b8' --case '*resnet50/torch:graph/fp16/b8' \
  --case '*zoo-resnet*' --case '*resnet50/torch:compile/fp16/b1' 2>&1 | tail -30
cp /tmp/smoke/results.json $OUT/smoke-results.json; cp /tmp/smoke/index.html $OUT/smoke-report.html
