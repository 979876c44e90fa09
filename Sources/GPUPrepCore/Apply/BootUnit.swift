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
    /// `profile`: the one `apply --persist --profile` applied, so that boot applies the same.
    public static func text(binary: String, profile: String? = nil) -> String {
        """
        # Written by gpuprep: applies /etc/gpuprep/gpuprep.yaml at boot ('gpuprep apply --boot').
        [Unit]
        Description=Apply the GPU layout (gpuprep): VFIO bindings, SR-IOV VFs and vGPUs
        ConditionPathExists=/etc/gpuprep/gpuprep.yaml
        After=systemd-modules-load.service systemd-udev-trigger.service
        After=nvidia-persistenced.service nvidia-vgpud.service nvidia-vgpu-mgr.service nvidia-sriov.service pve-nvidia-sriov@ALL.service
        Before=libvirtd.service virtqemud.service nova-compute.service kubelet.service pve-guests.service
        
        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=\(execWord(binary)) apply --boot --wait 120\(profile.map { " --profile " + $0 } ?? "")
        TimeoutStartSec=300

        [Install]
        WantedBy=multi-user.target

        """
    }

    /// Where this gpuprep is installed (the unit runs the same one).
    public static var binary: String { (Subprocess.ownDirectory ?? "/usr/local/bin") + "/gpuprep" }

    /// One word of `ExecStart=` as systemd reads it (systemd.service, "Command lines"; systemd.unit,
    /// "Specifiers"): `%` is a specifier and `$` a variable, so both are doubled; a word with
    /// white space, quotes, a backslash or a control character is double-quoted, with C escapes.
    /// An install path such as `/opt/my tools/gpuprep` or `/srv/100%/gpuprep` names that program.
    public static func execWord(_ word: String) -> String {
        let plain = word.replacing("%", with: "%%").replacing("$", with: "$$")
        let needsQuotes = word.isEmpty || word.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7f || "\"'\\;".unicodeScalars.contains($0) }
        guard needsQuotes else { return plain }
        var quoted = "\""
        for scalar in plain.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f { quoted += "\\x" + hex(UInt16(scalar.value), 2) } else { quoted.unicodeScalars.append(scalar) }
            }
        }
        return quoted + "\""
    }

    /// A profile name the unit can carry as one word (vgpu-device-manager labels are such words).
    public static func isUnitWord(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The profile the installed unit applies, if any.
    static func installedProfile(_ text: String?) -> String? {
        guard let line = text?.split(separator: "\n").first(where: { $0.hasPrefix("ExecStart=") }),
              let flag = line.firstRange(of: " --profile ") else { return nil }
        let name = String(line[flag.upperBound...].prefix { $0 != " " })
        return isUnitWord(name) ? name : nil
    }

    /// The steps that install the unit and enable it (as `systemctl enable` does: a link in
    /// multi-user.target.wants), none when both are there. `profile`: `.some` sets the profile
    /// the unit applies (`apply --persist`); nil keeps the installed unit's (the single commands).
    public static func installSteps(host: HostContext, profile: String?? = nil) -> [Step] {
        var steps: [Step] = []
        let installed = AtomicFile(root: host.root).read(.applyUnit)
        let content = text(binary: binary, profile: profile ?? installedProfile(installed))
        if installed != content {
            steps.append(Step(action: .writeFile, path: .applyUnit, value: content, device: nil))
        }
        let link = HostPath.systemdEnabledDir.child("gpuprep-apply.service")
        if host.sysfs.linkTarget(link) != HostPath.applyUnit.string {
            steps.append(Step(action: .link, path: link, value: HostPath.applyUnit.string, device: nil))
        }
        return steps
    }
}
