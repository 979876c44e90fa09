# gpuprep check on a live kernel: the VT-d machine booted with intel_iommu=on iommu=pt.
J=$(out check.json)
gp check --json > $H$J; rc=$?
status() { q $J '[c["status"] for c in d["checks"] if c["id"]=="'$1'"][0]'; }
check "check exits 0 or 1 with a JSON report" [ $rc = 0 -o $rc = 1 ]
check "iommu.firmware passes (QEMU's DMAR table)" [ "$(status iommu.firmware)" = pass ]
check "iommu.enabled passes" [ "$(status iommu.enabled)" = pass ]
check "iommu.cmdline passes (intel_iommu=on)" [ "$(status iommu.cmdline)" = pass ]
check "iommu.passthrough passes (iommu=pt)" [ "$(status iommu.passthrough)" = pass ]
check "modules.vfio passes (vfio, vfio_iommu_type1, vfio_pci loaded)" [ "$(status modules.vfio)" = pass ]
check "every failure carries a remedy" [ "$(q $J 'all(c["remedy"] for c in d["checks"] if c["status"]=="fail")')" = True ]
check "the exit status follows the failures" [ "$(q $J 'd["counts"]["fail"] > 0')" = "$([ $rc = 1 ] && echo True || echo False)" ]
