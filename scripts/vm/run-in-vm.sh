#!/usr/bin/env bash
# shellcheck disable=SC2054 # qemu options contain commas
# scripts/vm/run-in-vm.sh DIR COMMAND
#
# berth's VM lane: boots a throwaway QEMU guest on a stock Debian kernel
# (which has what the sandbox kernel lacks: device-mapper, a pure cgroup v2
# hierarchy) and runs COMMAND (a shell string) there as root, in DIR.
#
#  - The guest's / is the host's / over 9p, read-only, under a tmpfs
#    overlay: every tool installed here (node, busybox, runc, dmsetup) works
#    inside; writes outside DIR vanish at power-off. /tmp, /run are fresh.
#  - DIR is shared read-write at the same absolute path.
#  - cgroup v2 only (cgroup_no_v1=all), every controller enabled for the
#    root's children, as on a systemd host.
#  - COMMAND's output comes back on stdout; the exit code is COMMAND's, 124
#    when VM_TIMEOUT passes, 125 when the VM itself failed.
#
# The kernel package (what Debian's linux-image-amd64 points at) and the
# initramfs are built once and cached under $VM_CACHE (default
# /var/tmp/berth-vm). Knobs: VM_MEM (MiB, 2048), VM_SMP (2), VM_TIMEOUT
# (seconds, 1800), VM_MODULES (loaded before COMMAND), VM_SCRATCH_GB (a sparse
# ext4 disk at /scratch), VM_ENV (names of env vars to pass in), VM_RO_SUBDIRS
# (subdirectories of DIR the guest only reads, attached as read-only disk
# images; default node_modules), VM_VERBOSE=1.
#
# Model: /work/shared/tools/run-in-vm.sh (the recipe berth's lane follows).
set -euo pipefail

[ $# -eq 2 ] || { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[ -d "$1" ] || { echo "run-in-vm: not a directory: $1" >&2; exit 2; }
SHARE=$(cd "$1" && pwd -P)
CMD=$2
case $SHARE in / | /tmp | /var | /var/tmp | /run | /dev | /proc | /sys | /usr | /etc)
  echo "run-in-vm: DIR may not be $SHARE (the guest mounts its own there)" >&2; exit 2 ;;
esac

CACHE=${VM_CACHE:-/var/tmp/berth-vm}
MEM=${VM_MEM:-2048}
SMP=${VM_SMP:-2}
TIMEOUT=${VM_TIMEOUT:-1800}
MODULES=${VM_MODULES-loop dm_mod dm_thin_pool overlay btrfs}
VERBOSE=${VM_VERBOSE:-0}

say() { if [ "$VERBOSE" = 1 ]; then echo "run-in-vm: $*" >&2; fi; }
die() { echo "run-in-vm: $*" >&2; exit 125; }

RUN='' STAGING='' QPID=''
cleanup() {
  if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; wait "$QPID" 2>/dev/null || true; fi
  if [ -n "$RUN" ]; then rm -rf "$RUN"; fi
  if [ -n "$STAGING" ]; then rm -rf "$STAGING"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

apt_get() {
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; } ||
    die "cannot apt-get install $*"
}
command -v qemu-system-x86_64 >/dev/null || apt_get qemu-system-x86
BB=$(command -v busybox || true)
[ -n "$BB" ] || { apt_get busybox-static; BB=$(command -v busybox); }
command -v flock >/dev/null || die "flock (util-linux) is missing"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one builder of the cache at a time; released before the VM runs

# ---------------------------------------------------------------- kernel
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
KPKG=${VM_KERNEL_PKG:-}
[ -n "$KPKG" ] || { [ -s "$CACHE/kernel-pkg" ] && KPKG=$(cat "$CACHE/kernel-pkg"); } || true
if [ -z "$KPKG" ]; then
  KPKG=$(kernel_pkg)
  [ -n "$KPKG" ] || { apt-get update -q >/dev/null 2>&1 || true; KPKG=$(kernel_pkg); }
  [ -n "$KPKG" ] || die "cannot tell which Debian kernel package to use"
  echo "$KPKG" >"$CACHE/kernel-pkg"
