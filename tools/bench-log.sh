#!/usr/bin/env bash
# The Emporium event log against PostgreSQL: the same workloads, on this
# machine, in one run. PostgreSQL is started here on 127.0.0.1 (fsync and
# synchronous_commit on) and stopped afterwards.
#
#   tools/bench-log.sh                 # 5 s per workload, 1,000,000-event scan (release build)
#   tools/bench-log.sh --seconds 10    # longer runs
#   tools/bench-log.sh --smoke         # 1 s per workload, small scan, debug build (CI)
#   tools/bench-log.sh --pg-rounds 8   # rounds of the PostgreSQL log against the classic table, alternating (default 5)
#   tools/bench-log.sh --shop-rounds 4 # the same in a shop's shape, a stream per append (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
scan_events=1000000
config=release
concurrent_clients=64
pg_rounds=5
shop_rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --scan-events) scan_events="$2"; shift 2 ;;
    --smoke) seconds=1; scan_events=20000; config=debug; pg_rounds=1; shop_rounds=1; shift ;;
    --pg-rounds) pg_rounds="$2"; shift 2 ;;
    --shop-rounds) shop_rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

source tools/pg/pg-lib.sh
pg_find_or_install

swift build -c "$config" --product emporium-log-bench >/dev/null
bench=".build/$config/emporium-log-bench"

pg_work_dir

payload=$("$bench" --print-payload)
echo "== Emporium event log (LMDB), $seconds s per workload"
"$bench" --seconds "$seconds" --scan-events "$scan_events" --data-dir "$work/log" | tee "$work/lmdb.txt"
rm -rf "$work/log"
echo "== Emporium event log (LMDB): one flush per commit against LMDB's own two, side by side, $seconds s per workload"
"$bench" --seconds "$seconds" --workloads paired --data-dir "$work/log" | tee "$work/paired.txt"
rm -rf "$work/log"

echo "== PostgreSQL $(pg_version), $seconds s per workload"
pg_start
psql_ -f tools/pg/schema.sql

# The Emporium log with PostgreSQL as its store (the log of record of a cluster), on the same server.
psql_ -c "CREATE DATABASE emporium_log"
"$bench" --seconds "$seconds" --workloads single,concurrent,batch --postgres "postgres://postgres@127.0.0.1:$port/emporium_log" \
  | tee "$work/pglog.txt"

pgbench_() {  # name clients script
  local name="$1" clients="$2" script="$3"
  mkdir -p "$work/pgb-$name"
  (cd "$work/pgb-$name" && pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c "$clients" -j 2 -T "$seconds" \
      -D prefix="$name" -D payload="$payload" -l -f "$OLDPWD/$script" postgres > summary.txt 2>&1) || { cat "$work/pgb-$name/summary.txt"; exit 1; }
}
pgbench_ single 1 tools/pg/append-one.sql
pgbench_ concurrent "$concurrent_clients" tools/pg/append-one.sql
pgbench_ batch 1 tools/pg/append-hundred.sql

