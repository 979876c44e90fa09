# gpuprep conflicts on a live kernel: shared groups and a group held open by a process.
J=$(out conflicts.json)
G2=$(grp $EDU2)
gp conflicts --json $EDU2 > $H$J; rc=$?
check "edu2 blocked: exit 1" [ $rc = 1 ]
check "the blocker is e1000 on its driver, sharing group $G2" [ "$(q $J '[(b["kind"], b["address"], b["driver"]) for b in d["conflicts"][0]["blockers"]]')" = "[('shared-group', '$E1K', '$(drv $E1K)')]" ]
gp conflicts $EDU > /dev/null; rc=$?
check "edu alone in its group: exit 0" [ $rc = 0 ]

# A process holding /dev/vfio/N: the group is in use.
G=$(grp $EDU); to_vfio $EDU
sleep 30 < /dev/vfio/$G & holder=$!
gp conflicts --json $EDU > $H$J; rc=$?
check "group $G held open: exit 1" [ $rc = 1 ]
check "the holder is named with its pid" [ "$(q $J '[(b["kind"], b["process"]["pid"]) for b in d["conflicts"][0]["blockers"]]')" = "[('group-in-use', $holder)]" ]
kill $holder; wait $holder 2>/dev/null; unbind $EDU
