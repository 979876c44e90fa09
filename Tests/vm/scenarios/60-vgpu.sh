# vGPU over mdev on a live kernel, with the kernel's own sample parents (mtty, mdpy, mbochs).
for m in mtty mdpy mbochs; do insmod /lib/modules/$(uname -r)/extra/$m.ko 2>/tmp/err || { echo "GUEST: insmod $m: $(cat /tmp/err)"; }; done
J=$(out types.json)
T=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2
avail() { cat /sys/class/mdev_bus/mtty/mdev_supported_types/$1/available_instances; }
count_mdevs() { ls /sys/bus/mdev/devices 2>/dev/null | wc -l; }

gp types --json > $H$J; rc=$?
check "types: exit 0" [ $rc = 0 ]
check "types lists the mtty, mdpy and mbochs parents" [ "$(q $J 'sorted(set(t["parent"] for t in d["types"]))')" = "['mbochs', 'mdpy', 'mtty']" ]
check "mtty-2 with the kernel's available_instances" [ "$(q $J '[t["availableInstances"] for t in d["types"] if t["id"]=="mtty-2"][0]')" = "$(avail mtty-2)" ]
check "mtty has no description file: null, not a crash" [ "$(q $J '[t["description"] for t in d["types"] if t["id"]=="mtty-1"][0]')" = None ]
# mdevctl reads the same sysfs: the same parents, types and counts.
M=$(out mdevctl.json)
chroot $H /usr/bin/mdevctl types --dumpjson > $H$M 2>/tmp/err.txt || cat /tmp/err.txt
theirs=$(q $M 'sorted((p, t, v["available_instances"], v.get("name"), v.get("description")) for e in d for p, ts in e.items() for x in ts for t, v in x.items())')
ours=$(q $J 'sorted((t["parent"], t["id"], t["availableInstances"], t["name"], t["description"]) for t in d["types"])')
check "mdevctl types --dumpjson agrees on parents, types, names, descriptions, available instances" same "$ours" "$theirs"
# Capacity per parent: the kernel's own count (these sample types have no framebuffer), never more.
check "capacity of each type is the kernel's available_instances" \
  same "$(q $J 'sorted((c["gpu"], c["id"], c["creatable"]) for c in d["capacity"])')" "$(q $J 'sorted((t["parent"], t["id"], t["availableInstances"]) for t in d["types"])')"

A0=$(avail mtty-2)
C=$(out create.json)
gp create --type mtty-2 --json > $H$C; rc=$?
U=$(q $C 'd["created"][0]["uuid"]')
check "create mtty-2: exit 0" [ $rc = 0 ]
check "the mdev exists: /sys/bus/mdev/devices/$U" [ -d /sys/bus/mdev/devices/$U ]
check "available_instances dropped by one" [ "$(avail mtty-2)" = $((A0 - 1)) ]
V=$(out vgpus.json)
gp vgpus --json > $H$V
check "vgpus lists it with its parent and name" [ "$(q $V '[(v["parent"], v["type"], v["typeName"]) for v in d["vgpus"] if v["uuid"]=="'$U'"]')" = "[('mtty', 'mtty-2', '$(cat $T/name)')]" ]
gp destroy $U > /dev/null; rc=$?
check "destroy it: exit 0, gone, available back" [ "$rc $([ -e /sys/bus/mdev/devices/$U ] && echo there || echo gone) $(avail mtty-2)" = "0 gone $A0" ]

# By name, several, spread; an over-ask leaves nothing behind.
gp create --type "$(cat $T/name)" --count 3 > /dev/null; rc=$?
check "create 3 by name: exit 0, 3 mdevs" [ "$rc $(count_mdevs)" = "0 3" ]
gp create --type mtty-2 --count 100 2>/tmp/err.txt; rc=$?
check "over-ask refused (exit 65), nothing made" [ "$rc $(count_mdevs)" = "65 3" ]
check "the refusal gives the true number" grep -q "only $(avail mtty-2) more" /tmp/err.txt
gp destroy --all > /dev/null; rc=$?
check "destroy --all: exit 0, none left, all available" [ "$rc $(count_mdevs) $(avail mtty-2)" = "0 0 $A0" ]

# A chosen UUID: again is a no-op; a bad one is a usage error.
U=8a4b5c6d-1e2f-4a3b-9c8d-7e6f5a4b3c2d
gp create --type mtty-1 --uuid $U > /dev/null; rc1=$?
gp create --type mtty-1 --uuid $U > /tmp/out.txt; rc2=$?
check "create --uuid twice: the second is a no-op" sh -c "[ $rc1 = 0 -a $rc2 = 0 ] && grep -q 'Nothing to do' /tmp/out.txt && [ \$(ls /sys/bus/mdev/devices | wc -l) = 1 ]"
gp create --type mtty-1 --uuid not-a-uuid 2>/dev/null; rc=$?
check "a malformed UUID: exit 64" [ $rc = 64 ]

# In use: a process holding the mdev's /dev/vfio/N, with a QEMU-style command line naming its VM.
G=$(basename "$(readlink /sys/bus/mdev/devices/$U/iommu_group)")
hold-open /dev/vfio/$G 60 -name guest=vm-under-test,debug-threads=on & holder=$!
sleep 1
gp destroy $U 2>/tmp/err.txt; rc=$?
check "destroy refused while /dev/vfio/$G is open (exit 65), naming the pid and the VM" \
  sh -c "[ $rc = 65 ] && grep -q 'pid $holder, VM vm-under-test' /tmp/err.txt && [ -d /sys/bus/mdev/devices/$U ]"
V=$(out vgpus-held.json)
gp vgpus --json > $H$V
check "vgpus names the process and VM using it" \
  same "$(q $V '[(h["pid"], h["vm"]) for v in d["vgpus"] if v["uuid"]=="'$U'" for h in v["holders"]]')" "[($holder, 'vm-under-test')]"
gp destroy --all 2>/tmp/err.txt; rc=$?
check "destroy --all refused too, nothing removed" sh -c "[ $rc = 65 ] && [ -d /sys/bus/mdev/devices/$U ]"
kill $holder; wait $holder 2>/dev/null
gp destroy $U > /dev/null

# Fifty create/destroy cycles leak nothing.
fails=0; i=0
while [ $i -lt 50 ]; do
  gp create --type mbochs-small > /dev/null || fails=$((fails + 1))
  gp destroy --all > /dev/null || fails=$((fails + 1))
  i=$((i + 1))
done
check "50 create/destroy cycles, nothing leaked" [ "$fails $(count_mdevs)" = "0 0" ]
