#!/bin/sh
# Installs what berth needs on a fresh Debian 12 machine (as root): the Debian
# packages the build, the demo and the tests use, and the npm packages.
# Fast when everything is already there: it only asks apt for what is missing.
set -eu
cd "$(dirname "$0")/.."

# One line per need, so that the reason stays next to the package.
DEB_PACKAGES="
build-essential
busybox-static
runc
crun
containerd
iproute2
procps
btrfs-progs
dmsetup
attr
zstd
docker-registry
time
libseccomp-dev
python3
skopeo
umoci
openssl
dmsetup
"

# Only for the VM lane (make test runs it when QEMU is there): a failure here is not fatal.
OPTIONAL_PACKAGES="
qemu-system-x86
"

missing=""
for p in $DEB_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
fi

optional=""
for p in $OPTIONAL_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || optional="$optional $p"
done
if [ -n "$optional" ]; then
  echo "setup: installing optional Debian packages:$optional"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $optional >/dev/null 2>&1 ||
    echo "setup: could not install$optional; the VM lane will be skipped" >&2
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.berth-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
