import GPUPrepSystem

/// NVIDIA's vGPU catalogue, `/usr/share/nvidia/vgpu/vgpuConfig.xml`, installed with the vGPU
/// manager: every vGPU type the driver release knows, and which physical GPUs take which.
///
/// The shape, as NVIDIA's own `vgpu-config` generator reads it (NVIDIA/vgpu-device-manager,
/// branch config-gen-tool, cmd/vgpu-config/types.go:20-52 and generate.go:52-110) and as
/// xen-api's reader does (ocaml/xapi/xapi_vgpu_type.ml, Vendor_nvidia):
///
/// ```xml
/// <vgpuType id="1155" name="NVIDIA L40S-24Q" class="Quadro">
///   <devId vendorId="0x10DE" deviceId="0x26B9" subsystemVendorId="0x10DE" subsystemId="0x..."/>
///   <framebuffer>0x5F8000000</framebuffer> <numHeads>4</numHeads> ...
/// </vgpuType>
/// <pgpu>
///   <devId vendorId="0x10DE" deviceId="0x26B9" subsystemVendorId="0x10DE" subsystemId="0x0"/>
///   <supportedVgpu vgpuId="1155"><maxVgpus>2</maxVgpus></supportedVgpu>
/// </pgpu>
/// ```
///
/// Ids are hex with `0x` (parsed as Go's `ParseUint(s, 0, 16)` does); `framebuffer` is in bytes
/// (what the guest gets, a little under the name's nominal size). A type belongs to the models
/// of the `pgpu`s that list it, and to its own `devId`'s device. Only what gpuprep needs is read,
/// by a scan of the tags (no entity, CDATA or namespace is needed for these elements); anything
/// else is skipped, and a file that is not this shape gives no types.
public enum NVIDIAVGPUConfig {
    /// Model (`10de:26b9`) -> its types.
    public static func parse(_ bytes: [UInt8]) -> [String: [VGPUCatalogue.Entry]] {
        var types: [Int: (entry: VGPUCatalogue.Entry, model: String?)] = [:]
        var supported: [String: [(id: Int, max: Int?)]] = [:]
        var scanner = TagScanner(bytes: bytes)
        // What the element being read is, and what it has said so far.
        var currentType: (id: Int, name: String, model: String?, framebuffer: Int?)?
        var currentPGPU: (model: String?, list: [(id: Int, max: Int?)])?
        var currentSupported: (id: Int, max: Int?)?
        var textOf: String?
        while let tag = scanner.next() {
            switch (tag.name, tag.closing) {
            case ("vgpuType", false):
                if let id = tag.attributes["id"].flatMap(number), let name = tag.attributes["name"] { currentType = (id, name, nil, nil) }
                if tag.selfClosing { currentType = nil }
            case ("vgpuType", true):
                if let type = currentType {
                    let size = type.framebuffer.map { $0 >> 20 }
                    let entry = VGPUCatalogue.Entry(id: type.id, name: type.name,
                                                    framebufferMiB: VGPUCapacityModel.framebufferMiB(name: type.name) ?? size)
                    types[type.id] = (entry, type.model)
                }
                currentType = nil
            case ("pgpu", false): currentPGPU = (nil, [])
            case ("pgpu", true):
                if let pgpu = currentPGPU, let model = pgpu.model { supported[model, default: []] += pgpu.list }
                currentPGPU = nil
            case ("devId", false):
                let model = modelKey(vendor: tag.attributes["vendorId"], device: tag.attributes["deviceId"])
                if currentSupported == nil, currentPGPU != nil { currentPGPU!.model = model }
                else if currentType != nil { currentType!.model = model }
            case ("supportedVgpu", false):
                currentSupported = tag.attributes["vgpuId"].flatMap(number).map { ($0, nil) }
                if tag.selfClosing, let done = currentSupported { currentPGPU?.list.append(done); currentSupported = nil }
            case ("supportedVgpu", true):
                if let done = currentSupported { currentPGPU?.list.append(done) }
                currentSupported = nil
            case ("framebuffer", false), ("maxVgpus", false): textOf = tag.name; scanner.captureText = true
            case ("framebuffer", true):
                if currentType != nil, textOf == "framebuffer" { currentType!.framebuffer = scanner.text.flatMap(number) }
                textOf = nil
            case ("maxVgpus", true):
                if currentSupported != nil, textOf == "maxVgpus" { currentSupported!.max = scanner.text.flatMap(number) }
                textOf = nil
            default: break
            }
        }
        var result: [String: [VGPUCatalogue.Entry]] = [:]
        func add(_ model: String, _ entry: VGPUCatalogue.Entry) {
            if !(result[model]?.contains { $0.id == entry.id } ?? false) { result[model, default: []].append(entry) }
        }
        for (model, list) in supported {
            for item in list {
                guard var entry = types[item.id]?.entry else { continue }
                entry.maxInstances = item.max
                add(model, entry)
            }
        }
        for (_, type) in types.sorted(by: { $0.key < $1.key }) { if let model = type.model { add(model, type.entry) } }
        return result
    }

