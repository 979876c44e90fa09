/// Lower-case hex of an unsigned value, zero-padded to `width` digits.
func hex<T: UnsignedInteger>(_ value: T, _ width: Int) -> String {
    let value = UInt64(value)
    var count = width
    while count < 16 && value >> (4 * UInt64(count)) != 0 { count += 1 }
    return String(unsafeUninitializedCapacity: count) { out in
        var rest = value
        for index in stride(from: count - 1, through: 0, by: -1) {
            out[index] = hexDigits[Int(rest & 0xf)]
            rest >>= 4
        }
        return count
    }
}

/// The digits of lower-case hex, by value.
let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// A hex digit's value (either case); nil for anything else.
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// The number written by hex digits (at most 8); nil if any byte is not one.
func hexNumber(_ digits: ArraySlice<UInt8>) -> UInt32? {
    var value: UInt32 = 0
    for byte in digits {
        guard let digit = hexValue(byte) else { return nil }
        value = value << 4 | UInt32(digit)
    }
    return value
}
