#!/usr/bin/env bash
# A local cluster from Debian's packages, on 127.0.0.1: PostgreSQL as the log of
# record, N engine nodes (each with its own data directory, its replica) and
# HAProxy balancing them (round robin, health-checked on /health).
#
#   tools/cluster.sh start [--nodes 3] [--seed] [--ha [--netns]]
#       --seed: a demo shop, migrated in
#       --ha: PostgreSQL replicated: three members managed by Patroni (etcd as its
#             store), synchronous_mode_strict, HAProxy routing the nodes to the
#             primary by Patroni's REST check (/primary)
#       --netns: the last node in a network namespace of its own, reaching
#             PostgreSQL over a link `partition` can take down (root, iproute2)
#   tools/cluster.sh status                       # emporium cluster status (+ Patroni's view with --ha)
#   tools/cluster.sh kill N | restart N           # kill -9 node N (1-based) / start it again
#   tools/cluster.sh failover                     # --ha: kill -9 the primary's Patroni and postmaster (its machine lost)
#   tools/cluster.sh kill-postmaster              # --ha: kill -9 the primary's postmaster only (Patroni lives)
#   tools/cluster.sh lose M                       # --ha: kill -9 member M's Patroni and postmaster
#   tools/cluster.sh rejoin                       # --ha: start the lost members again (they rejoin as standbys)
#   tools/cluster.sh partition | heal             # --netns: take the last node's link to PostgreSQL down / up
#   tools/cluster.sh stop                         # stops everything, removes CLUSTER_DIR
#   tools/cluster.sh smoke                        # start, orders under kill -9 of a node, checks, stop (CI)
#   tools/cluster.sh ha-smoke [failover.py flags] # start --ha --netns, tools/failover.py's faults under load, stop
#
# CLUSTER_DIR (default /var/tmp/emporium-cluster) holds everything; CLUSTER_PORT
# (default 18080) is HAProxy's port, nodes take the next N, PostgreSQL +100
# (HAProxy's PostgreSQL port with --ha; the members take the next three,
# Patroni's REST API +200 and on, etcd +300 and +301).
# EMPORIUM_BIN picks the binary (default: a release build, made when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${CLUSTER_DIR:-/var/tmp/emporium-cluster}
port=${CLUSTER_PORT:-18080}
pg_port=$((port + 100))
url="postgres://postgres@127.0.0.1:$pg_port/emporium"
rest_port=$((port + 200))
etcd_port=$((port + 300))
members=3
# --netns: the namespaced node reaches HAProxy's PostgreSQL port over one link and is reached over another.
ns_name=emporium-node
ns_pg_host=10.213.0.1 ns_pg_node=10.213.0.2 ns_http_host=10.213.1.1 ns_http_node=10.213.1.2
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

node_address() {  # N: where node N serves
  if [ "$(cat "$dir/netns" 2>/dev/null)" = "$1" ]; then echo "$ns_http_node:$((port + $1))"; else echo "127.0.0.1:$((port + $1))"; fi
}

start_node() {  # N
  local n=$1 bin log=$url host=127.0.0.1 run=(); bin=$(cat "$dir/bin")
  node_env
  if [ "$(cat "$dir/netns" 2>/dev/null)" = "$n" ]; then
    run=(ip netns exec "$ns_name"); host=$ns_http_node; log="postgres://postgres@$ns_pg_host:$pg_port/emporium"
  fi
  "${run[@]}" "$bin" serve --data-dir "$dir/node$n" --host "$host" --port $((port + n)) --log "$log" --node-name "node$n" \
    --expiry-sweep-seconds 1 >>"$dir/node$n.log" 2>&1 &
  echo $! >"$dir/node$n.pid"
  for _ in $(seq 1 300); do
    curl -sf "http://$(node_address "$n")/health" >/dev/null && { echo "node$n on $(node_address "$n")"; return; }
    kill -0 "$(cat "$dir/node$n.pid")" 2>/dev/null || { tail -5 "$dir/node$n.log" >&2; echo "node$n did not start" >&2; exit 1; }
    sleep 0.2
  done
  echo "node$n did not answer /health" >&2; exit 1
}

