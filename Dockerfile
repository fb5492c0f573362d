# syntax=docker/dockerfile:1
# hostnet-controller image: ghcr.io/hostnet-io/hostnet-controller:<version> (the default target)
#   docker build -t ghcr.io/hostnet-io/hostnet-controller:0.1.0 .
# Runs as the non-root user 65532 and writes nothing: a read-only root filesystem works.
# hostnet-agent image (docs/agent.md): the same base plus iptables and iproute2, run as root
#   docker build --target agent -t ghcr.io/hostnet-io/hostnet-agent:0.1.0 .

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: type-check and compile TypeScript, then bundle the entry points. tsconfig.json also
# compiles test/ and hack/ (hence the dev dependencies and those sources here); only the bundles
# (dist/bin/) go into the images.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY controller ./controller
COPY agent ./agent
COPY test ./test
COPY hack ./hack
# npm run build: tsc, then hack/bundle.ts writes the entry points as bundles to dist/bin/ (the
# image needs nothing else of dist/; the cloud SDKs are loaded from node_modules).
RUN npm run build \
 && test -f dist/bin/hostnet-controller.js && test -f dist/bin/hostnet-agent.js

# ---- agent: hostnet-agent, the host half. It needs iptables (iptables-save/-restore, both
# netfilter backends: the entry point picks the host's), ip and bridge (iproute2), and root (the
# host's netfilter and routes, the Docker socket). Defined before runtime so that the controller
# stays the default (last) target.
FROM ${NODE_IMAGE} AS agent
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="hostnet-agent" \
      org.opencontainers.image.description="The host half of hostnet-controller: the block's Docker network, forwarding, iptables chains and (direct routing) the routes to the peers." \
      org.opencontainers.image.source="https://github.com/hostnet-io/hostnet-controller" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && for m in legacy nft; do \
      d=/usr/local/lib/hostnet/iptables-$m; mkdir -p "$d"; \
      ln -s "/usr/sbin/iptables-$m" "$d/iptables"; \
      ln -s "/usr/sbin/iptables-$m-save" "$d/iptables-save"; \
      ln -s "/usr/sbin/iptables-$m-restore" "$d/iptables-restore"; \
    done
# Node options as in the controller's runtime stage below (why: there).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=2"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY --from=build /src/dist/bin ./dist/bin
COPY agent/deploy/image-entrypoint.sh /usr/local/bin/hostnet-agent
USER 0:0
# 9110: /metrics, 9111: /healthz and /readyz (--metrics-bind-address, --health-bind-address).
EXPOSE 9110 9111
ENTRYPOINT ["/usr/local/bin/hostnet-agent"]

# ---- runtime: production dependencies only, no compiler, no npm cache.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="hostnet-controller" \
      org.opencontainers.image.description="Gives each cloud host a container CIDR block and programs the Huawei Cloud / Open Telekom Cloud VPC route table." \
      org.opencontainers.image.source="https://github.com/hostnet-io/hostnet-controller" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
# --max-semi-space-size=2: a 2 MiB young generation keeps RSS near the live heap (issue 16; the
# benchmark runs the controller with the same options, hack/bench/scenarios.ts). No
# --enable-source-maps: it costs ~11 MiB of RSS, and the bundle keeps its function names (the
# maps are beside it: set NODE_OPTIONS=--enable-source-maps to read TypeScript lines).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=2"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY --from=build /src/dist/bin ./dist/bin
COPY crds ./crds
# Numeric IDs so Kubernetes' runAsNonRoot can verify them without /etc/passwd.
USER 65532:65532
# 8080: /metrics, 8081: /healthz and /readyz.
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/bin/hostnet-controller.js"]
