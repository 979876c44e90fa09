# gpuprep bind / unbind on a live kernel: verified moves, no-ops, refusals, rollback, repetition.
J=$(out bind.json)
st() { echo "$(drv $1) $(cat $P/devices/$1/driver_override)"; }

# --dry-run changes nothing.
before=$(st $E1E)
gp bind --dry-run $E1E > /tmp/plan.txt; rc=$?
check "dry run exits 0 and prints the override write" sh -c "[ $rc = 0 ] && grep -q 'echo vfio-pci > /sys/bus/pci/devices/$E1E/driver_override' /tmp/plan.txt"
check "dry run changed nothing" [ "$(st $E1E)" = "$before" ]

# A device with a host driver, in its own group.
G=$(grp $E1E)
gp bind --json $E1E > $H$J; rc=$?
check "bind e1000e: exit 0" [ $rc = 0 ]
check "e1000e is on vfio-pci, with the override set" [ "$(st $E1E)" = "vfio-pci vfio-pci" ]
check "the kernel made /dev/vfio/$G" [ -c /dev/vfio/$G ]
check "the report says e1000e -> vfio-pci" [ "$(q $J '[(x["from"], x["to"]) for x in d["devices"]]')" = "[('e1000e', 'vfio-pci')]" ]
gp bind $E1E > /tmp/again.txt; rc=$?
check "binding again is a no-op" sh -c "[ $rc = 0 ] && grep -q 'Nothing to do' /tmp/again.txt"
gp unbind $E1E > /dev/null; rc=$?
check "unbind e1000e: exit 0, back on e1000e, override cleared" [ "$rc $(st $E1E)" = "0 e1000e (null)" ]
check "/dev/vfio/$G is gone" [ ! -e /dev/vfio/$G ]

# A device without a driver.
gp bind $EDU > /dev/null; rc=$?
check "bind edu (no driver): exit 0, on vfio-pci" [ "$rc $(drv $EDU)" = "0 vfio-pci" ]
# A VM holding its group: unbind is refused, naming the process and the VM; nothing changes.
hold-open /dev/vfio/$(grp $EDU) 60 -name guest=vm-on-edu & holder=$!
sleep 1
gp unbind $EDU 2> /tmp/err.txt; rc=$?
check "unbind refused while /dev/vfio/$(grp $EDU) is held (exit 65), naming the pid and VM" \
  sh -c "[ $rc = 65 ] && grep -q 'pid $holder, VM vm-on-edu' /tmp/err.txt && [ '$(st $EDU)' = 'vfio-pci vfio-pci' ]"
kill $holder; wait $holder 2>/dev/null
gp unbind $EDU > /dev/null; rc=$?
check "unbind edu: exit 0, no driver, override cleared" [ "$rc $(st $EDU)" = "0 none (null)" ]

# A shared group: refused, naming the device that would stay behind; nothing changed.
before=$(st $EDU2)
gp bind $EDU2 2> /tmp/err.txt; rc=$?
check "edu2 refused (group shared with e1000): exit 65" [ $rc = 65 ]
check "the refusal names e1000" grep -q "$E1K" /tmp/err.txt
check "edu2 unchanged" [ "$(st $EDU2)" = "$before" ]

# A host driver is not a bind target: refused before anything is written.
gp bind --driver e1000 $EDU 2> /tmp/err.txt; rc=$?
check "a host driver as target: exit 64, edu untouched" sh -c "[ '$rc $(st $EDU)' = '64 none (null)' ] && grep -q 'not a VFIO driver' /tmp/err.txt"

# The kernel binds nothing although drivers_probe succeeds (the test driver's probe returns
# -ENODEV, as a variant driver does on a device it does not support): caught, rolled back, said so.
# gpuprep loads the driver itself, through libkmod and the guest's module index.
T=/sys/module/gpuprep_test_vfio_pci/parameters
gp bind --driver gpuprep_test_vfio_pci $EDU > /tmp/out.txt 2> /tmp/err.txt; rc=$?
check "a probe that binds nothing: exit 74" [ $rc = 74 ]
check "the error says nothing bound and it was rolled back" sh -c "grep -q 'bound nothing' /tmp/err.txt && grep -q 'rolled back' /tmp/err.txt"
check "edu back as it was" [ "$(st $EDU)" = "none (null)" ]
check "gpuprep loaded the test driver" [ "$(cat $T/probe_result)" = -19 ]

# A module that does not exist: nothing is written.
gp bind --driver no_such_vfio_pci $EDU 2> /tmp/err.txt; rc=$?
check "an unknown module: exit 74, edu untouched" [ "$rc $(st $EDU)" = "74 none (null)" ]

# Fifty times in a row.
fails=0
i=0
while [ $i -lt 50 ]; do
  gp bind $EDU > /dev/null && [ "$(drv $EDU)" = vfio-pci ] || fails=$((fails + 1))
  gp unbind $EDU > /dev/null && [ "$(st $EDU)" = "none (null)" ] || fails=$((fails + 1))
  i=$((i + 1))
done
check "50 bind/unbind cycles of edu, each verified" [ $fails = 0 ]

# --persist where /etc is read-only (the host's / is mounted read-only here): the kernel binds,
# the rules file cannot be written, and the bind is rolled back.
gp bind --persist $EDU > /tmp/out.txt 2> /tmp/err.txt; rc=$?
check "bind --persist on a read-only /etc: exit 74" [ $rc = 74 ]
check "the error names the file and says it was rolled back" sh -c "grep -q '61-gpuprep-vfio.rules' /tmp/err.txt && grep -q 'rolled back' /tmp/err.txt"
check "edu back without a driver, override cleared" [ "$(st $EDU)" = "none (null)" ]
