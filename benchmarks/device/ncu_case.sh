#!/usr/bin/env bash
# Issue 18 on the GPU machine: `profile --tool ncu --capture-case ID` must profile that case's
# measured kernels and none of the other case's (scenarios/ncu-proof.toml: two cases, 20 timed
# spin kernels each after 200+ warm-up ones). Nsight Systems cannot write reports there.
# For each report: how many kernels were profiled, and the NVTX push/pop stacks ncu recorded
# for them (which case's range held each kernel). Logs land in $OUT/ncu-case.log.
set -uo pipefail
export PYTHONUNBUFFERED=1 TRT_HARNESS_CACHE=${TRT_HARNESS_CACHE:-/tmp/trt-cache}
L=${OUT:-/tmp}/ncu-case.log; : > $L
one() {   # $1: label, $2...: extra profile arguments
  local label=$1; shift; rm -rf /tmp/ncu-$label
  echo "== $label: $*" | tee -a $L
  python3 -m harness profile --tool ncu scenarios/ncu-proof.toml "$@" --output /tmp/ncu-$label \
    --run-args --out /tmp/ncu-$label-run > /tmp/ncu-$label.log 2>&1; echo "rc=$?" | tee -a $L
  grep -E '^running:|==ERROR==|==WARNING==' /tmp/ncu-$label.log | head -5 | tee -a $L
  echo "kernels profiled: $(grep -c '==PROF== Profiling' /tmp/ncu-$label.log)" | tee -a $L
  local rep; rep=$(ls -t /tmp/ncu-$label/*.ncu-rep 2>/dev/null | head -1)
  ncu --import "$rep" --page details --print-summary none > /tmp/ncu-$label.details 2>&1
  echo "kernels in the report, by the case range above them:" | tee -a $L
  grep -oE 'ncu-proof:spin-(eager|graph)[^ ]*' /tmp/ncu-$label.details | sort | uniq -c | tee -a $L
  grep -m3 -i -A4 'nvtx' /tmp/ncu-$label.details >> $L
}
one eager --capture-case ncu-proof/spin-eager/calibration/fp32/b1
one graph --capture-case ncu-proof/spin-graph/calibration/fp32/b1
one all                    # control: every case's measure range, 20 kernels per case
