# Changes the kernel makes wait: a write has a deadline, and a signal rolls back, on a live kernel.
st() { echo "$(drv $1) $(cat $P/devices/$1/driver_override)"; }
up() { cut -d' ' -f1 /proc/uptime; }
T=/sys/module/gpuprep_test_vfio_pci/parameters
[ -d $T ] || modprobe gpuprep_test_vfio_pci

# --- An unbind the kernel blocks: a process (a VMM) holds edu's VFIO device open, so the
# driver/unbind write waits in vfio_unregister_group_dev until it lets go. --force passes the
# in-use refusal; the write's deadline ends the run, naming the holder, and the kernel finishes
# the unbind once the holder closes the device.
gp bind $EDU > /dev/null
G=$(grp $EDU)
HOLD_DEVICE=$EDU hold-open /dev/vfio/$G 120 -name guest=vm-held > /tmp/hold.txt 2>&1 & holder=$!
i=0; while ! grep -q holding /tmp/hold.txt && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
check "the holder opened edu's VFIO device" grep -q holding /tmp/hold.txt
export GPUPREP_WRITE_TIMEOUT=3
t0=$(up)
gp unbind --force $EDU > /tmp/out.txt 2> /tmp/err.txt; rc=$?
t1=$(up)
unset GPUPREP_WRITE_TIMEOUT
check "unbind of a held device: exit 70 within the deadline" \
  sh -c "[ $rc = 70 ] && awk -v a=$t0 -v b=$t1 'BEGIN { exit !(b - a < 20) }' || { echo rc=$rc $t0 $t1; cat /tmp/err.txt; false; }"
check "the message says the write is blocked and names the holder and VM" \
  sh -c "grep -q 'still blocked in the kernel after 3 s' /tmp/err.txt && grep -q 'pid $holder, VM vm-held' /tmp/err.txt"
# The kernel drops the driver link before it calls the driver's remove (__device_release_driver,
# drivers/base/dd.c): the device is on its way off vfio-pci, and its group is still there.
check "the message says the device is leaving vfio-pci" grep -q "$EDU is leaving vfio-pci" /tmp/err.txt
check "while held, the unbind is unfinished: /dev/vfio/$G is still there" [ -c /dev/vfio/$G ]
# The unbind holds the device's lock, and reading driver_override takes it: list does not wait.
t0=$(up)
gp list --json $EDU > $H/tmp/held.json 2> /tmp/list-err.txt; rc=$?
t1=$(up)
check "list beside the blocked unbind: exit 0 within seconds, says the device is busy" \
  sh -c "[ $rc = 0 ] && awk -v a=$t0 -v b=$t1 'BEGIN { exit !(b - a < 20) }' && grep -q 'driver_override unreadable: the kernel holds this device' $H/tmp/held.json || { echo rc=$rc $t0 $t1; cat /tmp/list-err.txt $H/tmp/held.json; false; }"
kill $holder; wait $holder 2>/dev/null
i=0; while [ "$(drv $EDU)" != none ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
check "once the holder lets go, the kernel finishes the unbind" [ "$(drv $EDU)" = none ]
gp unbind $EDU > /dev/null 2>&1; echo > $P/devices/$EDU/driver_override
gp bind $EDU > /dev/null; rc=$?
check "the lock was let go: the next change runs (bind: exit 0)" [ "$rc $(drv $EDU)" = "0 vfio-pci" ]
gp unbind $EDU > /dev/null

# --- A probe slower than the deadline: the drivers_probe write is reported, not waited for.
# (TCG on a loaded 2-core machine makes a gpuprep run take seconds: the margins are wide.)
echo 40000 > $T/probe_delay_ms; echo -19 > $T/probe_result
export GPUPREP_WRITE_TIMEOUT=2
t0=$(up)
gp bind --driver gpuprep_test_vfio_pci $EDU > /tmp/out.txt 2> /tmp/err.txt; rc=$?
t1=$(up)
unset GPUPREP_WRITE_TIMEOUT
check "a 40 s probe past a 2 s deadline: exit 70 long before the probe ends" \
  sh -c "[ $rc = 70 ] && awk -v a=$t0 -v b=$t1 'BEGIN { exit !(b - a < 25) }' && grep -q 'drivers_probe was still blocked' /tmp/err.txt || { echo rc=$rc $t0 $t1; cat /tmp/err.txt; false; }"
check "the message says the device is being probed" grep -q "$EDU is being probed, with driver_override gpuprep_test_vfio_pci" /tmp/err.txt
i=0; while [ "$(dmesg | grep -c 'probe after 40000 ms')" = 0 ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
echo 0 > $T/probe_delay_ms
echo > $P/devices/$EDU/driver_override
check "after the probe, edu has no driver" [ "$(drv $EDU)" = none ]

# --- SIGTERM in the middle of a bind: the test driver's probe takes 4 s, the signal arrives
# during it; the step finishes, then the bind is rolled back and the device is as it was.
echo 4000 > $T/probe_delay_ms; echo 0 > $T/probe_result
# (Reading driver_override would wait for the probe: the kernel's log says when it starts.)
probes=$(dmesg | grep -c 'gpuprep test driver: probe starts')
chroot $H $GPUPREP bind --driver gpuprep_test_vfio_pci $EDU > /tmp/out.txt 2> /tmp/err.txt & pid=$!
i=0; while [ "$(dmesg | grep -c 'gpuprep test driver: probe starts')" = "$probes" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
kill -TERM $pid; wait $pid; rc=$?
echo 0 > $T/probe_delay_ms
check "SIGTERM during the probe: exit 74, said interrupted and rolled back" \
  sh -c "[ $rc = 74 ] && grep -q 'interrupted by SIGTERM' /tmp/err.txt && grep -q 'rolled back' /tmp/err.txt || { echo rc=$rc; cat /tmp/err.txt; false; }"
check "edu as it was: no driver, no override" [ "$(st $EDU)" = "none (null)" ]

# --- SIGTERM at any moment of a bind of e1000e to vfio-pci: each run either finished (exit 0,
# on vfio-pci) or left e1000e as it was (74 after the lock, or killed before it took the lock).
before=$(st $E1E)
bad=0
for d in 0 0.05 0.1 0.2 0.3 0.4 0.6 0.8 1.2; do
  chroot $H $GPUPREP bind $E1E > /dev/null 2> /tmp/err.txt & pid=$!
  sleep $d; kill -TERM $pid 2>/dev/null; wait $pid; rc=$?
  now=$(st $E1E)
  case "$rc $now" in
    "0 vfio-pci vfio-pci") gp unbind $E1E > /dev/null || bad=$((bad + 1)) ;;
    "74 $before") grep -q 'interrupted by SIGTERM' /tmp/err.txt || { echo "after $d s: 74 without saying why"; bad=$((bad + 1)); } ;;
    "143 $before") ;;
    *) echo "after $d s: exit $rc, e1000e is '$now'"; cat /tmp/err.txt; bad=$((bad + 1)) ;;
  esac
  [ "$(st $E1E)" = "$before" ] || { echo "after $d s: e1000e not back"; bad=$((bad + 1)); }
done
check "SIGTERM at 9 moments of a bind: each run done or rolled back, e1000e as it was" [ $bad = 0 ]
