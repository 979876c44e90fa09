#!/usr/bin/env bash
# Boots Debian 12's kernel under QEMU (TCG, emulated Intel VT-d) with PCI devices in interesting
# IOMMU groups and runs the scenario files in Tests/vm/scenarios/ against the freshly built
# gpuprep inside it. The host's / is shared read-only over virtio-9p; the guest runs gpuprep in a
# chroot there, on the guest's own sysfs, procfs and modules.
#
#   Tests/vm/run-vm-tests.sh [SCENARIO...]   run all (or the named) scenarios; exit 0 iff all pass
#   Tests/vm/run-vm-tests.sh --shell         the same VM with a shell on this terminal (make vmshell)
#
# env: GPUPREP_BIN (default .build/debug/gpuprep)
#      GPUPREP_VM_CACHE (default ~/.cache/gpuprep-vm: outside the tree, so fresh clones reuse it)
#      GPUPREP_VM_TIMEOUT (seconds, default 1800: it catches a hung guest; TCG speed varies with the host, and a loaded 2-core machine took 818 s)   GPUPREP_VM_KVER (default: Debian's current 6.1 ABI)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${GPUPREP_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpuprep-vm}
BIN=$(realpath "${GPUPREP_BIN:-$REPO/.build/debug/gpuprep}")
TIMEOUT=${GPUPREP_VM_TIMEOUT:-1800}
SHELL_MODE=0
if [ "${1:-}" = --shell ]; then SHELL_MODE=1; shift; fi
ONLY=("$@")
mkdir -p "$CACHE"
cd "$CACHE"
now() { date +%s.%N; }
t0=$(now)

# ---- set-up, idempotent: packages, kernel, vmlinux, mdev sample modules, helper --------------
need=()
for p in qemu-system-x86 busybox-static cpio kmod bc xz-utils make gcc libc6-dev mdevctl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ! -f kver ]; then
  [ -n "${GPUPREP_VM_KVER:-}" ] && echo "$GPUPREP_VM_KVER" > kver \
    || { apt-get update -q >/dev/null 2>&1 || true
         apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-\(.*\)$/\1/p' | head -n1 > kver; }
fi
KVER=$(cat kver)
[ -n "$KVER" ] || { echo "vmtest: cannot tell which kernel to use (apt-cache depends linux-image-amd64)"; exit 1; }
for p in linux-headers-$KVER linux-source-6.1; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "vmtest: missing packages: ${need[*]} (run as root, or apt-get install them)"; exit 1; }
  echo "vmtest: installing ${need[*]}"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -f kernel/boot/vmlinuz-$KVER ]; then          # the kernel package, without its maintainer scripts
  mkdir -p debs && (cd debs && apt-get download -q "linux-image-$KVER" >/dev/null 2>&1)
  dpkg -x debs/linux-image-${KVER}_*.deb kernel
fi
[ -f kernel/lib/modules/$KVER/modules.dep ] || depmod -b "$CACHE/kernel" "$KVER"   # the .deb ships none
if [ ! -f vmlinux ] || [ ! -f mdev-samples/Kbuild ]; then
  # One pass over the source tarball: the uncompressed kernel boots through its PVH entry and skips
  # ~5 s of decompression under TCG; samples/vfio-mdev holds the mtty, mdpy and mbochs parents.
  rm -rf src && mkdir src
  tar -xJf /usr/src/linux-source-6.1.tar.xz -C src linux-source-6.1/scripts/extract-vmlinux linux-source-6.1/samples/vfio-mdev
  bash src/linux-source-6.1/scripts/extract-vmlinux "kernel/boot/vmlinuz-$KVER" > vmlinux
  rm -rf mdev-samples && cp -r src/linux-source-6.1/samples/vfio-mdev mdev-samples && rm -rf src mdev-samples/Makefile
  # Upstream's Makefile keys on CONFIG_SAMPLE_VFIO_MDEV_* options Debian does not set.
  echo 'obj-m := mtty.o mdpy.o mbochs.o mdpy-fb.o' > mdev-samples/Kbuild
fi
[ -f mdev-samples/mtty.ko ] || make -s -C "/usr/src/linux-headers-$KVER" M="$CACHE/mdev-samples" modules >/dev/null
# gpuprep's own test driver (probes that bind nothing or take time, slow removes): see its source.
if [ ! -f test-driver/gpuprep_test_vfio_pci.ko ] || [ "$HERE/test-driver/gpuprep_test_vfio_pci.c" -nt test-driver/gpuprep_test_vfio_pci.ko ]; then
  rm -rf test-driver && mkdir test-driver && cp "$HERE/test-driver/gpuprep_test_vfio_pci.c" test-driver/
  echo 'obj-m := gpuprep_test_vfio_pci.o' > test-driver/Kbuild
  make -s -C "/usr/src/linux-headers-$KVER" M="$CACHE/test-driver" modules >/dev/null
fi
for helper in vfio-group-status hold-open; do
  if [ ! -x $helper ] || [ "$HERE/$helper.c" -nt $helper ]; then gcc -O2 -static -o $helper "$HERE/$helper.c"; fi
done
t1=$(now)

