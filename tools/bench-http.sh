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
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
connections=64
users=256
cluster=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --cluster) cluster=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
build_path=${EMPORIUM_BUILD_PATH:-.build}
swift build -c release --build-path "$build_path" --product emporium >/dev/null
swift build -c release --build-path "$build_path" --product emporium-echo >/dev/null
emporium=${EMPORIUM_BIN:-$build_path/release/emporium}

work=$(mktemp -d /var/tmp/emporium-http.XXXXXX)
port=$((20000 + RANDOM % 10000))
echo_port=$((port + 1))
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "seeding $users customers…"
"$emporium" seed --data-dir "$work/data" --customers "$users" --goods 300 --orders 0 >/dev/null 2>&1
"$emporium" serve --data-dir "$work/data" --port "$port" ${EMPORIUM_SERVE_ARGS:-} >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
python3 tools/bench_http_setup.py "$port" "$users" 300 "$work"

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

"$build_path/release/emporium-echo" "$echo_port" >/dev/null 2>&1 &
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
[ "$cluster" = 1 ] || exit 0

# The same buy-now load through HAProxy on 1, 2 and 3 nodes whose log of record is PostgreSQL (fsync on), in this run.
# CPU is summed over the nodes (per PlaceOrder: a node's cost, wherever the request landed); events per PostgreSQL
# transaction come from the nodes' own count, logged when they stop.
cp "$work/buynow.txt" "$work/cluster-lmdb.txt"
for nodes in 1 2 3; do
  cdir="/var/tmp/emporium-bench-cluster$nodes-$$"  # not under $work (mode 700): PostgreSQL's user must reach it
  cport=$((port + 10 * nodes))
  CLUSTER_DIR="$cdir" CLUSTER_PORT="$cport" EMPORIUM_BIN="$emporium" SEED_CUSTOMERS="$users" SEED_GOODS=300 \
    tools/cluster.sh start --nodes "$nodes" --seed >/dev/null
  python3 tools/bench_http_setup.py "$cport" "$users" 300 "$cdir"
  before=0; for pid in "$cdir"/node*.pid; do before=$((before + $(cpu_ticks "$(cat "$pid")"))); done
  echo "== $nodes node(s) on PostgreSQL: PlaceOrder (buy now), $connections connections, $seconds s"
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$cdir/buynow.lua" "http://127.0.0.1:$cport" | tee "$work/cluster-$nodes.txt"
  after=0; for pid in "$cdir"/node*.pid; do after=$((after + $(cpu_ticks "$(cat "$pid")"))); done
  echo "server CPU ticks: $((after - before)) of $ticks_per_second per second" >>"$work/cluster-$nodes.txt"
  for pid in "$cdir"/node*.pid; do kill "$(cat "$pid")"; done
  for pid in "$cdir"/node*.pid; do while kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.1; done; done
  grep -h "appended to the log of record" "$cdir"/node*.log >>"$work/cluster-$nodes.txt" || true
  CLUSTER_DIR="$cdir" CLUSTER_PORT="$cport" tools/cluster.sh stop >/dev/null
done
python3 tools/bench_cluster_report.py "$work"
