#!/usr/bin/env bash
# Provides the pinned third-party tools that tests, the demo and the benchmark need, in a cache
# directory outside the repository, and reuses them when they are already there:
#   kube-apiserver, kubectl  built from k8s.io/kubernetes (hack/k8s-tools/go.mod pins every byte)
#   helm                     built with `go install helm.sh/helm/v3/cmd/helm@<version>`
#   etcd                     Debian's etcd-server package, unpacked (not installed) into the cache
#   prometheus, promtool     Debian's prometheus package, unpacked the same way
#   kubelet, kube-scheduler, kube-controller-manager, pause
#                            only with `cluster` (the one-node cluster of test/cluster/): built
#                            from the same module; pause statically from the module's pause.c
#
# Usage: hack/tools.sh [all|k8s|helm|etcd|prometheus|cluster|path|clean]
#   path   prints the bin directory (for PATH)
#   clean  removes the cache (the Go module and build caches are left alone)
#
# Environment: HOSTNET_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller).
set -euo pipefail

K8S_VERSION=v1.33.13
HELM_VERSION=v3.18.6
ETCD_DEB_VERSION=3.4.23-4+b4
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${HOSTNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller}
bin=$cache/bin
mkdir -p "$bin"

log() { printf '[tools] %s\n' "$*" >&2; }

# A stamp file per tool records the version it was built at, so a version bump rebuilds.
fresh() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { printf '%s' "$2" >"$bin/.$1.version"; }

need_go() {
  command -v go >/dev/null || { log "Go is needed to build the control plane (the Go toolchain ships on this machine kind)"; exit 1; }
}

build_k8s() { # [commands...] (default: kube-apiserver kubectl)
  local cmds=("$@"); [ ${#cmds[@]} -gt 0 ] || cmds=(kube-apiserver kubectl)
  local all_fresh=1 cmd
  for cmd in "${cmds[@]}"; do fresh "$cmd" "$K8S_VERSION" || all_fresh=0; done
  [ $all_fresh = 1 ] && return
  need_go
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  for cmd in "${cmds[@]}"; do
    fresh "$cmd" "$K8S_VERSION" && continue
    log "building $cmd $K8S_VERSION from the official modules (first run only: several minutes)"
    local start=$SECONDS
    (cd "$here/k8s-tools" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$bin/$cmd.tmp" "$bin/$cmd"
    stamp "$cmd" "$K8S_VERSION"
    log "built $cmd in $((SECONDS - start))s"
  done
}

# The sandbox ("pause") image's program: registry.k8s.io cannot be reached, so it is built from
# the source the pinned module ships, statically (the image holds nothing else).
build_pause() {
  fresh pause "$K8S_VERSION" && return
  need_go
  command -v gcc >/dev/null || { log "gcc and libc6-dev are needed to build the pause program"; exit 1; }
  local src
  src=$(cd "$here/k8s-tools" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  [ -f "$src" ] || (cd "$here/k8s-tools" && GOFLAGS=-mod=mod go mod download k8s.io/kubernetes)
  log "building pause $K8S_VERSION (static)"
  gcc -Os -static -Wall -Werror -DVERSION="$K8S_VERSION" -o "$bin/pause.tmp" "$src"
  strip "$bin/pause.tmp"
  mv "$bin/pause.tmp" "$bin/pause"
  stamp pause "$K8S_VERSION"
}

build_helm() {
  # Helm's idea of the cluster version for `helm template`/lint comes from link-time variables;
  # without them it assumes v1.20 and refuses the chart's kubeVersion (>=1.27).
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local stampv="$HELM_VERSION+k8s1.$minor"
  fresh helm "$stampv" && return
  need_go
  log "building helm $HELM_VERSION"
  local start=$SECONDS ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  GOBIN="$bin" GOFLAGS= go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  stamp helm "$stampv"
  log "built helm in $((SECONDS - start))s"
}

# Unpacks a Debian package into the cache without installing it, so no root is needed once the
# .deb is fetched and the system is left as it was.
unpack_deb() { # package version dest
  local pkg=$1 version=$2 dest=$3 tmp
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download "$pkg=$version" >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then
      log "refreshing Debian's package lists (apt-get update)"
      apt-get update -qq >/dev/null
    fi
    (cd "$tmp" && apt-get download "$pkg=$version" >/dev/null) || {
      log "could not fetch $pkg=$version from Debian (run 'apt-get update' as root once, then retry)"; exit 1; }
  fi
  rm -rf "$dest"; mkdir -p "$dest"
  dpkg-deb -x "$tmp"/*.deb "$dest"
  rm -rf "$tmp"
}

get_etcd() {
  fresh etcd "$ETCD_DEB_VERSION" && return
  log "fetching etcd (Debian etcd-server $ETCD_DEB_VERSION)"
  unpack_deb etcd-server "$ETCD_DEB_VERSION" "$cache/deb/etcd"
  ln -sf "$cache/deb/etcd/usr/bin/etcd" "$bin/etcd"
  stamp etcd "$ETCD_DEB_VERSION"
}

get_prometheus() {
  fresh prometheus "$PROMETHEUS_DEB_VERSION" && fresh promtool "$PROMETHEUS_DEB_VERSION" && return
  log "fetching prometheus and promtool (Debian prometheus $PROMETHEUS_DEB_VERSION)"
  unpack_deb prometheus "$PROMETHEUS_DEB_VERSION" "$cache/deb/prometheus"
  ln -sf "$cache/deb/prometheus/usr/bin/prometheus" "$bin/prometheus"
  ln -sf "$cache/deb/prometheus/usr/bin/promtool" "$bin/promtool"
  stamp prometheus "$PROMETHEUS_DEB_VERSION"
  stamp promtool "$PROMETHEUS_DEB_VERSION"
}

case "${1:-all}" in
  all) get_etcd; get_prometheus; build_k8s; build_helm; "$here/moto.sh" install ;;
  k8s) build_k8s ;;
  helm) build_helm ;;
  etcd) get_etcd ;;
  prometheus) get_prometheus ;;
  cluster) build_k8s kubelet kube-scheduler kube-controller-manager; build_pause ;;
  path) echo "$bin" ;;
  clean) log "removing $cache"; rm -rf "$cache" ;;
  *) echo "usage: $0 [all|k8s|helm|etcd|prometheus|cluster|path|clean]" >&2; exit 2 ;;
esac
