# Helpers for the scenarios (busybox sh, in the guest).
H=/mnt/host
P=/sys/bus/pci
GPUPREP=/tmp/gpuprep   # the binary under test, copied there by /init

# gpuprep on this kernel: the host's build, in a chroot over the host's files and libraries.
gp() { chroot $H "$GPUPREP" "$@"; }

# check NAME COMMAND...: one PASS or FAIL line; a failure shows the command's output.
check() {
  name=$1; shift
  if "$@" > /tmp/check.out 2>&1; then echo "PASS: $SCENARIO: $name"
  else echo "FAIL: $SCENARIO: $name"; sed 's/^/  | /' /tmp/check.out | head -n 40; fi
}

# same GOT EXPECTED: equal, or both are printed (a bare [ a = b ] fails silently).
same() { [ "$1" = "$2" ] || { echo "expected: $2"; echo "got:      $1"; return 1; }; }

# JSON queries with the host's python3: q FILE EXPR, where EXPR sees the document as `d`.
q() { chroot $H /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# A file under the host root's /tmp (a tmpfs), reachable from the chroot under the same name.
out() { echo "/tmp/$1"; }

drv() { if [ -e $P/devices/$1/driver ]; then basename "$(readlink $P/devices/$1/driver)"; else echo none; fi; }
grp() { basename "$(readlink $P/devices/$1/iommu_group)"; }
ids() { for d in $P/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = "$1" ] && basename $d; done; }
# The kernel's own verdict on a group (VFIO_GROUP_GET_STATUS).
kernel_viable() { $H/tmp/vfio-group-status "$1"; }
# Raw sysfs writes, to put devices in a state before asking gpuprep about it.
to_vfio() { echo vfio-pci > $P/devices/$1/driver_override; [ -e $P/devices/$1/driver ] && echo $1 > $P/devices/$1/driver/unbind; echo $1 > $P/drivers_probe; }
unbind() { [ -e $P/devices/$1/driver ] && echo $1 > $P/devices/$1/driver/unbind; echo > $P/devices/$1/driver_override; }
reprobe() { echo > $P/devices/$1/driver_override; echo $1 > $P/drivers_probe; }

EDU=$(ids 0x1234:0x11e8 | head -n1)   # edu on the root bus: no driver, its own group
EDU2=$(ids 0x1234:0x11e8 | tail -n1)  # edu behind the pcie-pci-bridge, sharing a group with e1000
E1E=$(ids 0x8086:0x10d3 | head -n1)   # e1000e behind a root port: on e1000e, its own group
E1K=$(ids 0x8086:0x100e | head -n1)   # e1000 behind the pcie-pci-bridge
