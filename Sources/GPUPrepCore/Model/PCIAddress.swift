/// A PCI function address, `DDDD:BB:DD.F` (domain, bus, device, function), always shown in lower-case hex.
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let domain: UInt32
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    public init(domain: UInt32, bus: UInt8, device: UInt8, function: UInt8) {
        self.domain = domain; self.bus = bus; self.device = device; self.function = function
    }

    /// Parses `DDDD:BB:DD.F` (4 to 8 domain digits), or the short `BB:DD.F` (domain 0000), in hex
    /// of either case. Returns nil for anything else.
    public init?<S: StringProtocol>(_ text: S) {
        // Byte by byte: discovery parses every address of a host with thousands of functions.
        var bytes = Array(text.utf8)
        if bytes.count == 7 { bytes.insert(contentsOf: Array("0000:".utf8), at: 0) }
        let n = bytes.count
        guard (12...16).contains(n), bytes[n - 8] == UInt8(ascii: ":"), bytes[n - 5] == UInt8(ascii: ":"),
              bytes[n - 2] == UInt8(ascii: ".") else { return nil }
        func number(_ range: Range<Int>) -> UInt32? { hexNumber(bytes[range]) }
        guard let domain = number(0..<(n - 8)), let bus = number((n - 7)..<(n - 5)),
              let device = number((n - 4)..<(n - 2)), device < 32,
              let function = number((n - 1)..<n), function < 8
        else { return nil }
        self.init(domain: domain, bus: UInt8(bus), device: UInt8(device), function: UInt8(function))
    }

    /// The slot (domain, bus, device) this function belongs to; functions of one card share it.
    public var slot: PCIAddress { PCIAddress(domain: domain, bus: bus, device: device, function: 0) }

    public var description: String {
        hex(domain, 4) + ":" + short(bus: bus, device: device, function: function)
    }

    /// `BB:DD.F`, the short form lspci prints for domain 0.
    public var short: String { domain == 0 ? short(bus: bus, device: device, function: function) : description }

    private func short(bus: UInt8, device: UInt8, function: UInt8) -> String {
        String(unsafeUninitializedCapacity: 7) { out in
            out[0] = hexDigits[Int(bus >> 4)]; out[1] = hexDigits[Int(bus & 0xf)]; out[2] = UInt8(ascii: ":")
            out[3] = hexDigits[Int(device >> 4)]; out[4] = hexDigits[Int(device & 0xf)]; out[5] = UInt8(ascii: ".")
            out[6] = hexDigits[Int(function & 0xf)]
            return 7
        }
    }

    public static func < (a: PCIAddress, b: PCIAddress) -> Bool {
        (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = PCIAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad PCI address \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
