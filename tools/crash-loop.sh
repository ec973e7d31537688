#!/usr/bin/env bash
# Hunts the redo-recovery defect kept open in the notes: a killed log that the next writable open refuses
# (`redo_unusable`). Loops `emporium crash-child` (four appenders) for a random 2–20 s, SIGKILLs it, then opens the log
# writable again with a second child; stops at the first refusal and keeps that data directory (both redo slots and
# data.mdb) for inspection. Busy loops beside the child (BUSY, default 3) stand in for a loaded CI machine.
#
#   tools/crash-loop.sh [ROUNDS]      # default 50; EMPORIUM_BIN (default .build/debug/emporium), BUSY
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EMPORIUM_BIN:-.build/debug/emporium}
rounds=${1:-50}
busy=${BUSY:-3}
root=$(mktemp -d /var/tmp/emporium-crash-loop.XXXXXX)
pids=()
for _ in $(seq 1 "$busy"); do (while :; do :; done) & pids+=($!); done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for round in $(seq 1 "$rounds"); do
  dir="$root/round$round"
  seconds=$((2 + RANDOM % 19))
  "$bin" crash-child --data-dir "$dir" --seed "$round" >"$dir.acks" 2>&1 &
  child=$!
  sleep "$seconds"
  kill -9 "$child" 2>/dev/null || true
  wait "$child" 2>/dev/null || true
  acks=$(wc -l <"$dir.acks")
  # A writable open runs recovery; the second child appends for a moment, then is stopped.
  refusal=$(timeout 2 "$bin" crash-child --data-dir "$dir" --seed $((round + 1000)) 2>&1 >/dev/null | grep -m1 "redo\|error" || true)
  if [ -n "$refusal" ]; then
    echo "round $round: after $seconds s and $acks acknowledged events, the open refused: $refusal"
    echo "kept: $dir (redo.0, redo.1, data.mdb); emporium verify --data-dir $dir --json names the entry"
    exit 1
  fi
  echo "round $round: killed after $seconds s, $acks acknowledged, reopened"
  rm -rf "$dir" "$dir.acks"
done
rm -rf "$root"
echo "OK: $rounds rounds, every killed log reopened"
