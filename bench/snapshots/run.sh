#!/bin/sh
# Runs bench/snapshots/bench.ts (as root): bundles it with esbuild into dist/
# (so that the test support finds the repository and dist/berthd.js), then node.
# RUNS=7 OPS=20 [BENCH_ONLY=chain] bench/snapshots/run.sh
set -eu
cd "$(dirname "$0")/../.."
[ -f dist/berthd.js ] || node scripts/build.mjs
npx esbuild bench/snapshots/bench.ts --bundle --platform=node --target=node20 --log-level=warning \
  --external:lmdb --external:msgpackr --external:msgpackr-extract '--external:@lmdb/*' --outfile=dist/bench-snapshots.js
BERTH_PROTO_DIR="$PWD/proto" NODE_PATH="$PWD/node_modules" node dist/bench-snapshots.js
