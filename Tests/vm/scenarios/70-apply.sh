# apply on a live kernel: one file with a passthrough device and mdev vGPUs of two sample
# drivers; applied, applied again (nothing), asserted with --check, and after the vGPUs vanish
# (a driver reload, as at a reboot) brought back by the boot path, which waits for the parent.
for m in mtty mdpy; do [ -d /sys/class/mdev_bus/$m ] || insmod /lib/modules/$(uname -r)/extra/$m.ko; done
count() { ls /sys/class/mdev_bus/$1/*/devices 2>/dev/null | grep -c -- -; }
mdevs_of() { n=0; for d in /sys/bus/mdev/devices/*; do [ -e "$d" ] && [ "$(basename "$(readlink $d/mdev_type)")" = "$1" ] && n=$((n + 1)); done; echo $n; }
U=0b5e0b5e-0000-4000-8000-00000000a001
L=$(out layout.yaml)
cat > $H$L <<YAML
version: 1
passthrough:
  - match: {address: "$EDU"}
vgpus:
  - match: {parent: mtty}
    type: mtty-2
    count: 2
    uuids: ["$U"]
  - match: {parent: mdpy}
    type: mdpy-vga
    count: 1
YAML
reprobe $EDU

gp apply -f $L --check > /tmp/out.txt; rc=$?
check "--check on a host that differs: exit 1, nothing changed" sh -c "[ $rc = 1 ] && [ $(drv $EDU) = none ] && [ $(mdevs_of mtty-2) = 0 ]"
J=$(out apply.json)
gp apply -f $L --json > $H$J; rc=$?
check "apply: exit 0, changed" [ "$rc $(q $J 'd["changed"]')" = "0 True" ]
check "the device is on vfio-pci, 2 mtty-2 (one with the file's UUID), 1 mdpy-vga" \
  same "$(drv $EDU) $(mdevs_of mtty-2) $([ -d /sys/bus/mdev/devices/$U ] && echo $U) $(mdevs_of mdpy-vga)" "vfio-pci 2 $U 1"
check "the report's diff: before and after" \
  same "$(q $J '(d["diff"]["before"]["vgpus"]["mtty"]["mtty-2"], d["diff"]["after"]["vgpus"]["mtty"]["mtty-2"], d["diff"]["after"]["passthrough"]["'$EDU'"])')" "(0, 2, 'vfio-pci')"
gp apply -f $L --json > $H$J; rc=$?
check "applied again: exit 0, nothing changed, no step" same "$rc $(q $J '(d["changed"], len(d["steps"]))')" "0 (False, 0)"
gp apply -f $L --check > /dev/null; rc=$?
check "--check on a host that matches: exit 0" [ $rc = 0 ]

# One destroyed by hand: --check sees it, apply makes it again (the listed UUID stays the same).
echo 1 > /sys/bus/mdev/devices/$U/remove
gp apply -f $L --check > /dev/null; rc=$?
check "--check after a vGPU was destroyed by hand: exit 1" [ $rc = 1 ]
gp apply -f $L > /dev/null; rc=$?
check "apply makes it again, with its UUID" sh -c "[ $rc = 0 ] && [ -d /sys/bus/mdev/devices/$U ] && [ $(mdevs_of mtty-2) = 2 ]"

# A driver reload takes the vGPUs with it, as a reboot does; --boot waits for the mdev parents
# (loaded here once it says it is waiting) and puts everything back.
for d in /sys/bus/mdev/devices/*; do [ -e "$d/remove" ] && echo 1 > $d/remove; done
rmmod mdpy; rmmod mtty
unbind $EDU
check "after the reload nothing is left" same "$(drv $EDU) $(ls /sys/bus/mdev/devices | wc -l)" "none 0"
B=$(out boot.json)
(gp apply -f $L --boot --wait 120 --json > $H$B 2> /tmp/boot.err; echo $? > /tmp/boot.rc) &
i=0; while [ $i -lt 100 ] && ! grep -q 'waiting for' /tmp/boot.err 2>/dev/null; do sleep 1; i=$((i + 1)); done
insmod /lib/modules/$(uname -r)/extra/mtty.ko; insmod /lib/modules/$(uname -r)/extra/mdpy.ko
wait
check "apply --boot: exit 0, said what it waited for" sh -c "[ $(cat /tmp/boot.rc) = 0 ] && grep -q 'waiting for: mdev parent mdpy; mdev parent mtty' /tmp/boot.err || cat /tmp/boot.err"
check "the boot path brought back the binding and the vGPUs" \
  same "$(drv $EDU) $(mdevs_of mtty-2) $([ -d /sys/bus/mdev/devices/$U ] && echo $U) $(mdevs_of mdpy-vga)" "vfio-pci 2 $U 1"

# Within capacity: more than the parent can take is refused whole, nothing made.
sed -i 's/count: 1$/count: 99/' $H$L
gp apply -f $L 2> /tmp/err.txt; rc=$?
check "an over-ask: exit 65, names the line, nothing made" \
  sh -c "[ $rc = 65 ] && grep -q 'layout.yaml:9: only' /tmp/err.txt && [ $(mdevs_of mdpy-vga) = 1 ] || cat /tmp/err.txt"
gp apply -f $L --check --json > $H$J; rc=$?
check "--check of the over-ask: a difference (exit 1) with the refusal in the JSON" \
  same "$rc $(q $J '("only" in d["refused"][0], d["changed"])')" "1 (True, True)"
printf 'version: 1\nvgpus:\n  - match: {parent: mtty}\n    type: mtty-2\n    count: lots\n' > $H$L
gp apply -f $L 2> /tmp/err.txt; rc=$?
check "a bad file: exit 64, names the line" sh -c "[ $rc = 64 ] && grep -q 'layout.yaml:5: .count. is .lots.' /tmp/err.txt"

# Leave the host as the next scenario expects it.
gp destroy --all > /dev/null
gp unbind $EDU > /dev/null
