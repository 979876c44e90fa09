# Who holds a device, on a real kernel: a daemon holding a DRM node (bochs's /dev/dri/cardN) is
# named alike by conflicts and bind; bind --release stops it through systemctl (a stand-in on
# PATH that records its calls) and starts it again, also when a SIGTERM interrupts the change.
DRM=$(ids 0x1234:0x1111 | head -n1)
CARD=$(ls $P/devices/$DRM/drm 2>/dev/null | grep '^card' | head -n1)
check "bochs-display is on bochs-drm with a DRM card node" same "$(drv $DRM) ${CARD:-none}" "bochs-drm card0"

# The daemon: hold-open under nvidia-persistenced's name (the kernel keeps 15 bytes of it:
# nvidia-persiste), outside any unit, as one started by hand.
cp /bin/hold-open $H/tmp/nvidia-persistenced
start_holder() {
  CARD=$(ls $P/devices/$DRM/drm | grep '^card' | head -n1); echo "$CARD" > $H/tmp/card
  setsid $H/tmp/nvidia-persistenced /dev/dri/$CARD 300 </dev/null >/dev/null 2>&1 & echo $! > $H/tmp/holder.pid; sleep 0.3
}
start_holder; holder=$(cat $H/tmp/holder.pid)
J=$(out holders.json)
gp conflicts --json $DRM > $H$J; rc=$?
check "conflicts: exit 1, in use by the daemon on /dev/dri/$CARD" same \
  "$rc $(q $J '[(b["kind"], b["process"]["pid"]) for b in d["conflicts"][0]["blockers"]]') $(q $J '[h["path"] for h in d["conflicts"][0]["holders"]]')" \
  "1 [('in-use', $holder)] ['/dev/dri/$CARD']"
check "conflicts: the next step is bind --release" sh -c "chroot $H /usr/bin/python3 -c \"import json; print(json.load(open('$J'))['conflicts'][0]['nextStep'])\" | grep -q -- '--release'"
gp bind $DRM --dry-run 2>/tmp/err.txt; rc=$?
check "bind: refused (65), naming the daemon and --release; nothing changed" sh -c \
  "[ $rc = 65 ] && grep -q 'nvidia-persiste (pid $holder)' /tmp/err.txt && grep -q -- '--release' /tmp/err.txt && [ '$(drv $DRM)' = bochs-drm ]"

# systemctl as a stand-in: records each call; stop ends the daemon, start runs it again.
mkdir -p $H/tmp/standin
cat > $H/tmp/standin/systemctl <<'SH'
#!/bin/sh
echo "$*" >> /tmp/systemctl.log
case "$1" in
  stop) kill "$(cat /tmp/holder.pid)"; sleep "${STOP_DELAY:-0}" ;;
  start) setsid /tmp/nvidia-persistenced "/dev/dri/$(cat /tmp/card)" 300 </dev/null >/dev/null 2>&1 & echo $! > /tmp/holder.pid ;;
esac
SH
chmod 755 $H/tmp/standin/systemctl
gpr() { PATH=/tmp/standin:/usr/sbin:/usr/bin:/sbin:/bin chroot $H "$GPUPREP" "$@"; }

rm -f $H/tmp/systemctl.log
gpr bind $DRM --release > /tmp/out.txt 2>&1; rc=$?
check "bind --release: exit 0, on vfio-pci, the daemon stopped first and started after" same \
  "$rc $(drv $DRM) $(tr '\n' ',' < $H/tmp/systemctl.log)" \
  "0 vfio-pci stop nvidia-persistenced.service,start nvidia-persistenced.service,"
kill "$(cat $H/tmp/holder.pid)" 2>/dev/null
unbind $DRM; reprobe $DRM; sleep 0.5

# A SIGTERM while the daemon is being stopped: the change stops there, nothing else is done,
# and the daemon is started again (exit 74).
start_holder; rm -f $H/tmp/systemctl.log
# A simple command, not the function: $! is then gpuprep itself (chroot execs it).
PATH=/tmp/standin:/usr/sbin:/usr/bin:/sbin:/bin STOP_DELAY=3 chroot $H "$GPUPREP" bind $DRM --release > /tmp/out.txt 2>&1 & gpid=$!
# The signal lands once systemctl is stopping the daemon (the change has begun).
n=0; while ! grep -q stop $H/tmp/systemctl.log 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
kill -TERM $gpid; wait $gpid; rc=$?
check "SIGTERM during --release: exit 74, still on bochs-drm, the daemon started again" same \
  "$rc $(drv $DRM) $(tr '\n' ',' < $H/tmp/systemctl.log)" \
  "74 bochs-drm stop nvidia-persistenced.service,start nvidia-persistenced.service,"
check "SIGTERM during --release: said so" grep -q 'interrupted by SIGTERM' /tmp/out.txt
kill "$(cat $H/tmp/holder.pid)" 2>/dev/null