fi
KDIR=$CACHE/$KPKG
if [ ! -e "$KDIR/.complete" ]; then
  say "fetching $KPKG"
  rm -rf "$KDIR" "$KDIR.tmp"
  STAGING=$KDIR.tmp
  mkdir -p "$STAGING/dl"
  (cd "$STAGING/dl" && apt-get download "$KPKG" >/dev/null 2>&1) ||
    { apt-get update -q >/dev/null 2>&1; (cd "$STAGING/dl" && apt-get download "$KPKG" >/dev/null 2>&1); } ||
    die "apt-get download $KPKG failed"
  dpkg -x "$STAGING"/dl/*.deb "$STAGING/x"
  kv=$(ls "$STAGING/x/lib/modules")
  mods=$STAGING/x/lib/modules/$kv/kernel
  # hardware a VM never has (keeps the cache small and depmod fast)
  rm -rf "$mods"/drivers/{gpu,media,net/wireless,net/ethernet,infiniband,staging,bluetooth,iio,usb,hid,input,platform,mtd,isdn,misc} \
    "$mods"/sound "$mods"/net/{bluetooth,wireless,mac80211}
  "$BB" depmod -b "$STAGING/x" "$kv"
  mkdir -p "$STAGING/k/lib"
  mv "$STAGING/x/boot/vmlinuz-$kv" "$STAGING/k/vmlinuz"
  mv "$STAGING/x/lib/modules" "$STAGING/k/lib/modules"
  echo "$kv" >"$STAGING/k/kver"
  touch "$STAGING/k/.complete"
  mv -T "$STAGING/k" "$KDIR"
  rm -rf "$STAGING"
  STAGING=
fi
KVER=$(cat "$KDIR/kver")
MODROOT=$KDIR/lib/modules/$KVER

# ---------------------------------------------------------------- initramfs
# Stage 1 (/init in the initramfs): 9p and overlay up, the host's / as the
# new root under a tmpfs overlay, cgroup2, DIR, then switch_root to stage 2.
read -r -d '' STAGE1 <<'EOF' || true
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
fail() { echo "berth vm stage1: $*"; sync; poweroff -f; }
modprobe -a virtio_pci 9pnet_virtio 9p overlay virtio_rng virtio_blk virtio_console || fail modprobe
O=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $O ctl /ctl || fail "mount ctl"
. /ctl/env
mount -t 9p -o $O,ro,cache=loose hostroot /host || fail "mount host root"
mount -t tmpfs -o mode=755 rw /rw && mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work root /newroot || fail "overlay root"
R=/newroot
mount --move /proc $R/proc; mount --move /sys $R/sys; mount --move /dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t tmpfs -o mode=1777,size=75% tmp $R/tmp
mount -t tmpfs -o mode=1777 vartmp $R/var/tmp
mount -t tmpfs -o mode=755 run $R/run
mkdir -p $R/run/berth-vm $R/usr/lib/modules/$(uname -r) $R/usr/local/sbin
mount --move /ctl $R/run/berth-vm
mount --bind /host$VM_MODROOT $R/usr/lib/modules/$(uname -r) || fail modules
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || fail cgroup2
mkdir -p $R$VM_DIR
mount -t 9p -o $O,cache=mmap work $R$VM_DIR || fail "mount $VM_DIR"
mkdir -p $R/run/berth-vm-bin && cp /bin/busybox $R/run/berth-vm-bin/busybox
for a in modprobe insmod rmmod lsmod depmod; do [ -e $R/usr/sbin/$a ] || ln -sf /run/berth-vm-bin/busybox $R/usr/local/sbin/$a; done
cp /stage2 $R/run/berth-vm-stage2
hostname berth-vm
ip link set lo up
exec switch_root $R /run/berth-vm-bin/busybox sh /run/berth-vm-stage2
EOF

# Stage 2 (PID 1 in the real root): modules, controllers, scratch disk, then
# COMMAND; its exit status goes to the shared ctl dir, then power off.
read -r -d '' STAGE2 <<'EOF' || true
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
. /run/berth-vm/env
BB=/run/berth-vm-bin/busybox
OUT=/dev/console; [ -c /dev/hvc0 ] && OUT=/dev/hvc0
exec >$OUT 2>&1
$BB stty -F $OUT -onlcr 2>/dev/null
[ -x /usr/sbin/modprobe ] || echo /usr/local/sbin/modprobe >/proc/sys/kernel/modprobe
for m in $VM_MODULES; do $BB modprobe $m || echo "berth vm: modprobe $m failed"; done
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; done
$BB modprobe ext4 2>/dev/null
for m in $VM_RO_MOUNTS; do # sub:device — a read-only ext4 image of DIR/sub
  mount -t ext4 -o ro,noload /dev/${m#*:} "$VM_DIR/${m%%:*}" || echo "berth vm: cannot mount ${m%%:*}"
done
if [ -n "$VM_SCRATCH_DEV" ] && [ -b /dev/$VM_SCRATCH_DEV ]; then
  mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 /dev/$VM_SCRATCH_DEV && mkdir -p /scratch && mount /dev/$VM_SCRATCH_DEV /scratch
fi
[ "$VM_VERBOSE" = 1 ] && echo "berth vm: ready after $(cut -d' ' -f1 /proc/uptime)s"
export VM_LANE=1 DM_DISABLE_UDEV=1
cd "$VM_DIR"
setsid /bin/sh /run/berth-vm/cmd.sh </dev/null &
wait $!
rc=$?
echo $rc >/run/berth-vm/rc
[ "$VM_VERBOSE" = 1 ] && echo "berth vm: command exited $rc after $(cut -d' ' -f1 /proc/uptime)s"
kill -TERM -1 2>/dev/null; sleep 0.2; kill -KILL -1 2>/dev/null
sync; umount "$VM_DIR" 2>/dev/null
$BB poweroff -f
EOF

BOOT_MODULES="virtio_pci 9pnet_virtio 9p overlay virtio_rng virtio_blk virtio_console"
key=$({ printf '%s\n' "$STAGE1" "$STAGE2" "$BOOT_MODULES" "$KVER"; sha256sum <"$BB"; } | sha256sum | cut -c1-16)
INITRD=$KDIR/initramfs-$key.cpio
if [ ! -s "$INITRD" ]; then
  say "building $INITRD"
  STAGING=$(mktemp -d "$CACHE/initrd.XXXXXX")
  st=$STAGING
  mkdir -p "$st"/{bin,dev,proc,sys,ctl,host,rw,newroot}
  cp "$BB" "$st/bin/busybox"
  for a in $("$BB" --list); do [ -e "$st/bin/$a" ] || ln -s busybox "$st/bin/$a"; done
  declare -A seen=()
  add_module() { # a module and its dependencies, from modules.dep
    local line path dep alt1=${1//_/-} alt2=${1//-/_}
    line=$(grep -E "(^|/)($1|$alt1|$alt2)\.ko[^:]*:" "$MODROOT/modules.dep" | head -1) || true
    if [ -z "$line" ]; then grep -qE "/($1|$alt2)\.ko" "$MODROOT/modules.builtin" && return 0; die "module $1 not found"; fi
    path=${line%%:*}
    [ -z "${seen[$path]:-}" ] || return 0
    seen[$path]=1
    mkdir -p "$st/lib/modules/$KVER/$(dirname "$path")"
    cp "$MODROOT/$path" "$st/lib/modules/$KVER/$path"
    for dep in ${line#*:}; do dep=${dep##*/}; add_module "${dep%%.ko*}"; done
  }
  for mod in $BOOT_MODULES; do add_module "$mod"; done
  cp "$MODROOT/modules.builtin" "$MODROOT/modules.order" "$st/lib/modules/$KVER/"
  "$BB" depmod -b "$st" "$KVER"
  printf '%s\n' "$STAGE1" >"$st/init"
  printf '%s\n' "$STAGE2" >"$st/stage2"
  chmod +x "$st/init"
  (cd "$st" && find . | "$BB" cpio -o -H newc 2>/dev/null) >"$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$STAGING"
  STAGING=
  for old in "$KDIR"/initramfs-*.cpio; do [ "$old" = "$INITRD" ] || rm -f "$old"; done
