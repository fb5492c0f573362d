#!/usr/bin/env bash
# hack/vpcnet.sh — rebuild the "containers on ECSs reach each other through the
# VPC route table" topology with real packets inside network namespaces.
#
#   hn-vpc          the VPC router / virtual switch: bridge br-vpc 192.168.0.1/24,
#                   one port vp-<host> per ECS NIC; its routes come ONLY from the
#                   emulator's route table (test/netns/vpc-sync.ts); it never
#                   decrements TTL (invisible to traceroute, like the real VPC);
#                   nft bridge rules model the per-port source/destination check.
#   hn-<host>       an ECS: eth0 192.168.0.x/24, default via 192.168.0.1,
#                   ip_forward=1, iptables -P FORWARD ACCEPT (VPCNET_BARE=1: neither,
#                   a fresh server for hostnet-agent and a real dockerd to set up).
#   hn-c-<host>     one "docker run" container on that ECS (see `host`).
#
# Everything lives in namespaces whose name starts with $VPCNET_PREFIX (default
# "hn-"). Nothing is created in the root namespace, no namespace has a link to
# the root namespace, no route/NAT leads out. See docs/netns.md.
#
# Usage: hack/vpcnet.sh up [NAME=IP ...]        (default ecs-1=192.168.0.2 ecs-2=192.168.0.3 ecs-3=192.168.0.4)
#        hack/vpcnet.sh host NAME BLOCK         (container bridge + one container from BLOCK, e.g. 10.0.2.0/24)
#        hack/vpcnet.sh host-clear NAME
#        hack/vpcnet.sh route-sync EMULATOR_URL [--interval MS] [--route-table ID]
#        hack/vpcnet.sh run EMULATOR_URL [NAME=BLOCK ...]   (up + hosts + route-sync; tears down on exit/Ctrl-C)
#        hack/vpcnet.sh down
#        hack/vpcnet.sh status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${VPCNET_PREFIX:-hn-}"
if [[ ! "$PREFIX" =~ ^[a-z][a-z0-9]{0,5}-$ ]]; then
  echo "vpcnet: VPCNET_PREFIX must match ^[a-z][a-z0-9]{0,5}-\$ (got '$PREFIX')" >&2
  exit 2
fi

VPC_NS="${PREFIX}vpc"
VPC_BR="br-vpc"
VPC_GW="192.168.0.1"
VPC_PLEN=24
VPC_NET_INT=$(( (192 << 24) | (168 << 16) ))   # 192.168.0.0
HOST_BR="br-net"        # "docker network create" bridge inside an ECS namespace
HOST_CVETH="vc-0"       # host side of the container's veth
DEFAULT_HOSTS=(ecs-1=192.168.0.2 ecs-2=192.168.0.3 ecs-3=192.168.0.4)
TTL_TABLE="hn_invisible_router"

log() { echo "vpcnet: $*" >&2; }
die() { echo "vpcnet: error: $*" >&2; exit 1; }

host_ns() { echo "${PREFIX}$1"; }
ctr_ns() { echo "${PREFIX}c-$1"; }
vpc_port() { echo "vp-$1"; }

# NAME: 1..12 chars so that "vp-NAME" fits IFNAMSIZ (15). "vpc" and "c-*" would
# collide with the router / container namespace names.
check_name() {
  local n="$1"
  [[ "$n" =~ ^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$ ]] || die "bad host name '$n' (1-12 chars [a-z0-9-])"
  [[ "$n" != "vpc" && "$n" != c-* ]] || die "host name '$n' is reserved"
}

ip2int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  for o in "$a" "$b" "$c" "$d"; do
    [[ "$o" =~ ^[0-9]{1,3}$ ]] && (( o <= 255 )) || die "bad IPv4 address '$1'"
  done
  echo $(( (a << 24) | (b << 16) | (c << 8) | d ))
}
int2ip() { local i=$1; echo "$(( (i >> 24) & 255 )).$(( (i >> 16) & 255 )).$(( (i >> 8) & 255 )).$(( i & 255 ))"; }

# ns_list: our namespaces only (exact prefix match)
ns_list() { ip netns list 2>/dev/null | awk '{print $1}' | sort | while read -r n; do [[ "$n" == "$PREFIX"* ]] && echo "$n"; done; true; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }

nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
nsysctl() { local ns="$1"; shift; local kv; for kv in "$@"; do nsx "$ns" sysctl -qw "$kv" >/dev/null; done; }

