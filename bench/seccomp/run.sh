#!/bin/sh
# Seccomp compiler benchmark: berth's compiler beside libseccomp (as runc uses it)
# for the same profiles. Needs cc and libseccomp-dev. Usage: bench/seccomp/run.sh [RUNS]
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node_modules/.bin/esbuild --bundle --platform=node --log-level=error bench/seccomp/bench.ts --outfile="$out/bench.js"
node "$out/bench.js" "$@"