fi

# ---------------------------------------------------------------- read-only images
# What the guest only reads of DIR (node_modules) goes in as an ext4 image on
# a virtio disk: Node's module loading is stat-heavy, and over 9p under TCG
# every stat is a slow round trip (jest's start-up: minutes; from a disk: seconds).
# Images are cached per directory and content listing, and rebuilt when it changes.
RO_MOUNTS='' DRIVES=() letters=abcdefghij n=0
for sub in ${VM_RO_SUBDIRS-node_modules}; do
  [ -d "$SHARE/$sub" ] || continue
  id=$(printf '%s' "$SHARE/$sub" | sha256sum | cut -c1-12)
  key=$( (cd "$SHARE/$sub" && find . -printf '%p %s %T@\n' | LC_ALL=C sort) | sha256sum | cut -c1-16)
  img=$CACHE/ro/$id-$key.img
  if [ ! -s "$img" ]; then
    say "building a read-only image of $sub"
    mkdir -p "$CACHE/ro"
    rm -f "$CACHE/ro/$id-"*.img
    files=$(find "$SHARE/$sub" | wc -l)
    truncate -s "$(( $(du -sm "$SHARE/$sub" | cut -f1) * 3 / 2 + 64 ))M" "$img.tmp"
    mkfs.ext4 -q -F -N $((files * 2 + 1024)) -E root_owner=0:0 -d "$SHARE/$sub" "$img.tmp" >/dev/null || die "mkfs.ext4 -d $sub failed"
    mv "$img.tmp" "$img"
  fi
  DRIVES+=(-drive "file=$img,if=virtio,format=raw,readonly=on")
  RO_MOUNTS+=" $sub:vd${letters:$n:1}"
  n=$((n + 1))
