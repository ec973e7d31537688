#!/usr/bin/env bash
# The engine over HTTP under wrk on 127.0.0.1 (PlaceOrder naming its goods,
# then AddToCart + PlaceOrder pairs), beside a bare Hummingbird JSON echo
# server measured the same way in the same run.
#
#   tools/bench-http.sh                # 10 s each, 64 connections
#   tools/bench-http.sh --seconds 30
#   EMPORIUM_BIN=/tmp/emporium-old tools/bench-http.sh   # another build (A/B runs)
#   EMPORIUM_SERVE_ARGS="--log-level warning" tools/bench-http.sh   # flags for the server
#   EMPORIUM_BUILD_PATH=/var/tmp/relbuild tools/bench-http.sh     # build (release) there instead of .build
#   tools/bench-http.sh --cluster      # then buy now on 1, 2 and 3 nodes over PostgreSQL (tools/cluster.sh, HAProxy)
#   tools/bench-http.sh --cold         # no warm-up: each server is measured from its first order
#   tools/bench-http.sh --smoke        # CI: every part once, cold, 1 s each, 64 customers on 16 connections (each
#                                      # alone in flight), the debug build unless EMPORIUM_BIN; fails on an answer
#                                      # outside 2xx or a run that completed no request
#
# Before it is measured, each server (and each cluster) is warmed up, unmeasured, with buy-now orders until every
# customer has bought every goods the runs will buy: measured from its first order, a server spends its window partly
# on training the recommender on new purchases, the faster one for a smaller part of its window (seen: 17 against 3 µs
# of CPU per order), and the comparison measures how far each got rather than what an order costs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
connections=64
users=256
cluster=0
warmup=1
smoke=0
config=release
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --cluster) cluster=1; shift ;;
    --cold) warmup=0; shift ;;
    --smoke) smoke=1; seconds=1; users=64; connections=16; cluster=1; warmup=0; config=debug; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
export BENCH_CONNECTIONS=$connections  # for the reports' headers
command -v wrk >/dev/null || { echo "wrk is missing: tools/setup.sh --with-bench" >&2; exit 1; }
build_path=${EMPORIUM_BUILD_PATH:-.build}
[ -n "${EMPORIUM_BIN:-}" ] || swift build -c "$config" --build-path "$build_path" --product emporium >/dev/null
swift build -c "$config" --build-path "$build_path" --product emporium-echo >/dev/null
emporium=${EMPORIUM_BIN:-$build_path/$config/emporium}

work=$(mktemp -d /var/tmp/emporium-http.XXXXXX)
port=$((20000 + RANDOM % 10000))
echo_port=$((port + 1))
pids=()
cdir=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A cluster still up (the run failed while measuring it) is stopped too; cluster.sh keeps its logs in $cdir.logs.
  if [ -n "$cdir" ] && [ -d "$cdir" ]; then CLUSTER_DIR="$cdir" CLUSTER_PORT="$cport" tools/cluster.sh stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "seeding $users customers…"
"$emporium" seed --data-dir "$work/data" --customers "$users" --goods 300 --orders 0 >/dev/null 2>&1
"$emporium" serve --data-dir "$work/data" --port "$port" ${EMPORIUM_SERVE_ARGS:-} >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
python3 tools/bench_http_setup.py "$port" "$users" 300 "$work"

# Buys now (warmup.lua) until the log's head stands still for a second, then waits for the read models and the
# recommender's training to be done: port, directory of warmup.lua.
warm_up() {
  [ "$warmup" = 1 ] || return 0
  local wrk_pid last=-1 now
  wrk -t2 -c"$connections" -d300s -s "$2/warmup.lua" "http://127.0.0.1:$1" >/dev/null &
  wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 1
    # A health check that fails (a node behind HAProxy slow to answer under the load) is not a head standing still.
    now=$(curl -sf "http://127.0.0.1:$1/health" | python3 -c 'import json, sys; print(json.load(sys.stdin)["headPosition"])') || continue
    [ "$now" = "$last" ] && break
    last=$now
  done
  kill "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$1/health" | python3 -c 'import json, sys
models = json.load(sys.stdin)["projections"]
sys.exit(0 if all(m["lag"] == 0 and not m.get("training", False) for m in models) else 1)' && break
    sleep 0.5
  done
  echo "warmed up: $last events in the log"
}
warm_up "$port" "$work"

if [ -n "${PROFILE_SERVER:-}" ]; then (sleep 2; perf record -g -p "${pids[0]}" -o "$PROFILE_SERVER" -- sleep 5 >/dev/null 2>&1) & fi
# The server's CPU time (user + system, in clock ticks) around each run: CPU per command is steadier
# than throughput on a VM whose speed drifts, so before/after comparisons read it too.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
run_engine() {  # name, lua script
  local before after
  before=$(cpu_ticks "${pids[0]}")
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/$1.lua" "http://127.0.0.1:$port" | tee "$work/$1.txt"
  after=$(cpu_ticks "${pids[0]}")
  echo "server CPU seconds: $(( (after - before) / ticks_per_second )).$(( (after - before) % ticks_per_second ))" | tee -a "$work/$1.txt"
  echo "server CPU ticks: $((after - before)) of $ticks_per_second per second" >>"$work/$1.txt"
}
echo "== engine: PlaceOrder (buy now), $connections connections, $seconds s"
run_engine buynow
echo "== engine: AddToCart + PlaceOrder pairs, $connections connections, $seconds s"
run_engine pairs
kill "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true