start() {
  local nodes=3 seed=0 ha=0 netns=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes="$2"; shift 2 ;;
      --seed) seed=1; shift ;;
      --ha) ha=1; shift ;;
      --netns) netns=1; shift ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  if [ "$ha" = 1 ]; then
    command -v patroni >/dev/null && command -v etcd >/dev/null || { echo "Patroni or etcd is missing: tools/setup.sh --with-ha" >&2; exit 1; }
  fi
  [ "$netns" = 1 ] && [ "$(id -u)" != 0 ] && { echo "--netns needs root (ip netns)" >&2; exit 1; }
  [ -n "$pg_bin" ] || { echo "PostgreSQL is missing: tools/setup.sh --with-cluster" >&2; exit 1; }
  command -v haproxy >/dev/null || { echo "HAProxy is missing: tools/setup.sh --with-cluster" >&2; exit 1; }
  [ -e "$dir" ] && { echo "$dir exists: tools/cluster.sh stop first" >&2; exit 1; }
  mkdir -p "$dir/pg"; chmod 755 "$dir"
  binary >"$dir/bin"
  echo "$nodes" >"$dir/nodes"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
  if [ "$ha" = 1 ]; then
    touch "$dir/ha"
    [ "$netns" = 1 ] && { echo "$nodes" >"$dir/netns"; make_netns; }
    start_replicated_postgres
  else
    "${as_postgres[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -A trust -U postgres >"$dir/pg.log" 2>&1 \
      || { cat "$dir/pg.log" >&2; echo "initdb failed (can the postgres user reach $dir?)" >&2; exit 1; }
    "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c max_connections=200" start >>"$dir/pg.log"
    echo "PostgreSQL on 127.0.0.1:$pg_port"
  fi
  "${as_postgres[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE emporium" >>"$dir/pg.log"
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
    for n in $(seq 1 "$nodes"); do printf '  server node%s %s check inter 500 fall 2 rise 1\n' "$n" "$(node_address "$n")"; done
  } >"$dir/haproxy-http.cfg"
  haproxy -f "$dir/haproxy-http.cfg" -D -p "$dir/haproxy-http.pid"
  echo "HAProxy on 127.0.0.1:$port (the shop's address)"
}

# --ha: etcd, three PostgreSQL members under Patroni, and HAProxy in front of them (its port is the log of record's URL).
start_replicated_postgres() {
  mkdir -p "$dir/etcd"
  etcd --name etcd1 --data-dir "$dir/etcd/data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
    --initial-cluster "etcd1=http://127.0.0.1:$((etcd_port + 1))" >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  for m in $(seq 1 "$members"); do write_patroni_config "$m"; done
  start_member 1
  wait_for "a PostgreSQL primary" 120 primary_rest
  for m in $(seq 2 "$members"); do start_member "$m"; done
  {
    printf 'global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30m\n  timeout server 30m\n'
    printf 'listen postgres\n  bind 127.0.0.1:%s\n' "$pg_port"
    [ -f "$dir/netns" ] && printf '  bind %s:%s\n' "$ns_pg_host" "$pg_port"
    printf '  option httpchk GET /primary\n  http-check expect status 200\n'
    # A member is routed to once Patroni says it is the primary (/primary answers 200 only on the leader, running).
    printf '  default-server inter 500 fall 2 rise 1 on-marked-down shutdown-sessions\n'
    for m in $(seq 1 "$members"); do printf '  server pg%s 127.0.0.1:%s check port %s\n' "$m" $((pg_port + m)) $((rest_port + m)); done
  } >"$dir/haproxy-pg.cfg"
  haproxy -f "$dir/haproxy-pg.cfg" -D -p "$dir/haproxy-pg.pid"
  wait_for "a synchronous standby" 180 sync_standby_ready
  wait_for "HAProxy to route to the primary" 30 "${as_postgres[@]}" "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"
  echo "PostgreSQL: $members members under Patroni (synchronous, strict), HAProxy on 127.0.0.1:$pg_port to the primary"
}

write_patroni_config() {  # M
  local m=$1; mkdir -p "$dir/pg$m"; chmod 700 "$dir/pg$m"; chown postgres "$dir/pg$m"
  cat >"$dir/pg$m/patroni.yml" <<YAML
scope: emporium
name: pg$m
log: {level: WARNING}
restapi: {listen: 127.0.0.1:$((rest_port + m)), connect_address: 127.0.0.1:$((rest_port + m))}
etcd3: {hosts: 127.0.0.1:$etcd_port}
bootstrap:
  dcs:
    # ttl bounds how long a dead primary keeps the leader key: the failover time.
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    # Zero data loss: a commit is acknowledged once a synchronous standby has it, only a synchronous standby is
    # promoted, and with no standby left the primary stops acknowledging commits instead of going on alone.
    synchronous_mode: true
    synchronous_mode_strict: true
    synchronous_node_count: 1
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        synchronous_commit: "on"
        wal_level: replica
        wal_log_hints: "on"
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        wal_keep_size: 256MB
  initdb: [{encoding: UTF8}, data-checksums]
postgresql:
  listen: 127.0.0.1:$((pg_port + m))
  connect_address: 127.0.0.1:$((pg_port + m))
  data_dir: $dir/pg$m/data
  bin_dir: $pg_bin
  pgpass: $dir/pg$m/pgpass
  authentication:
    superuser: {username: postgres, password: postgres}
    replication: {username: replicator, password: replicator}
    rewind: {username: postgres, password: postgres}
  parameters: {unix_socket_directories: $dir/pg$m}
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication replicator 127.0.0.1/32 trust
YAML
  chown postgres "$dir/pg$m/patroni.yml"
}