done
SCRATCH_DEV=''
if [ -n "${VM_SCRATCH_GB:-}" ]; then SCRATCH_DEV=vd${letters:$n:1}; fi
exec 9>&-

# ---------------------------------------------------------------- run
RUN=$(mktemp -d /var/tmp/berth-vm-run.XXXXXX)
CTL=$RUN/ctl
mkdir "$CTL"
q() { printf '%q' "$1"; }
{
  echo "VM_DIR=$(q "$SHARE")"
  echo "VM_MODROOT=$(q "$MODROOT")"
  echo "VM_MODULES=$(q "$MODULES")"
  echo "VM_VERBOSE=$(q "$VERBOSE")"
  echo "VM_RO_MOUNTS=$(q "$RO_MOUNTS")"
  echo "VM_SCRATCH_DEV=$(q "$SCRATCH_DEV")"
} >"$CTL/env"
{
  for v in CI ${VM_ENV:-}; do if [ -n "${!v+x}" ]; then echo "export $v=$(q "${!v}")"; fi; done
  echo "cd $(q "$SHARE") || exit 125"
  printf '%s\n' "$CMD"
} >"$CTL/cmd.sh"

append="console=ttyS0 panic=-1 rdinit=/init mitigations=off random.trust_cpu=on 8250.nr_uarts=1 cgroup_no_v1=all"
if [ "$VERBOSE" = 1 ]; then append+=" loglevel=6"; else append+=" quiet loglevel=1"; fi
fsdev="security_model=passthrough,multidevs=remap"
qargs=(
  -nodefaults -no-user-config -display none -no-reboot
  -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM"
  -chardev stdio,id=con,signal=on
  -kernel "$KDIR/vmlinuz" -initrd "$INITRD" -append "$append"
  -virtfs "local,path=/,mount_tag=hostroot,readonly=on,$fsdev"
  -virtfs "local,path=$CTL,mount_tag=ctl,$fsdev"
  -virtfs "local,path=$SHARE,mount_tag=work,$fsdev"
  -device virtio-rng-pci
)
if [ "$VERBOSE" = 1 ]; then
  qargs+=(-serial chardev:con)
else
  qargs+=(-serial "file:$RUN/console.log" -device virtio-serial-pci -device virtconsole,chardev=con)
fi
qargs+=("${DRIVES[@]}")
if [ -n "$SCRATCH_DEV" ]; then
  truncate -s "${VM_SCRATCH_GB}G" "$RUN/scratch.img"
  qargs+=(-drive "file=$RUN/scratch.img,if=virtio,format=raw,cache=unsafe,discard=unmap")
fi

say "booting $KVER (${SMP} vCPU, ${MEM} MiB)"
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 "${qargs[@]}" </dev/null &
QPID=$!
wait "$QPID"
qrc=$?
QPID=
set -e
if [ -s "$CTL/rc" ]; then exit "$(cat "$CTL/rc")"; fi
if [ -s "$RUN/console.log" ]; then
  echo "run-in-vm: ---- guest console (last 40 lines) ----" >&2
  tail -n 40 "$RUN/console.log" | tr -d '\r' >&2
fi
if [ "$qrc" = 124 ]; then echo "run-in-vm: timed out after ${TIMEOUT}s" >&2; exit 124; fi
die "the VM stopped without reporting an exit status (qemu exit $qrc)"