# The disk's and the machine's pace move between minutes, and the two sides meet them differently (64 backends committing
# in groups gain most from quick flushes): the 64-appender comparison again, alternating, a fresh database each round.
# Each side's CPU too, per event: PostgreSQL's (`pg_cpu_ticks`) and the client's (the bench, pgbench), so that the
# rounds say what each event costs whatever pace the machine keeps that minute.
echo "== PostgreSQL log against the classic table, 64 appenders, $pg_rounds alternating rounds of $seconds s"
tick=$(getconf CLK_TCK)
timed() {  # output file, command…: runs it, its output to the file, and prints its CPU seconds (user and system)
  local out="$1"; shift
  python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out: subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime)' "$out" "$@"
}
per_event() {  # ticks seconds events → µs per event
  awk -v t="$1" -v c="$2" -v e="$3" -v hz="$tick" 'BEGIN { if (e > 0) printf "%.1f", (t / hz + c) * 1e6 / e; else print "" }'
}
# rounds_ FILE COUNT LABEL SCRIPT [FLAGS…]: COUNT alternating rounds, the Emporium log (with FLAGS) then the classic table
# (pgbench running SCRIPT), a fresh database each round for the Emporium side; a line per round in FILE.
rounds_() {
  local file="$1" count="$2" label="$3" script="$4"; shift 4
  : > "$work/$file"
  for round in $(seq 1 "$count"); do
    psql_ -c "CREATE DATABASE emporium_${label}_$round" > /dev/null
    before=$(pg_cpu_ticks)
    client=$(timed "$work/round.txt" "$bench" --seconds "$seconds" --workloads concurrent "$@" \
      --postgres "postgres://postgres@127.0.0.1:$port/emporium_${label}_$round")
    sleep 1  # the run's backends are exiting: one read between the postmaster's and its own would miss its CPU
    spent=$(( $(pg_cpu_ticks) - before ))
    ours=$(sed -n 's/^pglog concurrent events_per_s=\([0-9.]*\).*/\1/p' "$work/round.txt")
    events=$(sed -n 's/^pglog concurrent .* appends=\([0-9]*\).*/\1/p' "$work/round.txt")
    ours_pg=$(per_event "$spent" 0 "$events"); ours_client=$(per_event 0 "$client" "$events")
    psql_ -c "DROP DATABASE emporium_${label}_$round" > /dev/null
    # Not pgbench_: without its per-transaction log (-l), so the classic side pays nothing the Emporium side does not.
    before=$(pg_cpu_ticks)
    client=$(timed "$work/round.txt" pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c "$concurrent_clients" -j 2 \
      -T "$seconds" -D prefix="$label-$round" -D payload="$payload" -f "$script" postgres)
    sleep 1
    spent=$(( $(pg_cpu_ticks) - before ))
    theirs=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/round.txt")
    events=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/round.txt")
    theirs_pg=$(per_event "$spent" 0 "$events"); theirs_client=$(per_event 0 "$client" "$events")
    echo "round $round pglog=$ours classic=$theirs pglog_pg_us=$ours_pg classic_pg_us=$theirs_pg" \
      "pglog_client_us=$ours_client classic_client_us=$theirs_client" | tee -a "$work/$file"
  done
}
rounds_ pgrounds.txt "$pg_rounds" round tools/pg/append-one.sql
# A shop's shape: each append to a stream of its own (an order's), which the Emporium log begins a chain's row for and
# the classic table an index entry, as on every event.
echo "== The same in a shop's shape (a stream per append), $shop_rounds alternating rounds of $seconds s"
rounds_ pgshop.txt "$shop_rounds" shop tools/pg/append-new-stream.sql --stream-per-append

have=$(psql_ -At -c "SELECT count(*) FROM events")
if [ "$have" -lt "$scan_events" ]; then
  psql_ -c "INSERT INTO events (stream_id, version, type, data)
            SELECT 'bulk-' || (g / 1000), g % 1000 + 1, 'BenchEvent', '$payload'::jsonb
            FROM generate_series(0, $scan_events - $have - 1) AS g"
fi
psql_ -c "VACUUM ANALYZE events"
scan_start=$(date +%s%N)
psql_ -c "\\copy (SELECT global_position, stream_id, version, type, data, created_at FROM events ORDER BY global_position LIMIT $scan_events) TO '/dev/null'"
scan_end=$(date +%s%N)
echo "pg scan events=$scan_events seconds=$(( (scan_end - scan_start) / 1000000 ))e-3" > "$work/pgscan.txt"

python3 tools/bench_report.py "$work" "$seconds" "$scan_events" "$scan_start" "$scan_end" "$config"
echo
echo "The disk's flushes, measured by tools/disk_flush_probe.py in the same run:"
if [ "$config" = release ]; then
  python3 tools/disk_flush_probe.py "$work/probe"
else
  python3 tools/disk_flush_probe.py "$work/probe" 20  # the smoke: that it runs to its end
fi
