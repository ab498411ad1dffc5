#!/bin/sh
# make test: the whole suite on this host, then the VM lane (pure cgroup v2 and
# device-mapper in a QEMU guest) when QEMU is available. BERTH_SKIP_VM=1 skips
# the lane (it still says so).
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
node_modules/.bin/jest --ci "$@"
echo "test: host suite passed in $(($(date +%s) - start)) s" >&2
if [ $# -eq 0 ]; then
  # The shim's end-to-end tests again with the shim hibernating after 200 ms
  # idle (default 30 s): every wake path — requests, output, stdin, exits,
  # restarts of containerd — is exercised, not just test/shim/hibernate.
  lap=$(date +%s)
  BERTH_SHIM_IDLE_EXIT=200 node_modules/.bin/jest --ci test/shim
  echo "test: shim suites through hibernation passed in $(($(date +%s) - lap)) s" >&2
fi
if [ -n "${BERTH_SKIP_VM:-}" ]; then
  echo "test: VM lane skipped (BERTH_SKIP_VM is set)" >&2
  exit 0
fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  echo "test: VM lane skipped: qemu-system-x86_64 is not installed and could not be (scripts/setup.sh)" >&2
  exit 0
fi
scripts/test-vm.sh
echo "test: all done in $(($(date +%s) - start)) s" >&2
