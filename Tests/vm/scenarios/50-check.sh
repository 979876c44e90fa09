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
summary() { q $J '[c["summary"] for c in d["checks"] if c["id"]=="'$1'"][0]'; }
check "iommu.interrupt_remapping reads ECAP.IR of QEMU's intel-iommu (intremap=on)" \
  same "$(summary iommu.interrupt_remapping)" "interrupt remapping is supported by every IOMMU unit and not disabled"
echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
gp check --json > $H$J
check "allow_unsafe_interrupts set in the running module: a warning naming it" \
  sh -c "[ '$(status iommu.interrupt_remapping)' = warn ] && echo '$(summary iommu.interrupt_remapping)' | grep -q 'allow_unsafe_interrupts is Y'"
echo 0 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
gp check --json > $H$J
check "every failure carries a remedy" [ "$(q $J 'all(c["remedy"] for c in d["checks"] if c["status"]=="fail")')" = True ]
check "the exit status follows the failures" [ "$(q $J 'd["counts"]["fail"] > 0')" = "$([ $rc = 1 ] && echo True || echo False)" ]
