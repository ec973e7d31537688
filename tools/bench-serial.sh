#!/usr/bin/env bash
# What bounds a log whose appends are serialized through a one-row head (as
# gapless positions and a hash chain require), on this machine, with no engine
# node in the way: one client writing 32 events a statement on a throwaway
# PostgreSQL (fsync on), alternating in every round —
#   layouts:    the log of record's table as it was written until the
#               thirty-fifth session (every actor's and type's chain row a
#               write extends upserted); without the chains' rows (as it was
#               written in the thirty-fifth: they are kept behind the head,
#               outside the lock); without them and the (stream, version)
#               index; the actors' chains as an index; narrow rows; one row
#               per write with a narrow row per event; one row per write with
#               an id row per event (as it is written since the thirty-sixth
#               session, beside the names the chains' keeper reads); one row
#               per write and nothing per event (pgbench -c 1);
#   two conns:  the same statement from two connections (pgbench -c 2: one
#               waits for the head's lock while the other writes);
#   pipelined:  one connection with 1, 2 or 3 statements on the wire at once
#               (libpq's pipeline mode; postgres-nio sends a connection's next
#               query only once the one before is answered).
#
#   tools/bench-serial.sh                 # 3 rounds of 4 s each
#   tools/bench-serial.sh --rounds 5 --seconds 5
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
seconds=4
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

source tools/pg/pg-lib.sh
pg_find_or_install
pg_work_dir
serial=tools/pg/serial
cc -O2 -o "$work/pipeline-probe" "$serial/pipeline-probe.c" -I"$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)" -lpq
pg_start
psql_ -f "$serial/setup.sql"

pgbench_events() {  # clients script → events/s (32 a transaction)
  pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c "$1" -j "$1" -T "$seconds" -f "$2" postgres 2>/dev/null \
    | awk '/^tps/ { printf "%.0f", $3 * 32 }'
}
echo "# PostgreSQL $(pg_version), 32 events a transaction, $rounds rounds of $seconds s, events/s"
for round in $(seq 1 "$rounds"); do
  line="round $round"
  for layout in current no-chains ids-only actor-index narrow segments one-row-ids one-row; do
    line+=" $layout=$(pgbench_events 1 "$serial/$layout.sql")"
  done
  line+=" two-connections=$(pgbench_events 2 "$serial/current.sql")"
  for depth in 1 2 3; do
    line+=" pipelined-$depth=$("$work/pipeline-probe" "host=127.0.0.1 port=$port user=postgres dbname=postgres" \
      "$serial/current.sql" "$depth" "$seconds" | sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p')"
  done
  echo "$line"
done
