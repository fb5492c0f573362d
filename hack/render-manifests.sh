#!/usr/bin/env bash
# Keeps the generated packaging artefacts in step with their sources:
#   crds/hostnet.io_hostnetworks.yaml         -> manifests/charts/hostnet-controller/crds/  (copy)
#   manifests/monitoring/prometheus-rules.yaml -> manifests/charts/hostnet-controller/files/ (copy)
#   manifests/monitoring/grafana-dashboard.json -> manifests/charts/hostnet-controller/files/ (copy)
#   the chart, default values                  -> manifests/install.yaml (helm template, plus the
#                                                 Namespace, for `kubectl apply -f`)
#
# Usage: hack/render-manifests.sh           write the files
#        hack/render-manifests.sh --check   write nothing; exit 1 with a diff when a committed file
#                                           is stale (CI)
#
# Uses the pinned helm from hack/tools.sh (built into the cache on first use), or $HELM if set.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chart_rel=manifests/charts/hostnet-controller
release=hostnet-controller
namespace=hostnet-system

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [ -n "${HELM:-}" ]; then
  helm=$HELM
else
  "$root/hack/tools.sh" helm
  helm="$("$root/hack/tools.sh" path)/helm"
fi

# The kube version the chart is rendered for: the one the project tests against. Passed explicitly
# because a `go install`-built helm assumes Kubernetes v1.20, below the chart's kubeVersion
# (>=1.27); the templates do not depend on it, so the output is the same for any allowed version.
kube_version=$(sed -n 's/^K8S_VERSION=//p' "$root/hack/tools.sh")

# source (relative to the repository) -> copy (relative to the repository)
copies=(
  "crds/hostnet.io_hostnetworks.yaml:$chart_rel/crds/hostnet.io_hostnetworks.yaml"
  "manifests/monitoring/prometheus-rules.yaml:$chart_rel/files/prometheus-rules.yaml"
  "manifests/monitoring/grafana-dashboard.json:$chart_rel/files/grafana-dashboard.json"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Render from a scratch copy of the chart with fresh copies of the sources, so --check sees what
# the files would be after a normal run.
mkdir -p "$work/chart"
cp -R "$root/$chart_rel/." "$work/chart/"
for pair in "${copies[@]}"; do
  src=${pair%%:*} dst=${pair#*:}
  if [ ! -f "$root/$src" ]; then
    echo "render-manifests: $src does not exist (the chart needs it; generate it first)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$work/chart/${dst#"$chart_rel"/}")"
  cp "$root/$src" "$work/chart/${dst#"$chart_rel"/}"
done

{
  cat <<EOF
# hostnet-controller: everything needed to run it with \`kubectl apply -f\`, rendered from the
# Helm chart manifests/charts/hostnet-controller with its default values by
# hack/render-manifests.sh. DO NOT EDIT: change the chart and re-run the script.
#
# Before applying, set the cloud settings in the Deployment's args (--cloud-provider,
# --cloud-region, --cloud-project-id, --cloud-vpc-id, ...) and create the credentials Secret:
#   kubectl create namespace $namespace
#   kubectl -n $namespace create secret generic $release-cloud-credentials \\
#     --from-file=access-key=./access-key --from-file=secret-key=./secret-key
# See docs/operations.md ("Install without Helm").
---
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    app.kubernetes.io/name: hostnet-controller
    app.kubernetes.io/part-of: hostnet-controller
    pod-security.kubernetes.io/enforce: restricted
EOF
  "$helm" template "$release" "$work/chart" --namespace "$namespace" --include-crds \
    --kube-version "${kube_version:-v1.33.0}"
} >"$work/install.yaml"

stale=0
compare() { # committed-file rendered-file
  if $check; then
    if ! diff -u --label "$1 (committed)" --label "$1 (rendered)" "$root/$1" "$2" 2>/dev/null; then
      [ -f "$root/$1" ] || echo "render-manifests: $1 is missing" >&2
      stale=1
    fi
  elif ! cmp -s "$2" "$root/$1"; then
    mkdir -p "$(dirname "$root/$1")"
    cp "$2" "$root/$1"
    echo "render-manifests: wrote $1" >&2
  fi
}

for pair in "${copies[@]}"; do
  dst=${pair#*:}
  compare "$dst" "$work/chart/${dst#"$chart_rel"/}"
done
compare manifests/install.yaml "$work/install.yaml"

if [ "$stale" != 0 ]; then
  echo "render-manifests: generated files are stale; run hack/render-manifests.sh and commit the result" >&2
  exit 1
fi
if $check; then echo "render-manifests: up to date" >&2; fi