patroni_pids() { pgrep -f "patroni $dir/pg$1/patroni.yml" || true; }  # the runuser wrapper's and Patroni's own

start_member() {  # M
  "${as_postgres[@]}" patroni "$dir/pg$1/patroni.yml" >>"$dir/pg$1/patroni.log" 2>&1 &
  echo $! >"$dir/pg$1/patroni.pid"
}

member_json() { curl -sf --max-time 1 "http://127.0.0.1:$((rest_port + $1))/patroni"; }
primary_rest() { for m in $(seq 1 "$members"); do curl -sf --max-time 1 "http://127.0.0.1:$((rest_port + m))/primary" >/dev/null && return 0; done; return 1; }
primary_member() { for m in $(seq 1 "$members"); do curl -sf --max-time 1 "http://127.0.0.1:$((rest_port + m))/primary" >/dev/null && { echo "$m"; return 0; }; done; return 1; }
cluster_json() { for m in $(seq 1 "$members"); do curl -sf --max-time 1 "http://127.0.0.1:$((rest_port + m))/cluster" && return 0; done; return 1; }
sync_standby_ready() { cluster_json | grep -q '"sync_standby"'; }

wait_for() {  # WHAT SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "gave up waiting for $what after ${seconds}s" >&2
  for log in "$dir"/pg*/patroni.log; do [ -f "$log" ] && { echo "== $log" >&2; tail -20 "$log" >&2; }; done
  exit 1
}

# A member's machine is lost: its Patroni and its postmaster die at once (kill -9), and nothing restarts them.
lose() {  # M
  local m=$1 pid; pid=$(head -1 "$dir/pg$m/data/postmaster.pid" 2>/dev/null || true)
  kill -9 $(patroni_pids "$m") ${pid:+"$pid"} 2>/dev/null || true
  touch "$dir/pg$m/lost"
  echo "killed pg$m: Patroni and postmaster"
}

failover() {
  local m; m=$(primary_member) || { echo "no primary to kill" >&2; exit 1; }
  echo -n "the primary: "; lose "$m"
}

# Only the primary's postmaster dies (kill -9); its Patroni lives on and decides: restart it in place, or fail over.
kill_postmaster() {
  local m; m=$(primary_member) || { echo "no primary to kill" >&2; exit 1; }
  kill -9 "$(head -1 "$dir/pg$m/data/postmaster.pid")"
  echo "killed pg$m's postmaster"
}

rejoin() {
  for m in $(seq 1 "$members"); do
    [ -f "$dir/pg$m/lost" ] || continue
    # The postmaster's children outlive it for a moment; a new postmaster must not find them.
    pkill -9 -f -- "-D $dir/pg$m/data" 2>/dev/null || true; pkill -9 -f -- "$dir/pg$m/data" 2>/dev/null || true
    rm -f "$dir/pg$m/lost"; start_member "$m"; echo "pg$m rejoins"
  done
}

make_netns() {
  remove_netns  # what an interrupted run left behind
  ip netns add "$ns_name"
  ip netns exec "$ns_name" ip link set lo up
  ip link add emporium-pg type veth peer name emporium-pg-n
  ip link add emporium-web type veth peer name emporium-web-n
  ip link set emporium-pg-n netns "$ns_name"; ip link set emporium-web-n netns "$ns_name"
  ip addr add "$ns_pg_host/30" dev emporium-pg; ip addr add "$ns_http_host/30" dev emporium-web
  ip link set emporium-pg up; ip link set emporium-web up
  ip netns exec "$ns_name" ip addr add "$ns_pg_node/30" dev emporium-pg-n
  ip netns exec "$ns_name" ip addr add "$ns_http_node/30" dev emporium-web-n
  ip netns exec "$ns_name" ip link set emporium-pg-n up
  ip netns exec "$ns_name" ip link set emporium-web-n up
}

