#!/bin/sh
# Runs bench/shim/bench.ts (bundled with esbuild): berth's shim beside
# containerd's runc shim on a private containerd. As root.
#   bench/shim/run.sh [all|idle|latency|many]     BENCH_N=100 BENCH_RUNS=7 BENCH_SAVE=file.md
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node_modules/.bin/esbuild --bundle --platform=node --target=node20 --log-level=warning \
  bench/shim/bench.ts --outfile="$out/bench.js"
# run from the repo so that the helpers find dist/ and scripts/
cp "$out/bench.js" bench/shim/.bench.js
trap 'rm -rf "$out" bench/shim/.bench.js' EXIT
node bench/shim/.bench.js "$@"
