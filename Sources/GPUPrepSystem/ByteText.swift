import Glibc

/// Host files edited as text, kept byte for byte. A file is not always UTF-8: `root=LABEL=caf\xe9`
/// in a Latin-1 `/etc/kernel/cmdline`, a comment pasted from elsewhere in /etc/default/grub.
/// Swift's decoding puts U+FFFD in place of such bytes, so writing the text back would change an
/// argument the admin never touched.
///
/// Each byte that is not part of valid UTF-8 is decoded as one scalar of its own in Unicode's
/// last private-use plane (U+10FF00 + the byte) and encoded back as that byte. Valid UTF-8 that
/// already encodes one of those scalars is kept as its four bytes the same way, so decoding and
/// encoding are exact inverses for every file. Text gpuprep adds is ASCII.
public enum ByteText {
    static let base: UInt32 = 0x10FF00

    public static func decode(_ bytes: [UInt8]) -> String {
        // The common case: valid UTF-8 (decoding changed nothing) with no U+10FFxx (F4 8F BC-BF).
        guard !bytes.isEmpty else { return "" }
        let text = String(decoding: bytes, as: UTF8.self)
        let exact = bytes.withUnsafeBytes { raw in
            memchr(raw.baseAddress!, 0xf4, raw.count) == nil && text.utf8.count == raw.count
                && text.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 } == true
        }
        if exact { return text }
        var scalars = String.UnicodeScalarView()
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        func escape(_ range: Range<Int>) {
            for byte in bytes[range] { scalars.append(Unicode.Scalar(base + UInt32(byte))!) }
        }
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar.value >= base { escape(offset..<offset + encoded.count) } else { scalars.append(scalar) }
                offset += encoded.count
            case .error(let length):
                escape(offset..<offset + length)
                offset += length
            case .emptyInput:
                break loop
            }
        }
        return String(scalars)
    }

    public static func encode(_ text: String) -> [UInt8] {
        var text = text
        let plain = text.withUTF8 { $0.isEmpty || memchr($0.baseAddress!, 0xf4, $0.count) == nil }
        guard !plain else { return Array(text.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value >= base { bytes.append(UInt8(scalar.value - base)) } else { bytes += Array(String(scalar).utf8) }
        }
        return bytes
    }

    /// Whether the scalar stands for a byte kept as it was (shown as `\xNN`).
    public static func keptByte(_ scalar: Unicode.Scalar) -> UInt8? {
        scalar.value >= base ? UInt8(scalar.value - base) : nil
    }
}