# ---- initramfs: static busybox, modules in dependency order, helper, scenarios, /init --------
MODDIR=$CACHE/kernel/lib/modules/$KVER
WANT=(irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci mdev virtio_pci 9pnet_virtio 9p e1000e e1000 bochs)
declare -A SEEN=(); ORDER=()
path_of() { awk -F: -v n="${1//-/_}" '{b=$1; sub(".*/","",b); sub("\\.ko(\\..*)?$","",b); gsub("-","_",b); if (b==n) {print $1; exit}}' "$MODDIR/modules.dep"; }
resolve() { local p=$1 d; [ -n "${SEEN[$p]:-}" ] && return; SEEN[$p]=1
            for d in $(awk -F: -v p="$p" '$1==p {print $2}' "$MODDIR/modules.dep"); do resolve "$d"; done; ORDER+=("$p"); }
for m in "${WANT[@]}"; do p=$(path_of "$m"); [ -n "$p" ] && resolve "$p" || echo "vmtest: no module $m" >&2; done
R=$(mktemp -d "$CACHE/initramfs.XXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,proc,sys,dev,tmp,run,mnt/host,scenarios} "$R/lib/modules/$KVER/extra"
cp /bin/busybox "$R/bin/busybox"; ln -s busybox "$R/bin/sh"
cp vfio-group-status hold-open "$R/bin/"
# bochs (a DRM driver with card and render nodes, for the holder scenarios) without fbdev
# emulation: no framebuffer console to take along when it leaves its driver.
for p in "${ORDER[@]}"; do
  install -D -m644 "$MODDIR/$p" "$R/lib/modules/$KVER/$p"
  case "$p" in */drm_kms_helper.ko*) echo "$p fbdev_emulation=0" ;; *) echo "$p" ;; esac >> "$R/modules.load"
done
cp mdev-samples/*.ko test-driver/*.ko "$R/lib/modules/$KVER/extra/"
cp "$MODDIR"/modules.{builtin,builtin.modinfo,order} "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"        # indexes for the guest's own modules: libkmod reads them in the guest
cp "$HERE/guest-init.sh" "$R/init"; cp "$HERE/lib.sh" "$R/lib.sh"; chmod 755 "$R/init"
if [ ${#ONLY[@]} -gt 0 ]; then
  for s in "${ONLY[@]}"; do cp "$HERE/scenarios/${s%.sh}.sh" "$R/scenarios/"; done
else
  cp "$HERE"/scenarios/*.sh "$R/scenarios/"
fi
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > initramfs.cpio.gz
t2=$(now)

# ---- boot --------------------------------------------------------------------------------------
LOG=$CACHE/serial.log
QEMU=(qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2
  -machine q35,kernel-irqchip=split -nodefaults -display none -no-reboot
  -device intel-iommu,intremap=on,caching-mode=on
  -device edu,id=edu0                                       # no host driver, a group of its own
  -device bochs-display,id=drm0                             # a DRM device (bochs): /dev/dri/card0
  -device pcie-root-port,id=rp1,chassis=1,slot=1
  -device e1000e,id=nic0,bus=rp1                            # a host driver, a group of its own
  -device pcie-root-port,id=rp2,chassis=2,slot=2
  -device pcie-pci-bridge,id=br1,bus=rp2
  -device edu,id=edu1,bus=br1,addr=1                        # these two share one group
  -device e1000,id=nic1,bus=br1,addr=2                      #   with the bridge
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -kernel "$CACHE/vmlinux" -initrd "$CACHE/initramfs.cpio.gz")
APPEND="console=ttyS0 intel_iommu=on iommu=pt panic=-1 quiet loglevel=4 gpuprep.bin=$BIN"
if [ $SHELL_MODE = 1 ]; then
  echo "vmtest: shell in the VM; gpuprep runs as 'gp ARGS' (see Tests/vm/lib.sh); 'poweroff -f' leaves"
  exec "${QEMU[@]}" -serial mon:stdio -append "$APPEND gpuprep.shell=1"
fi
rm -f "$LOG"
set +e
timeout "$TIMEOUT" "${QEMU[@]}" -serial "file:$LOG" -append "$APPEND" 2> >(grep -v 'has no peer' >&2)
rc=$?
set -e
t3=$(now)

# ---- verdict: PASS/FAIL lines, the failing checks' output, the end marker ---------------------
tr -d '\r' < "$LOG" > "$LOG.txt"
awk '/^PASS: /{print} /^FAIL: /{print; showing=1; next} /^  \| /{if (showing) print; next} {showing=0}' "$LOG.txt"
npass=$(grep -c '^PASS: ' "$LOG.txt" || true); nfail=$(grep -c '^FAIL: ' "$LOG.txt" || true)
grep -E '^(INSMOD FAIL|GUEST: )' "$LOG.txt" || true
ended=1; grep -q '^INIT: done' "$LOG.txt" || ended=0
printf 'vmtest: set-up %.1fs, initramfs %.1fs, boot and scenarios %.1fs (kernel %s, qemu exit %s)\n' \
  "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)" "$(echo "$t3-$t2" | bc)" "$KVER" "$rc"
echo "vmtest: serial log $LOG.txt"
if [ $ended = 0 ]; then
  echo "FAIL: the guest never reached its end marker (timeout after ${TIMEOUT}s, panic or crash): see the serial log"
  nfail=$((nfail + 1))
fi
echo "vmtest: $npass passed, $nfail failed"
[ "$nfail" = 0 ] && [ "$npass" -gt 0 ]
