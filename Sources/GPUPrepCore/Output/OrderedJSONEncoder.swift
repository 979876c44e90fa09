/// An Encoder that writes indented JSON as the values arrive, keys in the order the reports
/// write them (the contract's order: `schemaVersion`, then `address`, `kind`, ...).
///
/// Every container implements every primitive the Encoder protocols name (all integer widths,
/// Float, Double, Bool, String, nil) with its own method. A generic `encode<T>` must never be
/// what a primitive reaches: a primitive's encode(to:) asks its container to encode itself,
/// so a generic witness that calls encode(to:) again never ends (it did, for UInt16).
///
/// Foundation's JSONEncoder orders keys at random unless sorted, and it, then a tree of nodes
/// written out at the end, were most of `list --all --json`'s time on a large host (callgrind).
/// Writing straight into one byte buffer needs the values to come in order, which is how every
/// Encodable here (and the standard library's arrays and optionals) writes them: a value is
/// finished before the next key of its container begins. A container is closed when a key or
/// element of an outer one begins, or at the end.
final class OrderedJSONEncoder {
    struct State {
        var out: [UInt8] = []
        /// The containers still open, outermost first: whether each is an array, and whether a
        /// member has been written into it yet. The container at index d holds values of depth d + 1.
        var open: [(isArray: Bool, hasMembers: Bool)] = []
        /// Whether the value now being written (after a key, as an element, or the root) has begun.
        var valueBegun = false
    }
    /// The state lives behind a pointer, not in stored properties: Swift checks every access to
    /// a class's stored property for exclusivity at run time, and those checks were an eighth
    /// of a large report's time. Only this class touches it, one access at a time.
    private let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
    private var out: [UInt8] {
        _read { yield state.pointee.out }
        _modify { yield &state.pointee.out }
    }
    private var open: [(isArray: Bool, hasMembers: Bool)] {
        _read { yield state.pointee.open }
        _modify { yield &state.pointee.open }
    }
    private var valueBegun: Bool {
        get { state.pointee.valueBegun }
        set { state.pointee.valueBegun = newValue }
    }

