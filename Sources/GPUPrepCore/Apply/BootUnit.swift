import GPUPrepSystem

/// gpuprep-apply.service: at boot, `gpuprep apply --boot` takes the host to its layout file.
///
/// Ordering (facts in shared/notes/vgpu-and-stacks.md): VFs can be enabled only once the nvidia
/// driver has the GPU, and vGPUs made only while NVIDIA's vGPU manager runs
/// (nvidia-vgpu-mgr.service; nvidia-vgpud.service on older releases), so it runs after them and
/// after udev has loaded drivers; and before the stacks that start VMs on those devices
/// (libvirtd, nova-compute, kubelet, Proxmox's pve-guests), which would otherwise find them
/// missing. `After=` on a unit that is not installed is no error, so one unit serves every host.
/// Instead of systemd-udev-settle (deprecated) or a fixed sleep, `--boot` waits, bounded, for
/// the devices and drivers the layout names.
public enum BootUnit {
    public static func text(binary: String) -> String {
        """
        # Written by gpuprep: applies /etc/gpuprep/gpuprep.yaml at boot ('gpuprep apply --boot').
        [Unit]
        Description=Apply the GPU layout (gpuprep): VFIO bindings, SR-IOV VFs and vGPUs
        ConditionPathExists=/etc/gpuprep/gpuprep.yaml
        After=systemd-modules-load.service systemd-udev-trigger.service
        After=nvidia-persistenced.service nvidia-vgpud.service nvidia-vgpu-mgr.service nvidia-sriov.service
        Before=libvirtd.service virtqemud.service nova-compute.service kubelet.service pve-guests.service
        
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=\(binary) apply --boot --wait 120
        TimeoutStartSec=300

        [Install]
        WantedBy=multi-user.target

        """
    }

    /// Where this gpuprep is installed (the unit runs the same one).
    public static var binary: String { (Subprocess.ownDirectory ?? "/usr/local/bin") + "/gpuprep" }

    /// The steps that install the unit and enable it (as `systemctl enable` does: a link in
    /// multi-user.target.wants), none when both are there.
    public static func installSteps(host: HostContext) -> [Step] {
        var steps: [Step] = []
        let content = text(binary: binary)
        if AtomicFile(root: host.root).read(.applyUnit) != content {
            steps.append(Step(action: .writeFile, path: .applyUnit, value: content, device: nil))
        }
        let link = HostPath.systemdEnabledDir.child("gpuprep-apply.service")
        if host.sysfs.linkTarget(link) != HostPath.applyUnit.string {
            steps.append(Step(action: .link, path: link, value: HostPath.applyUnit.string, device: nil))
        }
        return steps
    }
}
