# gpuprep list on a live kernel: every function, with the kernel's drivers, groups and modules.
J=$(out list.json)
gp list --all --json > $H$J 2>/tmp/err; echo "list --all exit $?"; cat /tmp/err
check "list --all --json exits 0" [ -s $H$J ]
check "every sysfs function is listed" [ "$(q $J 'len(d["devices"])')" = "$(ls $P/devices | wc -l)" ]
check "e1000e on its driver, with its group" [ "$(q $J '[(x["driver"], x["iommuGroup"]) for x in d["devices"] if x["address"]=="'$E1E'"][0]')" = "('e1000e', $(grp $E1E))" ]
check "edu has no driver" [ "$(q $J '[x["driver"] for x in d["devices"] if x["address"]=="'$EDU'"][0]')" = "None" ]
check "libkmod finds e1000e's module in this kernel" [ "$(q $J '[x["modules"] for x in d["devices"] if x["address"]=="'$E1E'"][0]')" = "['e1000e']" ]
check "no NVIDIA GPU: plain message, exit 0" sh -c "chroot $H $GPUPREP list | grep -q 'No NVIDIA GPU found'"
# lspci (the host's, in the same chroot) over the same kernel agrees on drivers.
chroot $H /usr/bin/lspci -Dnnk > /tmp/lspci.txt 2>/dev/null
for dev in $E1E $E1K; do
  theirs=$(grep -A3 "^$dev " /tmp/lspci.txt | sed -n 's/.*Kernel driver in use: //p')
  ours=$(q $J '[x["driver"] for x in d["devices"] if x["address"]=="'$dev'"][0]')
  check "lspci and gpuprep agree: $dev on $(drv $dev)" [ -n "$theirs" -a "$theirs" = "$ours" -a "$ours" = "$(drv $dev)" ]
done
