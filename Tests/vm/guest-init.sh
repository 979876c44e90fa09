#!/bin/busybox sh
# /init of the test VM: mount, load modules, reach the host's / over 9p, run each scenario.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo "INIT: start uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"
# A line is a module's path, then its parameters, if any.
while read m; do
  set -- $m; f=$1; shift
  insmod "/lib/modules/$(uname -r)/$f" "$@" 2>/tmp/err || echo "INSMOD FAIL ${f##*/}: $(cat /tmp/err)"
done < /modules.load

# The host's / read-only, with this guest's proc, sys, dev and modules inside, so that gpuprep
# (built on the host, with its libraries) runs in a chroot there against this kernel.
H=/mnt/host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot $H || echo "GUEST: cannot mount the host root"
# Take the binary before the tmpfs mounts below can hide where it was built (a checkout under /tmp).
BIN=$(sed -n 's/.*gpuprep\.bin=\([^ ]*\).*/\1/p' /proc/cmdline)
cp "$H$BIN" /gpuprep || echo "GUEST: cannot copy $BIN from the host"
cp "$H$BIN-yaml" /gpuprep-yaml || echo "GUEST: cannot copy $BIN-yaml from the host"   # apply's YAML reader
mount -t proc proc $H/proc; mount -t sysfs sysfs $H/sys; mount -t devtmpfs devtmpfs $H/dev
mount -t tmpfs tmpfs $H/tmp; mount -t tmpfs tmpfs $H/run
mount -t tmpfs tmpfs $H/usr/lib/modules && mkdir "$H/usr/lib/modules/$(uname -r)" \
  && mount --bind "/lib/modules/$(uname -r)" "$H/usr/lib/modules/$(uname -r)"
cp /bin/vfio-group-status /gpuprep /gpuprep-yaml $H/tmp/

if grep -q 'gpuprep.shell=1' /proc/cmdline; then
  . /lib.sh
  echo "GUEST: shell; the host's / is at $H; gp ARGS runs gpuprep there"
  ENV=/lib.sh SCENARIO=shell setsid cttyhack sh
else
  for scenario in /scenarios/*.sh; do
    name=$(basename "$scenario" .sh)
    echo "SCENARIO: $name"
    SCENARIO=$name sh -c ". /lib.sh; . $scenario" 2>&1
    echo "SCENARIO-END: $name"
  done
fi
echo "INIT: done uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
