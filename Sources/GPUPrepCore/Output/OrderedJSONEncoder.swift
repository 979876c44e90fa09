/// An Encoder that keeps keys in the order the reports write them (the contract's order:
/// `schemaVersion`, then `address`, `kind`, ...) and writes indented JSON. Foundation's
/// JSONEncoder orders keys at random unless sorted, and was a third of `list --json`'s time.
final class OrderedJSONEncoder {
    /// A value being built; containers add to it in place.
    final class Node {
        enum Kind { case object, array, scalar }
        var kind: Kind
        var keys: [String] = []
        var children: [Node] = []
        /// The serialized scalar (`"text"`, `12`, `true`, `null`).
        var scalar = "null"
        init(_ kind: Kind) { self.kind = kind }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let root = Node(.scalar)
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(root, depth: 0, into: &out)
        out.append(UInt8(ascii: "\n"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes, not string concatenation: a large report is megabytes of indentation and keys.
    static func write(_ node: Node, depth: Int, into out: inout [UInt8]) {
        func indent(_ level: Int) { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2)) }
        switch node.kind {
        case .scalar:
            out.append(contentsOf: node.scalar.utf8)
        case .array, .object:
            let (open, close): (UInt8, UInt8) = node.kind == .array ? (UInt8(ascii: "["), UInt8(ascii: "]")) : (UInt8(ascii: "{"), UInt8(ascii: "}"))
            out.append(open)
            guard !node.children.isEmpty else { out.append(close); return }
            out.append(UInt8(ascii: "\n"))
            for (index, child) in node.children.enumerated() {
                indent(depth + 1)
                if node.kind == .object {
                    out.append(contentsOf: quoted(node.keys[index]).utf8)
                    out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                }
                write(child, depth: depth + 1, into: &out)
                if index < node.children.count - 1 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "\n"))
            }
            indent(depth)
            out.append(close)
        }
    }

    static func quoted(_ text: String) -> String {
        // Most strings (addresses, ids, names) need no escaping at all.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + text + "\""
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Encodes one value into a node; dictionaries get sorted keys, for output that never changes.
    static func encodeValue<T: Encodable>(_ value: T, into node: Node, codingPath: [CodingKey]) throws {
        if let dictionary = value as? [String: String] {
            node.kind = .object
            for key in dictionary.keys.sorted() { node.keys.append(key); let c = Node(.scalar); c.scalar = quoted(dictionary[key]!); node.children.append(c) }
        } else if let dictionary = value as? [String: Int] {
            node.kind = .object
            for key in dictionary.keys.sorted() { node.keys.append(key); let c = Node(.scalar); c.scalar = String(dictionary[key]!); node.children.append(c) }
        } else {
            try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
        }
    }

    struct NodeEncoder: Encoder {
        let node: Node
        var codingPath: [CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.kind != .object { node.kind = .object }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }
        func unkeyedContainer() -> UnkeyedEncodingContainer {
            node.kind = .array
            return Unkeyed(node: node, codingPath: codingPath)
        }
        func singleValueContainer() -> SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [CodingKey]
        func child(_ key: Key) -> Node {
            let child = Node(.scalar)
            node.keys.append(key.stringValue)
            node.children.append(child)
            return child
        }
        mutating func encodeNil(forKey key: Key) throws { _ = child(key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).scalar = value ? "true" : "false" }
        mutating func encode(_ value: String, forKey key: Key) throws { child(key).scalar = quoted(value) }
        mutating func encode(_ value: Int, forKey key: Key) throws { child(key).scalar = String(value) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { child(key).scalar = String(value) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try encodeValue(value, into: child(key), codingPath: codingPath + [key])
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let c = child(key); c.kind = .object
            return KeyedEncodingContainer(Keyed<NestedKey>(node: c, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            let c = child(key); c.kind = .array
            return Unkeyed(node: c, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> Encoder { NodeEncoder(node: node, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> Encoder { NodeEncoder(node: child(key), codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [CodingKey]
        var count: Int { node.children.count }
        func child() -> Node { let c = Node(.scalar); node.children.append(c); return c }
        mutating func encodeNil() throws { _ = child() }
        mutating func encode(_ value: Bool) throws { child().scalar = value ? "true" : "false" }
        mutating func encode(_ value: String) throws { child().scalar = quoted(value) }
        mutating func encode(_ value: Int) throws { child().scalar = String(value) }
        mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, into: child(), codingPath: codingPath) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let c = child(); c.kind = .object
            return KeyedEncodingContainer(Keyed<NestedKey>(node: c, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let c = child(); c.kind = .array
            return Unkeyed(node: c, codingPath: codingPath)
        }
        mutating func superEncoder() -> Encoder { NodeEncoder(node: child(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [CodingKey]
        mutating func encodeNil() throws { node.kind = .scalar; node.scalar = "null" }
        mutating func encode(_ value: Bool) throws { node.kind = .scalar; node.scalar = value ? "true" : "false" }
        mutating func encode(_ value: String) throws { node.kind = .scalar; node.scalar = quoted(value) }
        mutating func encode(_ value: Int) throws { node.kind = .scalar; node.scalar = String(value) }
        mutating func encode(_ value: Int32) throws { node.kind = .scalar; node.scalar = String(value) }
        mutating func encode(_ value: UInt8) throws { node.kind = .scalar; node.scalar = String(value) }
        mutating func encode(_ value: Double) throws { node.kind = .scalar; node.scalar = value.isFinite ? "\(value)" : "null" }
        mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, into: node, codingPath: codingPath) }
    }
}
