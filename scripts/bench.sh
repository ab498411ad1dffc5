#!/bin/sh
# make bench: builds each benchmark under bench/ into dist/bench/ and runs it.
# A benchmark prints its own table (medians, ratios beside the peer).
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist/bench
for f in bench/*/*.ts; do
  case "$f" in bench/support/*) continue ;; esac
  name=$(echo "$f" | sed 's#^bench/##; s#\.ts$##; s#/#-#g')
  node_modules/.bin/esbuild "$f" --bundle --platform=node --target=node20 --log-level=warning \
    --external:lmdb --external:msgpackr --outfile="dist/bench/$name.js"
  echo "== $f"
  node "dist/bench/$name.js" "$@"
done
