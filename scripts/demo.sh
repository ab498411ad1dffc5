#!/bin/sh
# make demo: a busybox container end to end with berth-runtime, on embedded
# defaults (berth-runtime spec), then clean up. Needs root.
set -eu
cd "$(dirname "$0")/.."
RUNTIME="$PWD/dist/bin/berth-runtime"
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
root="$work/state"
id="berth-demo-$$"
cleanup() {
  "$RUNTIME" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
  # never remove a directory that still has something mounted below it
  if ! grep -q " $work" /proc/self/mountinfo; then rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT INT TERM

echo "== a busybox rootfs from Debian's busybox-static"
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/bundle/rootfs/bin/$a"; done
mkdir -p "$work/bundle/rootfs/proc" "$work/bundle/rootfs/sys" "$work/bundle/rootfs/dev" "$work/bundle/rootfs/tmp"

echo "== berth-runtime spec (the same defaults as runc spec)"
cd "$work/bundle"
"$RUNTIME" spec
# no terminal for a scripted demo, and a command that shows where it runs
sed -i 's/"terminal": true/"terminal": false/' config.json
sed -i 's/^\t\t\t"sh"$/\t\t\t"sh", "-c", "echo \\"hello from $(hostname), I am pid $$ in my own namespaces\\"; echo; id; echo; cat \/proc\/self\/cgroup | head -3; echo; ls \/"/' config.json

echo "== berth-runtime run $id"
"$RUNTIME" --root "$root" run "$id"
echo "== exit status $?; the container is gone:"
"$RUNTIME" --root "$root" list
