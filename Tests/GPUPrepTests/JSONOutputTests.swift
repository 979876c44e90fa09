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
}