remove_netns() {
  ip link del emporium-pg 2>/dev/null || true
  ip link del emporium-web 2>/dev/null || true
  ip netns del "$ns_name" 2>/dev/null || true
}

# The namespaced node's link to PostgreSQL goes down (or up): its packets are dropped, nothing is refused.
partition() { ip link set emporium-pg down; echo "node$(cat "$dir/netns") cut off from PostgreSQL"; }
heal() { ip link set emporium-pg up; echo "node$(cat "$dir/netns") reaches PostgreSQL again"; }

stop() {
  [ -d "$dir" ] || return 0
  for pid in "$dir"/haproxy*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  for pid in "$dir"/node*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  for pid in "$dir"/node*.pid; do [ -f "$pid" ] && while kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.1; done; done
  save_logs
  [ -d "$dir/pg/data" ] && "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  for m in $(seq 1 "$members"); do
    local pids; pids=$(patroni_pids "$m")
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
  done
  for m in $(seq 1 "$members"); do
    for _ in $(seq 1 100); do [ -n "$(patroni_pids "$m")" ] || break; sleep 0.1; done
    [ -d "$dir/pg$m/data" ] && "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$dir/pg$m/data" -m immediate -w stop >/dev/null 2>&1 || true
  done
  [ -f "$dir/etcd.pid" ] && kill "$(cat "$dir/etcd.pid")" 2>/dev/null || true
  [ -f "$dir/netns" ] && remove_netns
  rm -rf "$dir"
  echo "stopped"
}

status() {
  "$(cat "$dir/bin")" cluster status --log "$url"
  if [ -f "$dir/ha" ]; then cluster_json | python3 -m json.tool; fi
}

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
  stop_nodes_cleanly
}

# What the processes logged, kept beside CLUSTER_DIR when the cluster stops (read it when a check fails).
save_logs() {
  [ -d "$dir" ] || return 0
  rm -rf "$dir.logs"; mkdir -p "$dir.logs"
  cp "$dir"/*.log "$dir.logs/" 2>/dev/null || true
  for m in $(seq 1 "$members"); do [ -f "$dir/pg$m/patroni.log" ] && cp "$dir/pg$m/patroni.log" "$dir.logs/patroni$m.log"; done
  echo "logs kept in $dir.logs"
}

ha_smoke() {
  trap stop EXIT
  SEED_CUSTOMERS=${SEED_CUSTOMERS:-12} SEED_GOODS=${SEED_GOODS:-12} start --nodes 3 --seed --ha --netns
  python3 tools/failover.py --port "$port" --dir "$dir" --log "$url" --bin "$(cat "$dir/bin")" "$@"
  stop_nodes_cleanly
}

# Every node stops on SIGTERM without a crash (a node's exit after the faults is part of the check).
stop_nodes_cleanly() {
  for pid in "$dir"/node*.pid; do kill "$(cat "$pid")" 2>/dev/null || true; done
  for pid in "$dir"/node*.pid; do while kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.1; done; done
  local crashed
  crashed=$(grep -l "Fatal error\|Illegal instruction\|Segmentation" "$dir"/node*.log || true)
  if [ -n "$crashed" ]; then
    # The crash's own lines and what came just before, last: CI keeps the end of the output.
    for log in $crashed; do
      echo "--- $log, before the crash:" >&2
      grep -B 25 -A 15 "Fatal error\|Illegal instruction\|Segmentation" "$log" | cut -c1-400 >&2
    done
    echo "FAILED: a node crashed (above, the lines of its log around the crash)" >&2
    exit 1
  fi
  for n in $(seq 1 "$(cat "$dir/nodes")"); do
    grep -q "stopped log.position" "$dir/node$n.log" || { echo "FAILED: node$n did not stop cleanly" >&2; tail -20 "$dir/node$n.log" >&2; exit 1; }
  done
  echo "every node stopped cleanly"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  failover) failover ;;
  lose) lose "$2" ;;
  kill-postmaster) kill_postmaster ;;
  rejoin) rejoin ;;
  partition) partition ;;
  heal) heal ;;
  primary) primary_member ;;
  ha-smoke) shift; ha_smoke "$@" ;;
  kill) kill -9 "$(cat "$dir/node$2.pid")"; echo "killed node$2" ;;
  restart) start_node "$2" ;;
  smoke) smoke ;;
  *) sed -n '2,34p' "$0"; exit 2 ;;
esac
