#!/usr/bin/env bash
# hack/host-tools.sh — the host-side tools of the agent's tests and demo: Debian's docker.io
# (dockerd, containerd, runc) and busybox-static, plus a busybox image tarball in the cache
# (no registry is reachable from the test machines: the image is made with `docker import`).
#
# Usage: hack/host-tools.sh [all|docker|busybox|image|path]
#   docker   installs docker.io when dockerd is missing (apt-get; root)      — reusable alone
#   busybox  installs busybox-static when /bin/busybox is missing (apt-get; root)
#   image    builds $HOSTNET_CACHE/images/busybox-rootfs.tar (a rootfs for `docker import`)
#   path     prints the image tarball's path
#   all      all of the above (default)
#
# Other scripts may `source hack/host-tools.sh` with HOST_TOOLS_LIB=1 and call
# host_tools_install_docker / host_tools_install_busybox (install-only functions).
# Environment: HOSTNET_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller).
set -euo pipefail

HOST_TOOLS_CACHE="${HOSTNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller}"
HOST_TOOLS_IMAGE_DIR="$HOST_TOOLS_CACHE/images"
HOST_TOOLS_IMAGE="$HOST_TOOLS_IMAGE_DIR/busybox-rootfs.tar"
# Applets linked in the image: what the tests and the demo run inside containers.
HOST_TOOLS_APPLETS=(sh ash ping traceroute ip ifconfig netstat nc httpd sleep cat echo ls hostname wget true false)

host_tools_log() { printf '[host-tools] %s\n' "$*" >&2; }

# apt-get install PKG... (root only); refreshes the package lists once when the first try fails.
host_tools_apt() {
  if [ "$(id -u)" != 0 ]; then host_tools_log "need root to apt-get install $* (run as root once, or install them yourself)"; return 1; fi
  command -v apt-get >/dev/null || { host_tools_log "no apt-get: install $* by hand"; return 1; }
  host_tools_log "installing $* (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >/dev/null
  fi
}

# dockerd + containerd + runc from Debian (docker.io 20.10). The package's own service is left
# stopped: tests start one dockerd per network namespace, each with its own data root and socket.
host_tools_install_docker() {
  if command -v dockerd >/dev/null && command -v containerd >/dev/null && command -v runc >/dev/null; then return 0; fi
  # policy-rc.d 101: apt must not start (or restart) the system's docker/containerd services.
  local prc=/usr/sbin/policy-rc.d created=0
  if [ "$(id -u)" = 0 ] && [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; created=1; fi
  local rc=0
  host_tools_apt docker.io || rc=$?
  [ "$created" = 1 ] && rm -f "$prc"
  return "$rc"
}

host_tools_install_busybox() {
  if [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx traceroute && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then return 0; fi
  host_tools_apt busybox-static
}

# A rootfs tarball holding bin/busybox and one symlink per applet; `docker import` makes it an image.
host_tools_build_image() {
  local stamp="$HOST_TOOLS_IMAGE.version" want
  want="$(/bin/busybox --help 2>&1 | head -1 || true) ${HOST_TOOLS_APPLETS[*]}"
  if [ -f "$HOST_TOOLS_IMAGE" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  mkdir -p "$HOST_TOOLS_IMAGE_DIR"
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/bin" "$tmp/etc" "$tmp/tmp" "$tmp/proc" "$tmp/sys" "$tmp/dev"
  cp /bin/busybox "$tmp/bin/busybox"
  local a; for a in "${HOST_TOOLS_APPLETS[@]}"; do ln -s busybox "$tmp/bin/$a"; done
  printf 'root:x:0:0:root:/:/bin/sh\n' >"$tmp/etc/passwd"
  printf 'root:x:0:\n' >"$tmp/etc/group"
  tar -C "$tmp" --owner=0 --group=0 -cf "$HOST_TOOLS_IMAGE.tmp" .
  rm -rf "$tmp"
  mv "$HOST_TOOLS_IMAGE.tmp" "$HOST_TOOLS_IMAGE"
  printf '%s' "$want" >"$stamp"
  host_tools_log "built $HOST_TOOLS_IMAGE"
}

[ "${HOST_TOOLS_LIB:-0}" = 1 ] && return 0

case "${1:-all}" in
  docker) host_tools_install_docker ;;
  busybox) host_tools_install_busybox ;;
  image) host_tools_install_busybox; host_tools_build_image ;;
  path) echo "$HOST_TOOLS_IMAGE" ;;
  all) host_tools_install_docker; host_tools_install_busybox; host_tools_build_image ;;
  *) echo "usage: hack/host-tools.sh [all|docker|busybox|image|path]" >&2; exit 2 ;;
esac
