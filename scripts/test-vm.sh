#!/bin/sh
# scripts/test-vm.sh [PATTERN...]
#
# The VM lane: runs the jest tests whose paths match the PATTERNs inside a
# QEMU guest with a pure cgroup v2 hierarchy and device-mapper
# (scripts/vm/run-in-vm.sh), so the code paths this host (hybrid cgroups, no
# dm) cannot reach are proven for real. Without arguments it runs the default
# list below; a suite that needs the VM adds its pattern there.
# BERTH_VM_FULL=1: the snapshotter suites whole (see BERTH_SUITE_SKIP below).
#
# The guest runs 10-20x slower than this host (TCG), so the tests are bundled
# to plain JavaScript here first (esbuild, with inline source maps) and the
# guest's jest runs them without TypeScript. Exit status is jest's.
set -eu
cd "$(dirname "$0")/.."
root=$PWD

# One pattern per suite that needs the VM.
DEFAULT_PATTERNS="
test/runtime/cgroups-
test/runtime/resources
test/runtime/exec
test/supervisor/snapshots-devmapper
test/shim/lifecycle
test/shim/hibernate
"
patterns=${*:-$DEFAULT_PATTERNS}

# The snapshotter conformance suite's CI subset: under TCG the devmapper
# suite takes ~20 minutes whole, so the lane leaves out its two slowest
# checks (BERTH_SUITE_SKIP, read by snapshots/testsuite): 128LayersMount
# (~9 min: 128 thin snapshots, each an ext4 mount) and LayerFileupdate
# (~80 s: it sleeps across second boundaries, five layers deep). Layering,
# whiteouts, ownership, concurrency and restarts stay covered by the other
# 27 checks (~4.5 min). BERTH_VM_FULL=1 (make test-vm-full) runs every check.
if [ "${BERTH_VM_FULL:-0}" = 1 ]; then
  BERTH_SUITE_SKIP=
else
  BERTH_SUITE_SKIP=${BERTH_SUITE_SKIP-128LayersMount,LayerFileupdate}
fi
export BERTH_SUITE_SKIP

start=$(date +%s)
[ -x dist/berth-nsexec ] || make --no-print-directory native
out=dist/vm-tests
rm -rf "$out"
mkdir -p "$out"
# shellcheck disable=SC2086 # patterns are words
tests=$(node_modules/.bin/jest --listTests $patterns)
[ -n "$tests" ] || { echo "test-vm: no tests match: $patterns" >&2; exit 1; }
for t in $tests; do
  rel=${t#"$root"/}
  # lmdb loads its native addon relative to its own files: it stays in node_modules
  node_modules/.bin/esbuild --bundle --platform=node --target=node20 --sourcemap=inline --log-level=warning \
    --external:lmdb --external:msgpackr --external:msgpackr-extract '--external:@lmdb/*' \
    "$t" --outfile="$out/${rel%.ts}.js"
done
config=$(printf '{"rootDir":"%s","testMatch":["**/*.test.js"],"transform":{},"testEnvironment":"node","testTimeout":180000}' "$root/$out")
echo "test-vm: $(echo "$tests" | wc -l) test files bundled in $(($(date +%s) - start)) s; booting the VM" >&2

set +e
# The guest's CPU (QEMU's "max") is not the host's, and V8 refuses a start-up
# snapshot made for other CPU features: the binaries run from their plain bundles.
BERTH_NO_SNAPSHOT=1 BERTH_NSEXEC=$root/dist/berth-nsexec VM_ENV="${VM_ENV:-} BERTH_NSEXEC BERTH_NO_SNAPSHOT BERTH_SUITE_SKIP" scripts/vm/run-in-vm.sh "$root" \
  "exec node_modules/.bin/jest --ci --runInBand --verbose --config '$config'"
rc=$?
set -e
echo "test-vm: $(($(date +%s) - start)) s, exit $rc" >&2
exit $rc
