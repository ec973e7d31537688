#!/usr/bin/env bash
# Read models over a generated shop (100,000 goods, 1,000,000 events): a full
# rebuild of every projection, then search, suggest and recommendation
# latencies; beside PostgreSQL full-text search (tsvector + GIN, ts_rank) over
# the same goods and the same query texts.
#
#   tools/bench-projections.sh            # release build; the shop is generated once into .bench/
#   tools/bench-projections.sh --smoke    # 500 goods, 5,000 events, debug build, 1 s of peer queries (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

goods=100000
events=1000000
config=release
seconds=10
samples=3000
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --goods) goods="$2"; shift 2 ;;
    --events) events="$2"; shift 2 ;;
    --smoke) goods=500; events=5000; config=debug; seconds=1; samples=200; smoke=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

source tools/pg/pg-lib.sh
pg_find_or_install

swift build -c "$config" --product emporium-projection-bench >/dev/null
bench=".build/$config/emporium-projection-bench"

pg_work_dir
data=".bench/projections-$goods-$events"
[ "$smoke" = 1 ] && data="$work/projections"

echo "== Emporium read models (LMDB-stored, folded from the event log)"
"$bench" --data-dir "$data" --goods "$goods" --events "$events" --samples "$samples" --peer-inputs "$work/peer" | tee "$work/emporium.txt"

echo "== PostgreSQL $(pg_version): full-text search over the same goods"
pg_start
psql_ -f tools/pg/search-schema.sql
psql_ -c "\\copy goods (id, title, description, category, brand, tags, price) FROM '$work/peer/goods.tsv'"
psql_ -c "\\copy queries (q) FROM '$work/peer/queries.txt'"
index_start=$(date +%s%N)
psql_ -f tools/pg/search-indexes.sql
index_end=$(date +%s%N)
echo "pg_index goods=$(psql_ -At -c 'SELECT count(*) FROM goods') nanoseconds=$((index_end - index_start))" > "$work/pg.txt"
queries=$(psql_ -At -c "SELECT count(*) FROM queries")
mkdir -p "$work/pgb-search"
(cd "$work/pgb-search" && pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c 1 -T "$seconds" -D queries="$queries" -l \
    -f "$OLDPWD/tools/pg/search-query.sql" postgres > summary.txt 2>&1) || { cat "$work/pgb-search/summary.txt"; exit 1; }

python3 tools/bench_projections_report.py "$work" "$config"
