#!/usr/bin/env bash
# Builds a Debian package of Emporium for servers: a release binary with the
# Swift runtime linked in (--static-swift-stdlib: no toolchain needed where it
# runs), a systemd unit and a default config.
#
#   tools/package.sh            # build .build-package/emporium_<version>_<arch>.deb
#   tools/package.sh --check    # build, then check it: no Swift runtime library linked (ldd),
#                               # dpkg -i, `emporium --version` and a short serve from /usr/bin, dpkg --purge
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  --check) check=true ;;
  -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
  "") ;;
  *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
esac

scratch=.build-package
started=$(date +%s)
swift build -c release --static-swift-stdlib --product emporium --scratch-path "$scratch" >/dev/null
binary="$scratch/release/emporium"
echo "built $binary in $(( $(date +%s) - started )) s"

version=$("$binary" --version)
arch=$(dpkg --print-architecture)
root="$scratch/deb/emporium_${version}_${arch}"
rm -rf "$root"
install -D -m 0755 "$binary" "$root/usr/bin/emporium"
strip --strip-unneeded "$root/usr/bin/emporium"
install -D -m 0644 tools/package/emporium.service "$root/lib/systemd/system/emporium.service"
install -D -m 0644 tools/package/emporium.env "$root/etc/emporium/emporium.env"
install -d "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: emporium
Version: $version
Architecture: $arch
Maintainer: Emporium developers <dev@emporium.invalid>
Depends: liblmdb0, libpq5, libc6, libstdc++6, libgcc-s1
Section: web
Priority: optional
Description: event-sourced commerce engine
 Users, goods, carts, coupons, orders, payments, points and reviews as an
 append-only event log (LMDB), with search, recommendations, analytics,
 replay and audit. Runs as the emporium service (emporium.service).
CONTROL
echo "/etc/emporium/emporium.env" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent group emporium >/dev/null || groupadd --system emporium
  getent passwd emporium >/dev/null || useradd --system --gid emporium --home-dir /var/lib/emporium --no-create-home --shell /usr/sbin/nologin emporium
  install -d -o emporium -g emporium -m 0750 /var/lib/emporium
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then systemctl stop emporium.service >/dev/null 2>&1 || true; fi
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
package="$scratch/emporium_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group "$root" "$package" >/dev/null
echo "packaged $package ($(du -h "$package" | cut -f1))"

$check || exit 0

echo "== checking $package"
linked=$(ldd "$root/usr/bin/emporium")
echo "$linked" | sed 's/^/  /'
if echo "$linked" | grep -E -q 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_Foundation|libicu'; then
  echo "FAILED: the binary links a Swift runtime library" >&2
  exit 1
fi
sudo_=""
[ "$(id -u)" = 0 ] || sudo_="sudo"
command -v curl >/dev/null || $sudo_ apt-get install -y -qq curl >/dev/null
$sudo_ dpkg -i "$package" >/dev/null
trap '$sudo_ dpkg --purge emporium >/dev/null 2>&1 || true' EXIT
installed=$(/usr/bin/emporium --version)
[ "$installed" = "$version" ] || { echo "FAILED: /usr/bin/emporium --version says $installed, not $version" >&2; exit 1; }
data=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
/usr/bin/emporium serve --data-dir "$data" --port "$port" --log-format json >"$data/out.txt" 2>"$data/err.txt" &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >"$data/health.json" 2>/dev/null && break
  sleep 0.1
done
grep -q "\"version\":\"$version\"" "$data/health.json" || { echo "FAILED: no healthy answer from the installed server" >&2; cat "$data/err.txt" >&2; exit 1; }
kill -TERM "$server"
wait "$server"
echo "installed $package: emporium $installed served /health and stopped cleanly on SIGTERM"
rm -rf "$data"
