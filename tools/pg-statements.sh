#!/usr/bin/env bash
# Where PostgreSQL's time goes, statement by statement, during the concurrent append workload: pg_stat_statements with
# track = all (the statements inside emporium_rebase and emporium_keep_chains each on their own row; an execution's time,
# not its executor start) and the functions' own times (track_functions), over a 7-second run. With --nodes 3 this is
# where the README's shares of emporium_rebase come from. PostgreSQL is started here on 127.0.0.1 and stopped afterwards.
#
#   tools/pg-statements.sh                          # .build/release/emporium-log-bench, one node
#   tools/pg-statements.sh /tmp/other-build --nodes 3   # another build, and flags for it
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,8p' "$0"; exit 0 ;; esac
bench="${1:-.build/release/emporium-log-bench}"; shift || true
source tools/pg/pg-lib.sh
pg_extra_options="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_functions=all"
pg_run_log_bench statements "$bench" 7 "$@"
sleep 0.5
psql_ -d statements -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" > /dev/null
wait "$run"
grep -v '^# emporium' "$work/bench.txt"
psql_ -d statements -c "
SELECT calls, round(total_exec_time) AS ms, round((1000 * total_exec_time / calls)::numeric, 1) AS us_per_call, rows,
  left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
FROM pg_stat_statements WHERE calls > 50 ORDER BY total_exec_time DESC LIMIT 15"
psql_ -d statements -c "
SELECT funcname, calls, round(total_time) AS ms, round(self_time) AS self_ms,
  round((1000 * self_time / calls)::numeric, 1) AS self_us_per_call
FROM pg_stat_user_functions ORDER BY total_time DESC"
