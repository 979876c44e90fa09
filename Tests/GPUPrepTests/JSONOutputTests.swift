import Foundation
import GPUPrepCore
import Testing

/// The JSON writer behind every --json document: exact text, keys in written order, valid JSON.
@Suite struct JSONOutputTests {
    struct Inner: Encodable { var name: String; var tags: [String] }
    /// Writes nothing at all: the contract shows such a value as null.
    struct Silent: Encodable { func encode(to encoder: Encoder) throws {} }
    struct Document: Encodable {
        var schemaVersion = 1
        var text = "quote \" backslash \\ newline \n tab \t bell \u{7} é"
        var missing: String? = nil   // synthesized Encodable leaves nil out (reports write null by hand)
        var empty: [Int] = []
        var emptyObject: [String: String] = [:]
        var counts = ["zeta": 2, "alpha": 1]
        var nested = [Inner(name: "a", tags: []), Inner(name: "b", tags: ["x", "y"])]
        var silent = Silent()
        var address = PCIAddress("3b:00.0")
        var flag = true
    }

    @Test func writesIndentedJSONInWrittenOrder() throws {
        let text = JSONOutput.render(Document())
        #expect(text == """
        {
          "schemaVersion": 1,
          "text": "quote \\" backslash \\\\ newline \\n tab \\t bell \\u0007 é",
          "empty": [],
          "emptyObject": {},
          "counts": {
            "alpha": 1,
            "zeta": 2
          },
          "nested": [
            {
              "name": "a",
              "tags": []
            },
            {
              "name": "b",
              "tags": [
                "x",
                "y"
              ]
            }
          ],
          "silent": null,
          "address": "0000:3b:00.0",
          "flag": true
        }

        """)
        // And it is JSON: what it says decodes back.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["text"] as? String == Document().text)
        #expect((object["nested"] as? [[String: Any]])?.last?["tags"] as? [String] == ["x", "y"])
    }

    @Test func writesABareValue() {
        #expect(JSONOutput.render(["a", "b"]) == "[\n  \"a\",\n  \"b\"\n]\n")
        #expect(JSONOutput.render(Optional<Int>.none) == "null\n")
    }

    /// Every primitive the Encoder protocols name is written, in every container, and none
    /// recurses (UInt16 used to, without end).
    @Test func everyPrimitiveIsWrittenInEveryContainer() {
        struct Numbers: Encodable {
            var u8: UInt8 = 255, u16: UInt16 = 65535, u32: UInt32 = 4_294_967_295, u64: UInt64 = 18_446_744_073_709_551_615, u: UInt = 7
            var i8: Int8 = -128, i16: Int16 = -32768, i32: Int32 = -1, i64: Int64 = -9_223_372_036_854_775_808
            var f: Float = 1.5, d: Double = 0.1, inf: Double = .infinity, nan: Float = .nan
            var list: [UInt16] = [1, 2], maybe: UInt32? = nil, nested: [String: [Int64]] = ["k": [3]]
        }
        let text = JSONOutput.render(Numbers())
        let expected = """
        {
          "u8": 255,
          "u16": 65535,
          "u32": 4294967295,
          "u64": 18446744073709551615,
          "u": 7,
          "i8": -128,
          "i16": -32768,
          "i32": -1,
          "i64": -9223372036854775808,
          "f": 1.5,
          "d": 0.1,
          "inf": null,
          "nan": null,
          "list": [
            1,
            2
          ],
          "nested": {
            "k": [
              3
            ]
          }
        }

        """
        #expect(text == expected)
        #expect(JSONOutput.render(UInt16(9)) == "9\n" && JSONOutput.render([Float(2.25)]) == "[\n  2.25\n]\n")
    }
}
