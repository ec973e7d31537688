#!/usr/bin/env bash
# Where every process's CPU goes during the concurrent append workload of one node: `perf record -a -g` for 3 s from
# 2 s into a 7-second run, then the shares by process (the bench process, PostgreSQL, idle) and, of PostgreSQL's samples,
# those of the parts the README's figures name: the writer's executor start, the chains' keeper (PL/pgSQL), TOAST of the
# records, and compression of a write's names. PostgreSQL is started here on 127.0.0.1 and stopped afterwards; needs
# perf (linux-perf) and root or kernel.perf_event_paranoid <= 0.
#
#   tools/pg-profile.sh                                      # .build/release/emporium-log-bench
#   tools/pg-profile.sh /tmp/other-build --nodes 1           # another build, and flags for it
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,9p' "$0"; exit 0 ;; esac
bench="${1:-.build/release/emporium-log-bench}"; shift || true
command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 2; }
source tools/pg/pg-lib.sh
pg_run_log_bench profile "$bench" 7 "$@"
sleep 2
perf record -a -g -F 1999 -o "$work/perf.data" -- sleep 3 > /dev/null 2>&1
wait "$run"
grep -v '^# emporium' "$work/bench.txt"
echo "# shares of every sample, by process:"
perf report -i "$work/perf.data" --no-children -g none --sort comm 2>/dev/null | grep '%' | head -5
echo "# of PostgreSQL's samples, those with the function in their stack:"
perf script -i "$work/perf.data" --comm postgres -F ip,sym 2> /dev/null | python3 -c '
import sys
parts = {"executor start (standard_ExecutorStart)": "standard_ExecutorStart",
         "the chains keeper (plpgsql_call_handler)": "plpgsql_call_handler",
         "TOAST of the records (toast_save_datum)": "toast_save_datum",
         "pglz compression (pglz_compress)": "pglz_compress",
         "lz4 compression (LZ4_compress_fast_extState)": "LZ4_compress_fast_extState"}
samples, stack = [], []
for line in sys.stdin:
    if line.strip():
        stack.append(line.split(None, 1)[-1])
    elif stack:
        samples.append(" ".join(stack)); stack = []
if stack: samples.append(" ".join(stack))
for label, symbol in parts.items():
    share = 100 * sum(symbol in s for s in samples) / max(len(samples), 1)
    print(f"{share:5.1f}%  {label}")
print(f"({len(samples)} samples)")'
