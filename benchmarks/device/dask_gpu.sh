#!/usr/bin/env bash
# Issue 16 on one GPU: the same torch + calibration matrix in-process and through the Dask
# executor (dask_cuda.LocalCUDACluster, one worker); each case's medians must agree within
# their intervals. Needs dask, distributed and dask-cuda carried as wheels. Files in $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache} TRT_HARNESS_ALLOW_CODE=1
CASES=(--case 'gpu-core/resnet50/torch:graph/fp16/*' --case 'gpu-core/spin-100us/*' \
       --case 'gpu-core/spin-1ms/*')
python3 -c "import dask_cuda, distributed; print('dask-cuda', dask_cuda.__version__, \
  'distributed', distributed.__version__)" || exit 1
for label in inproc dask; do
  extra=(); [[ $label == dask ]] && extra=(--executor dask --workers 1)
  /usr/bin/time -f "$label wall %e s" python3 -m harness run scenarios/gpu-core.toml "${CASES[@]}" \
    "${extra[@]}" --allow-undecided --quiet --out /tmp/dg-$label > /tmp/dg-$label.txt 2>&1
  echo "$label rc=$?"; tail -3 /tmp/dg-$label.txt
done
python3 benchmarks/device/agree.py /tmp/dg-inproc/results.json /tmp/dg-dask/results.json \
  | tee ${OUT:-/tmp}/dask-gpu-agree.txt
tar -czf ${OUT:-/tmp}/dask-gpu.tgz -C /tmp dg-inproc/results.json dg-dask/results.json dg-inproc.txt dg-dask.txt
