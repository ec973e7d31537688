#!/usr/bin/env bash
# Installs what Emporium needs on a fresh Debian machine: LMDB (the event
# log's storage) and libpq (the PostgreSQL log of record's pipelined writes);
# with --with-postgres PostgreSQL (the tests of the PostgreSQL log, the peer
# benchmark); with --with-cluster PostgreSQL and HAProxy (tools/cluster.sh);
# with --with-ha also Patroni and etcd (tools/cluster.sh --ha, replicated
# PostgreSQL with failover); with --with-browser Chromium, its driver and a
# CJK font (tools/console.sh); with --with-bench PostgreSQL, HAProxy and wrk
# (tools/bench-http.sh --cluster, tools/bench-log.sh). Swift 6.2 or newer must
# already be installed.
set -euo pipefail
packages=(liblmdb-dev libpq-dev)
[ "${1:-}" = "--with-postgres" ] && packages+=(postgresql)
[ "${1:-}" = "--with-cluster" ] && packages+=(postgresql haproxy)
[ "${1:-}" = "--with-ha" ] && packages+=(postgresql haproxy patroni etcd-server iproute2)
[ "${1:-}" = "--with-bench" ] && packages+=(postgresql haproxy wrk)
[ "${1:-}" = "--with-browser" ] && packages+=(chromium chromium-driver fonts-noto-cjk)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""
  [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
fi
command -v swift >/dev/null || { echo "Swift is not on PATH: install Swift 6.2+ first" >&2; exit 1; }
