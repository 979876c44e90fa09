# capture on a real kernel: the VM's own sysfs, /proc and /etc, taken while a daemon holds the
# DRM node, replayed under --root by every read command with the same result; resource files
# and the ROM are never read; secrets on a VMM's command line are not taken. (grep over the
# files find lists: a grep -r that follows links reads the /dev nodes the captured fds name.)
DRM=$(ids 0x1234:0x1111 | head -n1)
CARD=$(ls $P/devices/$DRM/drm 2>/dev/null | grep '^card' | head -n1)
cp /bin/hold-open $H/tmp/qemu-system-x86_64
setsid $H/tmp/qemu-system-x86_64 /dev/dri/$CARD 300 -name guest=capture-vm,debug-threads=on -vnc :1,password=s3cret </dev/null >/dev/null 2>&1 &
holder=$!; sleep 0.3

gp capture -o /tmp/capture.tar.gz > /tmp/capture.txt 2>&1; rc=$?
check "capture: exit 0, an archive of the live host" sh -c "[ $rc = 0 ] && grep -q '^Captured ' /tmp/capture.txt && [ -s $H/tmp/capture.tar.gz ]"
rm -rf $H/tmp/replay && mkdir -p $H/tmp/replay && tar -xzf $H/tmp/capture.tar.gz -C $H/tmp/replay
for command in "list --all --json" "iommu --json" "conflicts --json" "check --json" "metrics" "doctor --json"; do
  gp $command > /tmp/live.out 2>&1; live=$?
  gp $command --root /tmp/replay > /tmp/replay.out 2>&1; replay=$?
  check "capture replays '$command' (exit $live)" sh -c "[ $live = $replay ] && cmp -s /tmp/live.out /tmp/replay.out || { diff /tmp/live.out /tmp/replay.out | head -n 20; false; }"
done
check "conflicts on the capture names the VM holding /dev/dri/$CARD" sh -c "grep -q '\"vm\": \"capture-vm\"' /tmp/replay.out || chroot $H $GPUPREP conflicts --json --root /tmp/replay $DRM | grep -q '\"vm\": \"capture-vm\"'"
found=$(find $H/tmp/replay/sys -name resource0 -o -name rom | head -n 3)
check "no BAR or ROM file in the capture" same "$found" ""
secrets=$(find $H/tmp/replay -type f -exec grep -l s3cret {} + 2>/dev/null)
named=$(find $H/tmp/replay -type f -exec grep -l capture-vm {} + 2>/dev/null | sed "s|$H/tmp/replay||")
check "the VMM's -name is in the capture, and nothing else of its command line" same "$named|$secrets" "/proc/$holder/cmdline|"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
