import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// A vgpus entry's `params`: NVIDIA's vGPU plugin parameters, written to each vGPU's
/// nvidia/vgpu_params as `apply` makes it (or where one there says otherwise), compared by
/// --check, and kept when --persist rewrites the file.
@Suite struct VGPUParamsTests {
    static let layoutText = """
    version: 1
    vgpus:
      - match: {gpu: "0000:26:00.0"}
        type: nvidia-1155
        count: 2
        params: {frame_rate_limiter: 0, disable_vnc: 1}

    """

    @Test func theKeyReadsAndIsWrittenBack() throws {
        let read = try LayoutFile.parse(Self.layoutText, shown: "gpuprep.yaml")
        #expect(read.vgpus.first?.params == [VGPUParam(name: "frame_rate_limiter", value: "0"), VGPUParam(name: "disable_vnc", value: "1")])
        #expect(try LayoutFile.parse(LayoutWriter.render(read), shown: "gpuprep.yaml").vgpus == read.vgpus)
        #expect(VGPUParams.text(read.vgpus[0].params!) == "frame_rate_limiter=0, disable_vnc=1" && VGPUParams.text([]) == " ")
        // A value that would split the list, or a name that is none.
        let bad = layoutError(Self.layoutText.replacingOccurrences(of: "disable_vnc: 1", with: "disable_vnc: \"1, enable_uvm=1\""))
        #expect(bad?.message == "gpuprep.yaml:6: params: disable_vnc is '1, enable_uvm=1': give one word (letters, digits, '_', '.', '-'), as in frame_rate_limiter: 0", "\(bad?.message ?? "")")
        #expect(layoutError(Self.layoutText.replacingOccurrences(of: "params: {", with: "params: {\"a b\": 1, "))?.message.contains("is no vGPU plugin parameter name") == true)
    }

    @Test func applySetsThemOnEveryVGPUOfTheEntry() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        // 26:00.5 holds a 24Q already; this driver gives it no vgpu_params yet: refused, named.
        #expect { try applyLayout(Self.layoutText, on: host, kernel, check: false) } throws: {
            ($0 as? GPUPrepError)?.message.contains("vGPU 0000:26:00.5 has no /sys/bus/pci/devices/0000:26:00.5/nvidia/vgpu_params") == true
        }
        try host.write(host.devicePath("0000:26:00.5") + "/nvidia/vgpu_params", "\n")
        let report = try applyLayout(Self.layoutText, on: host, kernel)
        #expect(report.failure == nil, "\(report.failure?.message ?? "")")
        let made = try #require(report.created.first?.address?.description)
        #expect(report.created.count == 1)
        for vf in [made, "0000:26:00.5"] {
            let file = try String(contentsOfFile: host.path + "/" + host.devicePath(vf) + "/nvidia/vgpu_params", encoding: .utf8)
            #expect(file == "frame_rate_limiter=0, disable_vnc=1\n", "\(vf): \(file)")
        }
        // As the file says: nothing to do; another value is a difference --check reports.
        #expect(try applyLayout(Self.layoutText, on: host, kernel, check: true).changed == false)
        let other = Self.layoutText.replacingOccurrences(of: "disable_vnc: 1", with: "disable_vnc: 0")
        let check = try applyLayout(other, on: host, kernel, check: true)
        #expect(check.changed && check.plan.actions.map(\.shell).contains("echo frame_rate_limiter=0, disable_vnc=0 > /sys/bus/pci/devices/0000:26:00.5/nvidia/vgpu_params"))
        // Without params the entry leaves them as they are.
        let without = Self.layoutText.replacingOccurrences(of: "    params: {frame_rate_limiter: 0, disable_vnc: 1}\n", with: "")
        #expect(try applyLayout(without, on: host, kernel, check: true).changed == false)
    }
}
