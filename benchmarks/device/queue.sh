#!/usr/bin/env bash
# Several panel slices in one device call, each given what is left of the call as its
# BUDGET_S (panel.sh starts no trial that would run past it; the first trial always runs,
# so a slice is only started with more than MIN_S left). One argument per slice, its
# settings as VAR=value words:
#   bash benchmarks/device/queue.sh "SLICE=1 SEED=201 LEVELS=0:6,moved:5 TAG=1-s10" \
#                                   "SLICE=6 SEED=206 LEVELS=0:15 TAG=6-s10"
# CALL_S: the call's own limit minus a margin (default 560 of a 600 s call).
set -uo pipefail
T0=$(date +%s)
CALL_S=${CALL_S:-560}
MIN_S=${MIN_S:-40}
for slice in "$@"; do
  left=$((CALL_S - $(date +%s) + T0))
  if [ "$left" -le "$MIN_S" ]; then
    echo "queue: skipped ($left s left): $slice"
    continue
  fi
  # shellcheck disable=SC2086  # the slice's VAR=value words, split on purpose
  env $slice BUDGET_S=$left bash "$(dirname "$0")/panel.sh"
done
echo "queue: done in $(($(date +%s) - T0)) s"