"$build_path/$config/emporium-echo" "$echo_port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -X POST "http://127.0.0.1:$echo_port/echo" -d '{}' >/dev/null && break; sleep 0.2; done
cat >"$work/echo.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"PlaceOrder","data":{"addressId":null,"pointsToUse":0}}'
LUA
echo "== echo ceiling: $connections connections, $seconds s"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/echo.lua" "http://127.0.0.1:$echo_port/echo" | tee "$work/echo.txt"

python3 tools/bench_http_report.py "$work/buynow.txt" "$work/pairs.txt" "$work/echo.txt"
[ "$smoke" = 0 ] || python3 tools/bench_http_report.py --check "$work/buynow.txt" "$work/pairs.txt" "$work/echo.txt"
[ "$cluster" = 1 ] || exit 0

# The same buy-now load through HAProxy on 1, 2 and 3 nodes whose log of record is PostgreSQL (fsync on), in this run.
# CPU is summed over the nodes (per PlaceOrder: a node's cost, wherever the request landed); events per PostgreSQL
# transaction come from the nodes' own count, logged when they stop.
# One node is measured side by side with a fresh LMDB server, both up and warmed up alike, in turns (three rounds
# each): the machine's speed drifts 20-50% between minutes, and turns let the drift fall on both alike.
start_cluster() {  # nodes → sets cdir, cport
  cdir="/var/tmp/emporium-bench-cluster$1-$$"  # not under $work (mode 700): PostgreSQL's user must reach it
  cport=$((port + 10 * $1))
  CLUSTER_DIR="$cdir" CLUSTER_PORT="$cport" EMPORIUM_BIN="$emporium" SEED_CUSTOMERS="$users" SEED_GOODS=300 \
    tools/cluster.sh start --nodes "$1" --seed >/dev/null
  python3 tools/bench_http_setup.py "$cport" "$users" 300 "$cdir"
  warm_up "$cport" "$cdir"
}
stop_cluster() {  # output file: the nodes' count of events per PostgreSQL transaction goes there
  for pid in "$cdir"/node*.pid; do kill "$(cat "$pid")"; done
  for pid in "$cdir"/node*.pid; do while kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.1; done; done
  grep -h "appended to the log of record" "$cdir"/node*.log >>"$1" || true
  CLUSTER_DIR="$cdir" CLUSTER_PORT="$cport" tools/cluster.sh stop >/dev/null
  rm -rf "$cdir.logs"  # the logs cluster.sh keeps: what the run needs of them is read above
  cdir=""
}
measure_buy_now() {  # title, port, directory of buynow.lua, output file, server pids…
  local title=$1 at=$2 dir=$3 out=$4 before=0 after=0 pid
  shift 4
  for pid in "$@"; do before=$((before + $(cpu_ticks "$pid"))); done
  echo "== $title: PlaceOrder (buy now), $connections connections, $seconds s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$dir/buynow.lua" "http://127.0.0.1:$at" | tee "$out"
  for pid in "$@"; do after=$((after + $(cpu_ticks "$pid"))); done
  echo "server CPU ticks: $((after - before)) of $ticks_per_second per second" >>"$out"
}

"$emporium" seed --data-dir "$work/side" --customers "$users" --goods 300 --orders 0 >/dev/null 2>&1
"$emporium" serve --data-dir "$work/side" --port "$port" ${EMPORIUM_SERVE_ARGS:-} >"$work/side.log" 2>&1 &
side=$!
pids+=("$side")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
mkdir -p "$work/side-scripts"
python3 tools/bench_http_setup.py "$port" "$users" 300 "$work/side-scripts"
warm_up "$port" "$work/side-scripts"
start_cluster 1
node_pids=$(cat "$cdir"/node*.pid)
for round in 1 2 3; do
  measure_buy_now "round $round, 1 node, LMDB" "$port" "$work/side-scripts" "$work/cluster-lmdb-$round.txt" "$side"
  # shellcheck disable=SC2086  # one pid per word
  measure_buy_now "round $round, 1 node on PostgreSQL" "$cport" "$cdir" "$work/cluster-1-$round.txt" $node_pids
done
kill "$side"; wait "$side" 2>/dev/null || true
stop_cluster "$work/cluster-1-3.txt"
for nodes in 2 3; do
  start_cluster "$nodes"
  # shellcheck disable=SC2046  # one pid per word
  measure_buy_now "$nodes nodes on PostgreSQL" "$cport" "$cdir" "$work/cluster-$nodes.txt" $(cat "$cdir"/node*.pid)
  stop_cluster "$work/cluster-$nodes.txt"
done
python3 tools/bench_cluster_report.py "$work"
[ "$smoke" = 0 ] || python3 tools/bench_http_report.py --check "$work"/cluster-*.txt
