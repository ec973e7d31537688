#!/usr/bin/env bash
# Two builds (or two settings of one) of emporium-log-bench against the PostgreSQL log, side by side:
# rounds alternating A and B (each first in every other round, since the
# second of two runs is often the slower), a fresh database each, 64
# appenders through N nodes. Prints events/s, p50, and PostgreSQL's CPU (every
# process of it) and the bench's own (its nodes and their appenders) per event
# over a steady window (1.5 s to 1 s before the end, read from /proc; events
# counted from the log's head). PostgreSQL is started
# here on 127.0.0.1 and stopped afterwards.
#
#   tools/bench-log-ab.sh A B                # two bench binaries (paths), 1 node, 6 rounds
#   tools/bench-log-ab.sh A B --nodes 3 --rounds 4
#   tools/bench-log-ab.sh A B --interfere-every-ms 100   # another node appending every 100 ms
#   tools/bench-log-ab.sh A "A --chains-kept-every 512"  # one build, two settings: a side is a binary and its flags
#   tools/bench-log-ab.sh "A --stream-per-append --revisit-after 300" "B …" --seconds 20  # longer runs (default 6 s)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
# A side: the bench binary (its path made absolute) and the flags after it, the same in every round.
side() {
  local words; read -r -a words <<< "$1"
  [ -x "${words[0]}" ] || { echo "no bench binary at ${words[0]}" >&2; exit 2; }
  echo "$(realpath "${words[0]}")${words[1]:+ ${words[*]:1}}"
}
a="$(side "$1")"; b="$(side "$2")"; shift 2
nodes=1
rounds=6
seconds=6
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --interfere-every-ms) extra+=(--interfere-every-ms "$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 4 ] || { echo "--seconds takes a whole number, 4 or more (the window is 1.5 s to 1 s before the end)" >&2; exit 2; }

source tools/pg/pg-lib.sh
pg_find_or_install
pg_work_dir
pg_start
tick=$(getconf CLK_TCK)

sample() {  # database, bench's pid → PostgreSQL's CPU ticks, head position, the bench's CPU ticks
  echo "$(pg_cpu_ticks) $(psql_ -d "$1" -At -c 'SELECT position FROM emporium_log_head') $(awk '{ print $14 + $15 }' "/proc/$2/stat")"
}
per_event() {  # ticks events → µs per event
  awk -v c="$1" -v t="$tick" -v e="$2" 'BEGIN { printf "%.1f", c * 1e6 / t / e }'
}

run() {  # label "binary flags…" round
  local db="ab_$3_${1,,}" command
  read -r -a command <<< "$2"
  psql_ -c "CREATE DATABASE $db" > /dev/null
  "${command[@]}" --seconds "$seconds" --workloads concurrent --nodes "$nodes" "${extra[@]}" --postgres "postgres://postgres@127.0.0.1:$port/$db" > "$work/out" 2>&1 &
  local bench=$!
  sleep 1.5; read -r c0 h0 n0 < <(sample "$db" "$bench")
  sleep "$(awk -v s="$seconds" 'BEGIN { print s - 2.5 }')"; read -r c1 h1 n1 < <(sample "$db" "$bench")
  wait "$bench"
  local line; line=$(grep '^pglog concurrent' "$work/out")
  local eps=${line#*events_per_s=}; eps=${eps%% *}
  local p50=${line#*p50_us=}; p50=${p50%% *}
  echo "round $3 $1 events_per_s=$eps p50_us=$p50 pg_cpu_us_per_event=$(per_event $((c1 - c0)) $((h1 - h0))) bench_cpu_us_per_event=$(per_event $((n1 - n0)) $((h1 - h0)))"
  grep '^#   concurrent: [0-9]* transactions' "$work/out" | sed "s/^#   concurrent:/#   round $3 $1:/" >&2
  psql_ -c "DROP DATABASE $db" > /dev/null
}

echo "# A = $a"
echo "# B = $b"
echo "# $nodes node(s), 64 appenders, $rounds rounds, PostgreSQL $(pg_version)${extra[*]:+, ${extra[*]}}"
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then run A "$a" "$round"; run B "$b" "$round"; else run B "$b" "$round"; run A "$a" "$round"; fi
done | tee "$work/rounds.txt"
awk '{ split($4, e, "="); split($6, c, "="); split($7, b, "="); n[$3]++; s[$3] += e[2]; u[$3] += c[2]; v[$3] += b[2] }
     END { printf "means: A %.0f events/s, CPU per event %.1f µs PostgreSQL, %.1f µs bench; B %.0f events/s, %.1f µs, %.1f µs; B/A %.2f×\n",
           s["A"] / n["A"], u["A"] / n["A"], v["A"] / n["A"], s["B"] / n["B"], u["B"] / n["B"], v["B"] / n["B"],
           (s["B"] / n["B"]) / (s["A"] / n["A"]) }' "$work/rounds.txt"
