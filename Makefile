# The front door. On a fresh machine `make demo` and `make test` are the only two commands a
# person types: every target installs what it needs (npm packages, the control-plane binaries).
SHELL := /bin/bash
.DEFAULT_GOAL := help

NPM_STAMP := node_modules/.package-lock.json

.PHONY: help
help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-14s %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## Install the npm packages (npm ci)

.PHONY: tools
tools: ## Build or fetch kube-apiserver, etcd, kubectl, helm, prometheus into the cache
	hack/tools.sh all

.PHONY: image
image: ## Build the controller image and the agent image (--target agent) from Dockerfile (a dockerd of its own; local base when Docker Hub is unreachable)
	hack/image.sh build

.PHONY: build
build: deps ## Compile TypeScript to dist/
	npx tsc -p tsconfig.json

.PHONY: lint
lint: deps ## ESLint and the TypeScript type check
	npx eslint .
	npx tsc -p tsconfig.json --noEmit

.PHONY: test
test: lint tools image ## Every suite: unit, integration (real kube-apiserver), end-to-end, the one-node cluster
	hack/tools.sh cluster
	npx mocha

.PHONY: demo
demo: deps tools ## Control plane + VPC emulator + controller on local defaults, until Ctrl-C
	npx tsx hack/demo.ts

.PHONY: demo-cluster
demo-cluster: deps tools image ## The demo on a one-node cluster: the chart installed as real pods of the image (root)
	hack/tools.sh cluster
	npx tsx hack/demo.ts --with-node

.PHONY: emulator
emulator: deps ## The VPC API emulator alone, with the seed topology
	npx tsx test/emulator/main.ts --seed --port 18080

.PHONY: bench
bench: deps tools ## Convergence, cloud-call economy and memory at 100/1,000/5,000 hosts
	npx tsx hack/bench.ts

MINUTES ?= 10
.PHONY: soak
soak: deps tools ## Chaos soak (not in make test): MINUTES=10 of faults and kills, ARGS="--hosts 300 --seed N --report FILE"
	npx tsx hack/soak.ts --minutes $(MINUTES) $(ARGS)

.PHONY: clean
clean: ## Remove build output
	rm -rf dist

.PHONY: clean-cache
clean-cache: ## Remove the tool cache (the control-plane binaries)
	hack/tools.sh clean
