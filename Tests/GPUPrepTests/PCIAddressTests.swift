import GPUPrepCore
import Testing

@Suite struct PCIAddressTests {
    @Test(arguments: [
        ("0000:3b:00.0", "0000:3b:00.0"),
        ("3b:00.0", "0000:3b:00.0"),
        ("0000:3B:1F.7", "0000:3b:1f.7"),
        ("10000:00:02.0", "10000:00:02.0"),   // VMD domains are wider than 4 digits
    ])
    func parses(text: String, expected: String) {
        #expect(PCIAddress(text)?.description == expected)
    }

    @Test(arguments: ["", "3b:00", "3b:00.8", "3b:20.0", "0000:3b:00.0.0", "zz:00.0", "0000:3b:0.0", "3b:000.0",
                      "../../etc", "0000:3b:00.0/..", "0000:3b:00.-1", ":3b:00.0", "00000:3b:00.0x", " 3b:00.0"])
    func rejects(text: String) {
        #expect(PCIAddress(text) == nil)
    }

    @Test func ordersNumerically() {
        let sorted = ["0000:0a:00.0", "0000:02:00.1", "0001:00:00.0", "0000:02:00.0"].compactMap(PCIAddress.init).sorted()
        #expect(sorted.map(\.description) == ["0000:02:00.0", "0000:02:00.1", "0000:0a:00.0", "0001:00:00.0"])
    }

    @Test func slotGroupsFunctionsOfOneCard() {
        #expect(PCIAddress("2b:00.3")?.slot == PCIAddress("2b:00.0"))
        #expect(PCIAddress("2b:01.0")?.slot != PCIAddress("2b:00.0"))
    }
}
