#!/bin/sh
# Entry point of the agent image (Dockerfile, target agent): runs hostnet-agent with the iptables
# backend the host already uses. iptables inside a container must write the same netfilter
# backend as the host's Docker, or the agent's chains would land in tables nobody reads: the
# backend with more rules wins (Docker's own chains are there), nft when both are empty (Debian's
# default) — the approach of Kubernetes' iptables-wrapper. HOSTNET_IPTABLES_BACKEND=legacy|nft
# sets it. The choice goes onto PATH (links made at build time), so a read-only root works.
set -eu
mode=${HOSTNET_IPTABLES_BACKEND:-auto}
if [ "$mode" = auto ]; then
  legacy=$({ iptables-legacy-save 2>/dev/null || true; } | grep -c '^-' || true)
  nft=$({ iptables-nft-save 2>/dev/null || true; } | grep -c '^-' || true)
  if [ "$legacy" -gt "$nft" ]; then mode=legacy; else mode=nft; fi
fi
case "$mode" in
  legacy | nft) ;;
  *)
    echo "hostnet-agent image: HOSTNET_IPTABLES_BACKEND=$mode is not valid: want auto, legacy or nft" >&2
    exit 2
    ;;
esac
PATH="/usr/local/lib/hostnet/iptables-$mode:$PATH"
export PATH
exec node /app/dist/bin/hostnet-agent.js "$@"