ensure_tools() {
  local -A pkg_of=([nft]=nftables [ping]=iputils-ping [traceroute]=traceroute [iptables]=iptables)
  local missing=() c
  for c in nft ping traceroute iptables; do
    command -v "$c" >/dev/null 2>&1 || missing+=("${pkg_of[$c]}")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing tools (${missing[*]}) and no apt-get"
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

kill_ns_pids() {
  # Only processes running inside our own namespaces (started by us/tests).
  local ns="$1" p
  for p in $(ip netns pids "$ns" 2>/dev/null || true); do kill -TERM "$p" 2>/dev/null || true; done
}

cmd_down() {
  local ns
  for ns in $(ns_list); do kill_ns_pids "$ns"; done
  for ns in $(ns_list); do ip netns del "$ns" 2>/dev/null || true; done
  if [[ -n "$(ns_list)" ]]; then sleep 0.2; for ns in $(ns_list); do ip netns del "$ns" 2>/dev/null || true; done; fi
  [[ -z "$(ns_list)" ]] || die "could not remove: $(ns_list | tr '\n' ' ')"
}

# Common per-namespace settings: quiet IPv6, no rp_filter, lo up.
ns_base() {
  local ns="$1"
  ip netns add "$ns"
  nsysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip -n "$ns" link set lo up
}

# The router never decrements TTL: +1 in prerouting (before ip_forward's -1).
# nft 1.0.x cannot do arithmetic on payload fields, so one rule per TTL value.
ttl_ruleset() {
  echo "table ip $TTL_TABLE {"
  echo "  chain pre {"
  echo "    type filter hook prerouting priority -300; policy accept;"
  echo "    fib daddr type local return"
  local t
  for ((t = 1; t <= 254; t++)); do echo "    ip ttl $t ip ttl set $((t + 1)) return"; done
  echo "  }"
  echo "}"
}

add_vpc_host() {
  local name="$1" ip="$2" ns port ipi
  check_name "$name"
  ipi=$(ip2int "$ip")
  (( (ipi & 0xFFFFFF00) == VPC_NET_INT )) || die "$name: $ip is not in 192.168.0.0/24"
  (( (ipi & 255) >= 2 && (ipi & 255) <= 254 )) || die "$name: $ip is reserved"
  ns=$(host_ns "$name"); port=$(vpc_port "$name")
  ns_exists "$ns" && die "$ns already exists"
  ns_base "$ns"
  # An ECS with Docker: forwarding on, FORWARD ACCEPT (the seed's step), and
  # no ICMP redirects accepted from the VPC gateway.
  # VPCNET_BARE=1: a fresh server instead (forwarding off, FORWARD policy as the kernel's),
  # for the agent's tests: dockerd and hostnet-agent set them as on a real host.
  if [[ "${VPCNET_BARE:-0}" == 1 ]]; then
    nsysctl "$ns" net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0
  else
    nsysctl "$ns" net.ipv4.ip_forward=1 net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0
  fi
  ip -n "$VPC_NS" link add "$port" type veth peer name eth0 netns "$ns"
  ip -n "$VPC_NS" link set "$port" master "$VPC_BR" up
  ip -n "$ns" addr add "$ip/$VPC_PLEN" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$VPC_GW" dev eth0
  [[ "${VPCNET_BARE:-0}" == 1 ]] || nsx "$ns" iptables -P FORWARD ACCEPT
  log "$ns: eth0 $ip/$VPC_PLEN <-> $VPC_NS:$port"
}

cmd_up() {
  local specs=("$@") s
  ((${#specs[@]})) || specs=("${DEFAULT_HOSTS[@]}")
  for s in "${specs[@]}"; do [[ "$s" == *=* ]] || die "expected NAME=IP, got '$s'"; check_name "${s%%=*}"; ip2int "${s#*=}" >/dev/null; done
  ensure_tools
  cmd_down
  trap 'log "up failed, cleaning up"; cmd_down' EXIT
  trap 'exit 130' INT TERM
  ns_base "$VPC_NS"
  # The VPC router: forwards, never sends redirects, bridged frames are not
  # fed to the IP hooks (bridge-nf-call-iptables may be 1 if br_netfilter is loaded).
  nsysctl "$VPC_NS" net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
    net.ipv4.conf.all.accept_redirects=0
  if nsx "$VPC_NS" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
    nsysctl "$VPC_NS" net.bridge.bridge-nf-call-iptables=0
  fi
  ip -n "$VPC_NS" link add "$VPC_BR" type bridge
  nsysctl "$VPC_NS" "net.ipv4.conf.$VPC_BR.send_redirects=0"
  ip -n "$VPC_NS" addr add "$VPC_GW/$VPC_PLEN" dev "$VPC_BR"
  ip -n "$VPC_NS" link set "$VPC_BR" up
  ttl_ruleset | nsx "$VPC_NS" nft -f -
  for s in "${specs[@]}"; do add_vpc_host "${s%%=*}" "${s#*=}"; done
  trap - EXIT INT TERM
  log "up: $VPC_NS (gateway $VPC_GW) + ${#specs[@]} hosts; VPC routes come from route-sync"
}

cmd_host_clear() {
  local name="$1" ns cns
  check_name "$name"
  ns=$(host_ns "$name"); cns=$(ctr_ns "$name")
  if ns_exists "$cns"; then kill_ns_pids "$cns"; ip netns del "$cns"; fi
  if ns_exists "$ns"; then ip -n "$ns" link del "$HOST_BR" 2>/dev/null || true; fi
}

cmd_host() {
  local name="$1" block="$2" ns cns addr plen neti mask gw ctr
  check_name "$name"
  [[ "$block" =~ ^([0-9.]+)/([0-9]{1,2})$ ]] || die "bad block '$block' (want a.b.c.d/len)"
  addr="${BASH_REMATCH[1]}"; plen="${BASH_REMATCH[2]}"
  (( plen >= 8 && plen <= 30 )) || die "block $block: prefix length must be 8..30"
  mask=$(( (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF ))
  neti=$(( $(ip2int "$addr") & mask ))
  # Safety: the block must not overlap the VPC subnet nor special ranges.
  local first=$(( neti >> 24 ))
  (( first != 0 && first != 127 && first < 224 )) || die "block $block: not a usable unicast range"
  local vmask=$(( (0xFFFFFFFF << (32 - (plen < VPC_PLEN ? plen : VPC_PLEN))) & 0xFFFFFFFF ))
  (( (neti & vmask) != (VPC_NET_INT & vmask) )) || die "block $block overlaps the VPC subnet 192.168.0.0/24"
  gw=$(int2ip $(( neti + 1 ))); ctr=$(int2ip $(( neti + 2 )))
  ns=$(host_ns "$name"); cns=$(ctr_ns "$name")
  ns_exists "$ns" || die "$ns does not exist (run up first)"
  cmd_host_clear "$name"
  trap 'log "host $name failed, cleaning up"; cmd_host_clear "$name"' EXIT
  trap 'exit 130' INT TERM
  # docker network create --subnet BLOCK  → bridge with the first address
  ip -n "$ns" link add "$HOST_BR" type bridge
  ip -n "$ns" addr add "$gw/$plen" dev "$HOST_BR"
  ip -n "$ns" link set "$HOST_BR" up
  # docker run --net my-net  → container with the second address
  ns_base "$cns"
  ip -n "$ns" link add "$HOST_CVETH" type veth peer name eth0 netns "$cns"
  ip -n "$ns" link set "$HOST_CVETH" master "$HOST_BR" up
  ip -n "$cns" addr add "$ctr/$plen" dev eth0
  ip -n "$cns" link set eth0 up
  ip -n "$cns" route add default via "$gw" dev eth0
  trap - EXIT INT TERM
  log "$cns: $ctr/$plen via $gw ($ns:$HOST_BR $(int2ip "$neti")/$plen)"
}

cmd_route_sync() {
  cd "$ROOT"
  local tsx="$ROOT/node_modules/.bin/tsx"
  [[ -x "$tsx" ]] || die "tsx not found (npm ci)"
  exec "$tsx" "$ROOT/test/netns/vpc-sync.ts" --emulator "$@"
}

cmd_run() {
  local url="$1"; shift
  local hosts=("$@") h
  ((${#hosts[@]})) || hosts=(ecs-1=10.0.2.0/24 ecs-2=10.0.3.0/24)
  cmd_up
  trap 'log "tearing down"; cmd_down' EXIT
  trap 'exit 130' INT TERM
  for h in "${hosts[@]}"; do ( cmd_host "${h%%=*}" "${h#*=}" ); done
  log "route-sync against $url (Ctrl-C tears everything down)"
  ( cd "$ROOT" && "$ROOT/node_modules/.bin/tsx" "$ROOT/test/netns/vpc-sync.ts" --emulator "$url" ) || true
}

cmd_status() {
  local ns
  if [[ -z "$(ns_list)" ]]; then echo "no ${PREFIX}* namespaces"; return 0; fi
  for ns in $(ns_list); do
    echo "== $ns"
    ip -n "$ns" -br addr show | grep -v '^lo ' | sed 's/^/  /'
    ip -n "$ns" route show | sed 's/^/  route: /'
  done
  if ns_exists "$VPC_NS"; then
    echo "== $VPC_NS source/destination check"
    nsx "$VPC_NS" nft list table bridge hn_srcdst 2>/dev/null | sed 's/^/  /' || echo "  (no rules yet: route-sync not run)"
  fi
}

usage() { sed -n '18,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

main() {
  [[ $EUID -eq 0 ]] || die "must run as root"
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    host) (($# == 2)) || usage; cmd_host "$1" "$2" ;;
    host-clear) (($# == 1)) || usage; cmd_host_clear "$1" ;;
    route-sync) (($# >= 1)) || usage; cmd_route_sync "$@" ;;
    run) (($# >= 1)) || usage; cmd_run "$@" ;;
    status) cmd_status ;;
    *) usage ;;
  esac
}

main "$@"
