#!/usr/bin/env bash
# A local cluster from Debian's packages, on 127.0.0.1: PostgreSQL as the log of
# record, N engine nodes (each with its own data directory, its replica) and
# HAProxy balancing them (round robin, health-checked on /health).
#
#   tools/cluster.sh start [--nodes 3] [--seed]   # --seed: a demo shop, migrated in
#   tools/cluster.sh status                       # emporium cluster status
#   tools/cluster.sh kill N | restart N           # kill -9 node N (1-based) / start it again
#   tools/cluster.sh stop                         # stops everything, removes CLUSTER_DIR
#   tools/cluster.sh smoke                        # start, orders under kill -9 of a node, checks, stop (CI)
#
# CLUSTER_DIR (default /var/tmp/emporium-cluster) holds everything; CLUSTER_PORT
# (default 18080) is HAProxy's port, nodes take the next N, PostgreSQL +100.
# EMPORIUM_BIN picks the binary (default: a release build, made when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${CLUSTER_DIR:-/var/tmp/emporium-cluster}
port=${CLUSTER_PORT:-18080}
pg_port=$((port + 100))
url="postgres://postgres@127.0.0.1:$pg_port/emporium"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_postgres=(); [ "$(id -u)" = 0 ] && as_postgres=(runuser -u postgres --)

binary() {
  if [ -n "${EMPORIUM_BIN:-}" ]; then echo "$EMPORIUM_BIN"; return; fi
  [ -x .build/release/emporium ] || swift build -c release --product emporium >&2
  echo .build/release/emporium
}

node_env() {  # every node signs tokens, checks callbacks and wraps keys alike
  # shellcheck disable=SC1091
  . "$dir/secrets.env"
  export EMPORIUM_TOKEN_SECRET EMPORIUM_CALLBACK_SECRET EMPORIUM_VAULT_SECRET
}

start_node() {  # N
  local n=$1 bin; bin=$(cat "$dir/bin")
  node_env
  "$bin" serve --data-dir "$dir/node$n" --port $((port + n)) --log "$url" --node-name "node$n" \
    --expiry-sweep-seconds 1 >>"$dir/node$n.log" 2>&1 &
  echo $! >"$dir/node$n.pid"
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$((port + n))/health" >/dev/null && { echo "node$n on 127.0.0.1:$((port + n))"; return; }
    kill -0 "$(cat "$dir/node$n.pid")" 2>/dev/null || { tail -5 "$dir/node$n.log" >&2; echo "node$n did not start" >&2; exit 1; }
    sleep 0.2
  done
  echo "node$n did not answer /health" >&2; exit 1
}

start() {
  local nodes=3 seed=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes="$2"; shift 2 ;;
      --seed) seed=1; shift ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  [ -n "$pg_bin" ] || { echo "PostgreSQL is missing: tools/setup.sh --with-cluster" >&2; exit 1; }
  command -v haproxy >/dev/null || { echo "HAProxy is missing: tools/setup.sh --with-cluster" >&2; exit 1; }
  [ -e "$dir" ] && { echo "$dir exists: tools/cluster.sh stop first" >&2; exit 1; }
  mkdir -p "$dir/pg"; chmod 755 "$dir"
  binary >"$dir/bin"
  echo "$nodes" >"$dir/nodes"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
  "${as_postgres[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -A trust -U postgres >"$dir/pg.log" 2>&1 \
    || { cat "$dir/pg.log" >&2; echo "initdb failed (can the postgres user reach $dir?)" >&2; exit 1; }
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c max_connections=200" start >>"$dir/pg.log"
  "${as_postgres[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE emporium" >>"$dir/pg.log"
  echo "PostgreSQL on 127.0.0.1:$pg_port"
  secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  printf 'EMPORIUM_TOKEN_SECRET=%s\nEMPORIUM_CALLBACK_SECRET=%s\nEMPORIUM_VAULT_SECRET=%s\n' "$(secret)" "$(secret)" "$(secret)" >"$dir/secrets.env"
  chmod 600 "$dir/secrets.env"
  if [ "$seed" = 1 ]; then
    node_env
    "$(cat "$dir/bin")" seed --data-dir "$dir/seed" --customers "${SEED_CUSTOMERS:-40}" --goods "${SEED_GOODS:-50}" --orders 0 >/dev/null
    "$(cat "$dir/bin")" migrate --data-dir "$dir/seed" --to "$url"
  fi
  for n in $(seq 1 "$nodes"); do start_node "$n"; done
  {
    printf 'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n'
    printf '  retries 2\n  option redispatch\nfrontend shop\n  bind 127.0.0.1:%s\n  default_backend nodes\n' "$port"
    printf 'backend nodes\n  balance roundrobin\n  option httpchk GET /health\n  http-check expect status 200\n'
    for n in $(seq 1 "$nodes"); do printf '  server node%s 127.0.0.1:%s check inter 500 fall 2 rise 1\n' "$n" $((port + n)); done
  } >"$dir/haproxy.cfg"
  haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid"
  echo "HAProxy on 127.0.0.1:$port (the shop's address)"
}

stop() {
  [ -d "$dir" ] || return 0
  [ -f "$dir/haproxy.pid" ] && kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
  for pid in "$dir"/node*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  for pid in "$dir"/node*.pid; do [ -f "$pid" ] && while kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.1; done; done
  [ -d "$dir/pg/data" ] && "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  echo "stopped"
}

status() { "$(cat "$dir/bin")" cluster status --log "$url"; }

smoke() {
  trap stop EXIT
  SEED_CUSTOMERS=${SEED_CUSTOMERS:-12} SEED_GOODS=${SEED_GOODS:-12} start --nodes 3 --seed
  python3 tools/cluster_check.py "$port" "$dir" "$url" "$(cat "$dir/bin")" &
  local checker=$!
  while [ ! -e "$dir/buying" ]; do kill -0 "$checker" 2>/dev/null || { wait "$checker"; exit 1; }; sleep 0.1; done
  sleep 2
  echo "kill -9 node2"; kill -9 "$(cat "$dir/node2.pid")"
  sleep 2
  start_node 2
  wait "$checker"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  kill) kill -9 "$(cat "$dir/node$2.pid")"; echo "killed node$2" ;;
  restart) start_node "$2" ;;
  smoke) smoke ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
