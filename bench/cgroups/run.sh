#!/bin/sh
# bench/cgroups/run.sh: events --stats latency, berth beside runc (see events-stats.ts).
# RUNS=N sets the number of measured runs (default 20).
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d /tmp/berth-bench-cgroups.XXXXXX)
trap 'rm -rf "$out"' EXIT
for f in events-stats stats-once; do
  node_modules/.bin/esbuild --bundle --platform=node --target=node20 --log-level=warning \
    "bench/cgroups/$f.ts" --outfile="$out/$f.js"
done
node "$out/events-stats.js" "$out/stats-once.js"