    private init() { state.initialize(to: State()) }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = OrderedJSONEncoder()
        encoder.out.reserveCapacity(1 << 16)
        try encoder.write(value, depth: 0)
        encoder.close(downTo: 0)
        encoder.out.append(UInt8(ascii: "\n"))
        return String(decoding: encoder.out, as: UTF8.self)
    }

    // MARK: Structure

    /// Begins a member of the container at `depth`: closes what is open inside it, then writes
    /// the separator, the indentation and the key (none in an array).
    fileprivate func beginMember(of depth: Int, key: String?) {
        close(downTo: depth + 1)
        precondition(open.count == depth + 1, "JSON containers written out of order")
        append(open[depth].hasMembers ? ",\n" : "\n")
        open[depth].hasMembers = true
        indent(depth + 1)
        if let key {
            writeQuoted(key)
            append(": ")
        }
        valueBegun = false
    }

    /// Opens a container as the value at `depth` (or returns to it when asked for it again).
    fileprivate func openContainer(depth: Int, isArray: Bool) {
        if open.count == depth + 1 && valueBegun { return }
        precondition(open.count == depth, "JSON containers written out of order")
        out.append(isArray ? UInt8(ascii: "[") : UInt8(ascii: "{"))
        open.append((isArray, false))
        valueBegun = true
    }

    /// Closes the open containers deeper than `depth`.
    private func close(downTo depth: Int) {
        while open.count > depth {
            let container = open.removeLast()
            if container.hasMembers {
                out.append(UInt8(ascii: "\n"))
                indent(open.count)
            }
            out.append(container.isArray ? UInt8(ascii: "]") : UInt8(ascii: "}"))
        }
    }

    private func indent(_ level: Int) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
    }

    private func append(_ text: StaticString) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    // MARK: Values

    /// Writes a value at `depth`. Reports hand most values over as generics (optionals above
    /// all), so the common scalar types are told apart by their type, which costs a comparison,
    /// rather than by a cast or a round through Encodable. Dictionaries get sorted keys, for
    /// output that never changes.
    fileprivate func write<T: Encodable>(_ value: T, depth: Int) throws {
        if writeScalar(value) { return }
        if T.self == [String: String].self {
            let dictionary = unsafeBitCast(value, to: [String: String].self)
            openContainer(depth: depth, isArray: false)
            for key in dictionary.keys.sorted() { beginMember(of: depth, key: key); writeScalar(dictionary[key]!) }
        } else if T.self == [String: Int].self {
            let dictionary = unsafeBitCast(value, to: [String: Int].self)
            openContainer(depth: depth, isArray: false)
            for key in dictionary.keys.sorted() { beginMember(of: depth, key: key); writeScalar(dictionary[key]!) }
        } else {
            try value.encode(to: Writer(encoder: self, depth: depth))
            if !valueBegun { writeNull() }   // a value that wrote nothing
        }
    }

    /// Writes a value of the common scalar types (and their optionals); false for others.
    @discardableResult
    fileprivate func writeScalar<T>(_ value: T) -> Bool {
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(String.self): writeString(unsafeBitCast(value, to: String.self))
        case ObjectIdentifier(String?.self): unsafeBitCast(value, to: String?.self).map(writeString) ?? writeNull()
        case ObjectIdentifier(Int.self): writeNumber(unsafeBitCast(value, to: Int.self))
        case ObjectIdentifier(Int?.self): unsafeBitCast(value, to: Int?.self).map(writeNumber) ?? writeNull()
        case ObjectIdentifier(Bool.self): writeBool(unsafeBitCast(value, to: Bool.self))
        case ObjectIdentifier(Bool?.self): unsafeBitCast(value, to: Bool?.self).map(writeBool) ?? writeNull()
        case ObjectIdentifier(PCIAddress.self): writeString(unsafeBitCast(value, to: PCIAddress.self).description)
        case ObjectIdentifier(PCIAddress?.self): unsafeBitCast(value, to: PCIAddress?.self).map { writeString($0.description) } ?? writeNull()
        default: return false
        }
        return true
    }

    fileprivate func writeNull() { append("null"); valueBegun = true }
    fileprivate func writeBool(_ value: Bool) { value ? append("true") : append("false"); valueBegun = true }
    fileprivate func writeNumber<N: BinaryInteger>(_ value: N) { out.append(contentsOf: String(value).utf8); valueBegun = true }
    fileprivate func writeString(_ text: String) { writeQuoted(text); valueBegun = true }
    /// A float as Swift prints it (the shortest text that reads back the same); JSON has no
    /// infinity or NaN, so those are null.
    fileprivate func writeFloat<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) {
        if value.isFinite { out.append(contentsOf: value.description.utf8); valueBegun = true } else { writeNull() }
    }

    private func writeQuoted(_ text: String) { Self.appendQuoted(text, to: &state.pointee.out) }

    /// `text` as a JSON string, appended to `out` (the one JSON escaping in the project; the
    /// exporters quote with it too).
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var text = text
        // Most strings (addresses, ids, names) need no escaping: one append, not one a byte.
        let plain = text.withUTF8 { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if plain { return }
        func append(_ escape: StaticString) { escape.withUTF8Buffer { out.append(contentsOf: $0) } }
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\r"): append("\\r")
            case UInt8(ascii: "\t"): append("\\t")
            case 0..<0x20:
                append("\\u00")
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xf)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: The Encoder protocols

    // The coding path is always empty: nothing in gpuprep reads it, and keeping it cost an
    // array per encoded value.
    struct Writer: Encoder {
        let encoder: OrderedJSONEncoder
        let depth: Int
        var codingPath: [CodingKey] { [] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            encoder.openContainer(depth: depth, isArray: false)
            return KeyedEncodingContainer(Keyed<Key>(encoder: encoder, depth: depth))
        }
        func unkeyedContainer() -> UnkeyedEncodingContainer {
            encoder.openContainer(depth: depth, isArray: true)
            return Unkeyed(encoder: encoder, depth: depth)
        }
        func singleValueContainer() -> SingleValueEncodingContainer { Single(encoder: encoder, depth: depth) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: OrderedJSONEncoder
        let depth: Int
        var codingPath: [CodingKey] { [] }

        private func begin(_ key: Key) { encoder.beginMember(of: depth, key: key.stringValue) }
        mutating func encodeNil(forKey key: Key) throws { begin(key); encoder.writeNull() }
        mutating func encode(_ value: Bool, forKey key: Key) throws { begin(key); encoder.writeBool(value) }
        mutating func encode(_ value: String, forKey key: Key) throws { begin(key); encoder.writeString(value) }
        mutating func encode(_ value: Int, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { begin(key); encoder.writeNumber(value) }
        mutating func encode(_ value: Float, forKey key: Key) throws { begin(key); encoder.writeFloat(value) }
        mutating func encode(_ value: Double, forKey key: Key) throws { begin(key); encoder.writeFloat(value) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            begin(key)
            try encoder.write(value, depth: depth + 1)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            begin(key)
            encoder.openContainer(depth: depth + 1, isArray: false)
            return KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder, depth: depth + 1))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            begin(key)
            encoder.openContainer(depth: depth + 1, isArray: true)
            return Unkeyed(encoder: encoder, depth: depth + 1)
        }
        mutating func superEncoder() -> Encoder {
            encoder.beginMember(of: depth, key: "super")
            return Writer(encoder: encoder, depth: depth + 1)
        }
        mutating func superEncoder(forKey key: Key) -> Encoder {
            begin(key)
            return Writer(encoder: encoder, depth: depth + 1)
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: OrderedJSONEncoder
        let depth: Int
        var codingPath: [CodingKey] { [] }
        private(set) var count = 0

        init(encoder: OrderedJSONEncoder, depth: Int) { self.encoder = encoder; self.depth = depth }

        private mutating func begin() { encoder.beginMember(of: depth, key: nil); count += 1 }
        mutating func encodeNil() throws { begin(); encoder.writeNull() }
        mutating func encode(_ value: Bool) throws { begin(); encoder.writeBool(value) }
        mutating func encode(_ value: String) throws { begin(); encoder.writeString(value) }
        mutating func encode(_ value: Int) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: Int8) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: Int16) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: Int32) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: Int64) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt8) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt16) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt32) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: UInt64) throws { begin(); encoder.writeNumber(value) }
        mutating func encode(_ value: Float) throws { begin(); encoder.writeFloat(value) }
        mutating func encode(_ value: Double) throws { begin(); encoder.writeFloat(value) }
        mutating func encode<T: Encodable>(_ value: T) throws { begin(); try encoder.write(value, depth: depth + 1) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            begin()
            encoder.openContainer(depth: depth + 1, isArray: false)
            return KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder, depth: depth + 1))
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            begin()
            encoder.openContainer(depth: depth + 1, isArray: true)
            return Unkeyed(encoder: encoder, depth: depth + 1)
        }
        mutating func superEncoder() -> Encoder { begin(); return Writer(encoder: encoder, depth: depth + 1) }
    }

    struct Single: SingleValueEncodingContainer {
        let encoder: OrderedJSONEncoder
        let depth: Int
        var codingPath: [CodingKey] { [] }
        mutating func encodeNil() throws { encoder.writeNull() }
        mutating func encode(_ value: Bool) throws { encoder.writeBool(value) }
        mutating func encode(_ value: String) throws { encoder.writeString(value) }
        mutating func encode(_ value: Int) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: Int8) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: Int16) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: Int32) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: Int64) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: UInt) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: UInt8) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: UInt16) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: UInt32) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: UInt64) throws { encoder.writeNumber(value) }
        mutating func encode(_ value: Float) throws { encoder.writeFloat(value) }
        mutating func encode(_ value: Double) throws { encoder.writeFloat(value) }
        mutating func encode<T: Encodable>(_ value: T) throws { try encoder.write(value, depth: depth) }
    }
}
