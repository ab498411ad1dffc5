#!/bin/sh
# make bench: every benchmark under bench/, each beside its peer (medians and
# ratios; see each directory). A directory with its own run.sh (or run.mjs) is
# run through it; otherwise each of its .ts files is bundled and run.
#   scripts/bench.sh [DIR...]     e.g. scripts/bench.sh runtime shim
set -eu
cd "$(dirname "$0")/.."
dirs=${*:-$(cd bench && ls -d */ | tr -d / | grep -v '^support$')}
mkdir -p dist/bench
for d in $dirs; do
  echo "== bench/$d"
  if [ -x "bench/$d/run.sh" ]; then
    "bench/$d/run.sh"
  elif [ -f "bench/$d/run.mjs" ]; then
    node "bench/$d/run.mjs"
  else
    for f in bench/"$d"/*.ts; do
      name="$d-$(basename "$f" .ts)"
      node_modules/.bin/esbuild "$f" --bundle --platform=node --target=node20 --log-level=warning \
        --external:lmdb --external:msgpackr --outfile="dist/bench/$name.js"
      node "dist/bench/$name.js"
    done
  fi
done