    static func modelKey(vendor: String?, device: String?) -> String? {
        guard let vendor = vendor.flatMap(number), let device = device.flatMap(number), vendor <= 0xffff, device <= 0xffff else { return nil }
        return hex(UInt16(vendor), 4) + ":" + hex(UInt16(device), 4)
    }

    /// `0x26B9`, `9728` (as Go's ParseUint with base 0: hex with 0x, decimal without).
    static func number(_ text: String) -> Int? {
        let trimmed = text.trimmed()
        if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") { return Int(trimmed.dropFirst(2), radix: 16) }
        return Int(trimmed)
    }

    /// The start and end tags of an XML document, with their attributes; comments, processing
    /// instructions and declarations skipped. Text is kept only when asked (`captureText`).
    struct TagScanner {
        struct Tag { var name: String; var closing: Bool; var selfClosing: Bool; var attributes: [String: String] }
        let bytes: [UInt8]
        var at = 0
        var captureText = false
        var text: String?

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() -> Tag? {
            while at < bytes.count {
                guard let open = bytes[at...].firstIndex(of: UInt8(ascii: "<")) else { at = bytes.count; return nil }
                if captureText { text = String(decoding: bytes[at..<open], as: UTF8.self); captureText = false }
                at = open + 1
                if starts(with: "!--") {
                    guard let end = find("-->") else { at = bytes.count; return nil }
                    at = end + 3
                    continue
                }
                if at < bytes.count, bytes[at] == UInt8(ascii: "?") || bytes[at] == UInt8(ascii: "!") {
                    guard let end = bytes[at...].firstIndex(of: UInt8(ascii: ">")) else { at = bytes.count; return nil }
                    at = end + 1
                    continue
                }
                guard let close = tagEnd() else { at = bytes.count; return nil }
                var body = bytes[at..<close]
                at = close + 1
                let closing = body.first == UInt8(ascii: "/")
                if closing { body = body.dropFirst() }
                let selfClosing = body.last == UInt8(ascii: "/")
                if selfClosing { body = body.dropLast() }
                let nameEnd = body.firstIndex { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d } ?? body.endIndex
                return Tag(name: String(decoding: body[..<nameEnd], as: UTF8.self), closing: closing, selfClosing: selfClosing,
                           attributes: attributes(body[nameEnd...]))
            }
            return nil
        }

        /// The `>` that ends the tag starting at `at`, outside quoted attribute values.
        func tagEnd() -> Int? {
            var quote: UInt8?
            var index = at
            while index < bytes.count {
                let byte = bytes[index]
                if let q = quote { if byte == q { quote = nil } }
                else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { quote = byte }
                else if byte == UInt8(ascii: ">") { return index }
                index += 1
            }
            return nil
        }

        func starts(with text: String) -> Bool {
            let wanted = Array(text.utf8)
            return at + wanted.count <= bytes.count && bytes[at..<(at + wanted.count)].elementsEqual(wanted)
        }

        func find(_ text: String) -> Int? {
            let wanted = Array(text.utf8)
            var index = at
            while index + wanted.count <= bytes.count {
                if bytes[index] == wanted[0] && bytes[index..<(index + wanted.count)].elementsEqual(wanted) { return index }
                index += 1
            }
            return nil
        }

        /// `key="value"` pairs (either quote); the five predefined entities in values decoded.
        func attributes(_ body: ArraySlice<UInt8>) -> [String: String] {
            var result: [String: String] = [:]
            var index = body.startIndex
            while index < body.endIndex {
                guard let equals = body[index...].firstIndex(of: UInt8(ascii: "=")) else { break }
                let key = String(decoding: body[index..<equals], as: UTF8.self).trimmed()
                var start = equals + 1
                while start < body.endIndex, body[start] == 0x20 { start += 1 }
                guard start < body.endIndex, body[start] == UInt8(ascii: "\"") || body[start] == UInt8(ascii: "'"),
                      let end = body[(start + 1)...].firstIndex(of: body[start]) else { break }
                result[key] = decodeEntities(String(decoding: body[(start + 1)..<end], as: UTF8.self))
                index = end + 1
            }
            return result
        }

        func decodeEntities(_ text: String) -> String {
            guard text.contains("&") else { return text }
            return text.replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&quot;", with: "\"")
                .replacing("&apos;", with: "'").replacing("&amp;", with: "&")
        }
    }
}
