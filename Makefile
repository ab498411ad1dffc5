# berth — see README.md. Every target works on a fresh Debian 12 machine as root.
NODE_BIN := node_modules/.bin
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE
NATIVE_SRC := $(wildcard runtime/native/*.c)
NATIVE_HDR := $(wildcard runtime/native/*.h)

.PHONY: all setup build native generated bundle typecheck demo test test-unit test-vm test-vm-full bench clean

all: build

## setup: install the Debian and npm packages (only what is missing)
setup:
	@scripts/setup.sh

## build: the native helper, the type check and the bundles
build: setup native typecheck bundle

native: dist/berth-nsexec

dist/berth-nsexec: $(NATIVE_SRC) $(NATIVE_HDR)
	@mkdir -p dist
	$(CC) $(CFLAGS) -static -o $@ $(NATIVE_SRC)

generated:
	@node scripts/gen-spec-validator.mjs

typecheck: generated
	@$(NODE_BIN)/tsc -p tsconfig.json --noEmit

bundle: generated
	@node scripts/build.mjs

## demo: set up, build, and run a busybox container end to end
demo: build
	@scripts/demo.sh

## test: set up, build, then the whole test suite (and the VM lane where QEMU runs)
test: build
	@scripts/test.sh

## test-vm: the cgroup v2 and devicemapper tests inside a QEMU guest (the devmapper suite's CI subset)
test-vm: build
	@scripts/test-vm.sh

## test-vm-full: the same with every devmapper conformance check (128LayersMount too: ~20 min under TCG)
test-vm-full: build
	@BERTH_VM_FULL=1 VM_TIMEOUT=3600 scripts/test-vm.sh

## bench: the benchmarks under bench/, beside their peers
bench: build
	@scripts/bench.sh

clean:
	rm -rf dist
