#!/usr/bin/env bash
# Replay and audit over a generated shop, beside PostgreSQL holding the same
# events (indexed by position, by stream and version, by actor and position).
#
#   tools/bench-history.sh                   # 1,000,000 events, release build (the shop is generated once into .bench/)
#   tools/bench-history.sh --events 200000   # a smaller shop
#   tools/bench-history.sh --smoke           # 3,000 events, debug build, 1 s per peer query (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

events=1000000
config=release
seconds=5
samples=2000
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --smoke) events=3000; config=debug; seconds=1; samples=200; smoke=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

source tools/pg/pg-lib.sh
pg_find_or_install

swift build -c "$config" --product emporium-history-bench >/dev/null
bench=".build/$config/emporium-history-bench"

pg_work_dir
data=".bench/history-$events"
[ "$smoke" = 1 ] && data="$work/history"

echo "== Emporium (LMDB log, replay with the engine's evolve, AES-GCM personal fields opened)"
"$bench" --data-dir "$data" --events "$events" --samples "$samples" --peer-inputs "$work/peer" | tee "$work/emporium.txt"

echo "== PostgreSQL $(pg_version): loading the same events"
pg_start
psql_ -f tools/pg/history-schema.sql
psql_ -c "\\copy events FROM '$work/peer/events.csv' WITH (FORMAT csv)"
psql_ -c "\\copy actors (actor) FROM '$work/peer/actors.txt'"
psql_ -c "\\copy orders_at (stream, position) FROM '$work/peer/orders.tsv'"
psql_ -f tools/pg/history-indexes.sql
actors=$(psql_ -At -c "SELECT count(*) FROM actors")
orders=$(psql_ -At -c "SELECT count(*) FROM orders_at")

# Reading every event in order (PostgreSQL only returns the rows; Emporium also decodes and folds them).
read_start=$(date +%s%N)
psql_ -c "\\copy (SELECT position, stream, version, type, actor, recorded_at, payload FROM events ORDER BY position) TO '/dev/null'"
read_end=$(date +%s%N)
echo "pg_read_all events=$(psql_ -At -c 'SELECT count(*) FROM events') nanoseconds=$((read_end - read_start))" > "$work/pg.txt"

pgbench_() {  # name script
  mkdir -p "$work/pgb-$1"
  (cd "$work/pgb-$1" && pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c 1 -T "$seconds" \
      -D actors="$actors" -D orders="$orders" -l -f "$OLDPWD/$2" postgres > summary.txt 2>&1) || { cat "$work/pgb-$1/summary.txt"; exit 1; }
}
pgbench_ audit tools/pg/audit-actor.sql
pgbench_ order tools/pg/order-at-time.sql

python3 tools/bench_history_report.py "$work" "$config"
