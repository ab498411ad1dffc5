#!/bin/sh
# Runs bench/snapshots/bench.ts (as root): bundles it with esbuild, then node.
# RUNS=7 OPS=20 bench/snapshots/run.sh
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx esbuild bench/snapshots/bench.ts --bundle --platform=node --target=node20 --log-level=warning \
  --external:lmdb --external:msgpackr --external:msgpackr-extract '--external:@lmdb/*' --outfile="$out/bench.js"
BERTH_PROTO_DIR="$PWD/proto" NODE_PATH="$PWD/node_modules" node "$out/bench.js"
