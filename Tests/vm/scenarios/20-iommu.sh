# gpuprep iommu on a live kernel: its viability verdicts must be the kernel's own.
J=$(out iommu.json)
G2=$(grp $EDU2)
viable() { gp iommu --json > $H$J && q $J '[g["viable"] for g in d["groups"] if g["id"]=='$1'][0]'; }
check "the IOMMU is on" [ "$(gp iommu --json > $H$J && q $J 'd["enabled"]')" = "True" ]
check "edu2 and e1000 share group $G2 with their bridge" [ "$(grp $E1K)" = "$G2" ]

# edu2 on vfio-pci, e1000 still on its driver: the kernel says not viable; so must gpuprep.
to_vfio $EDU2
check "kernel: group $G2 not viable while e1000 is on $(drv $E1K)" [ "$(kernel_viable $G2)" = not-viable ]
check "gpuprep agrees: group $G2 not viable" [ "$(viable $G2)" = False ]
check "gpuprep names e1000 as the blocker" [ "$(q $J '[g["blockers"] for g in d["groups"] if g["id"]=='$G2'][0]')" = "['$E1K']" ]

# e1000 with no driver: viable for both (the bridge never counts).
unbind $E1K
check "kernel: group $G2 viable once e1000 has no driver" [ "$(kernel_viable $G2)" = viable ]
check "gpuprep agrees: group $G2 viable" [ "$(viable $G2)" = True ]
reprobe $E1K; unbind $EDU2

# A group of one, on vfio-pci.
G1=$(grp $E1E); to_vfio $E1E
check "kernel: e1000e's group $G1 viable on vfio-pci" [ "$(kernel_viable $G1)" = viable ]
check "gpuprep agrees: group $G1 viable" [ "$(viable $G1)" = True ]
unbind $E1E; reprobe $E1E
check "e1000e back on its driver" [ "$(drv $E1E)" = e1000e ]
