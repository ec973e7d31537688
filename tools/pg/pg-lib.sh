# Sourced by the benchmarks: a throwaway PostgreSQL on 127.0.0.1 (fsync and
# synchronous_commit on), its data under "$work", stopped (and "$work"
# removed) when the script exits.

pg_find_or_install() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing PostgreSQL (Debian's package) for the peer benchmark…"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
      echo "PostgreSQL is not installed: sudo apt-get install -y postgresql" >&2; exit 1
    fi
  fi
}

pg_work_dir() {
  work=$(mktemp -d /var/tmp/emporium-bench.XXXXXX)
  chmod 755 "$work"
  pg_data="$work/pg"
  port=$((20000 + RANDOM % 20000))
  trap pg_stop EXIT
}

pg_stop() {
  if [ -f "$pg_data/postmaster.pid" ]; then runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}

pg_start() {
  mkdir -p "$pg_data" "$work/sock" && chown postgres "$pg_data" "$work/sock"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $work/sock -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=1GB -c max_wal_size=8GB ${pg_extra_options:-}" \
    start >/dev/null
}

# Clock ticks of CPU every PostgreSQL process has used so far, the backends that exited included (the postmaster reaps
# them, and its children's times add up in its own).
pg_cpu_ticks() {
  local postmaster total
  postmaster=$(head -n 1 "$pg_data/postmaster.pid")
  total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat")
  for pid in $(pgrep -P "$postmaster"); do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
  echo "$total"
}

pg_version() { "$pg_bin/postgres" --version | awk '{print $3}'; }

psql_() { psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q "$@"; }

# For the profiling tools: the log bench at $2 (a build's emporium-log-bench) checked, PostgreSQL started (with
# "$pg_extra_options", if set), database $1 created, and the bench's concurrent workload run against it for $3 seconds
# in the background, with the rest of the arguments as its flags: its output in "$work/bench.txt", its pid in $run.
pg_run_log_bench() {
  local db="$1" bench="$2" seconds="$3"; shift 3
  [ -x "$bench" ] || { echo "no bench binary at $bench (swift build -c release --product emporium-log-bench)" >&2; exit 2; }
  pg_find_or_install
  pg_work_dir
  pg_start
  psql_ -c "CREATE DATABASE $db" > /dev/null
  "$bench" --seconds "$seconds" --workloads concurrent --postgres "postgres://postgres@127.0.0.1:$port/$db" "$@" > "$work/bench.txt" 2>&1 &
  run=$!
}
