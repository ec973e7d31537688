#!/usr/bin/env bash
# What the writer backend of one node does during the concurrent append workload: its state and wait event sampled
# from pg_stat_activity about once a millisecond (4,000 samples, from 2.5 s into an 8-second run), as shares. "cpu" is
# a sample with no wait event (running, or runnable); IO:WALSync is its commit's flush; Client:ClientRead while idle is
# waiting for the node's next write. PostgreSQL is started here on 127.0.0.1 and stopped afterwards.
#
#   tools/pg-wait-events.sh                                   # .build/release/emporium-log-bench
#   tools/pg-wait-events.sh /tmp/other-build --pipeline-depth 1   # another build, and flags for it
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,8p' "$0"; exit 0 ;; esac
bench="${1:-.build/release/emporium-log-bench}"; shift || true
source tools/pg/pg-lib.sh
pg_run_log_bench waits "$bench" 8 "$@"
sleep 2.5
writer=$(psql_ -At -c "SELECT pid FROM pg_stat_activity WHERE datname = 'waits' AND application_name = 'emporium-writer' LIMIT 1")
[ -n "$writer" ] || { echo "no writer connection seen" >&2; wait "$run"; cat "$work/bench.txt"; exit 1; }
psql_ -d waits -At -F ' ' -c "
CREATE TEMP TABLE sample (state text, waiting text);
DO \$\$ BEGIN
  FOR i IN 1..4000 LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO sample SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') FROM pg_stat_activity WHERE pid = $writer;
    PERFORM pg_sleep(0.001);
  END LOOP;
END \$\$;
SELECT round(100.0 * count(*) / sum(count(*)) OVER (), 1) || '%', state, waiting FROM sample GROUP BY 2, 3 ORDER BY count(*) DESC;"
wait "$run"
grep -v '^# emporium' "$work/bench.txt"
