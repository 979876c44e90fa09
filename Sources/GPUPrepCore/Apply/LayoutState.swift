/// What the host has of what a layout mentions: the driver of each function it binds, the VF
/// count of each GPU it sets, and how many vGPUs of each of its types each GPU (or parent)
/// holds. `apply`'s `diff` is two of these, before and after.
public struct LayoutState: Sendable, Equatable, Encodable {
    /// Address -> driver (nil: none).
    public var passthrough: [String: String?] = [:]
    /// GPU -> number of VFs.
    public var sriov: [String: Int] = [:]
    /// GPU or parent -> type (as the layout names it) -> how many.
    public var vgpus: [String: [String: Int]] = [:]

    public init() {}

    /// Reads the state of what the layout mentions from the host.
    public static func read(_ planner: ApplyPlanner, host: HostContext) -> LayoutState {
        var state = LayoutState()
        guard let all = try? planner.readings.functions(host) else { return state }
        for entry in planner.layout.passthrough {
            // The functions a bind of the entry moves: with its card's companions, as bind takes them.
            let named = (try? planner.functions(entry.match, all, host: host)) ?? []
            for f in BindPlanner.devices(named, companions: entry.companions, among: all) {
                state.passthrough[f.address.description] = .some(f.driver)
            }
        }
        for entry in planner.layout.sriov {
            for f in (try? planner.functions(entry.match, all, host: host)) ?? [] where (f.sriov?.totalVFs ?? 0) > 0 || !entry.onlyWhereCapable {
                state.sriov[f.address.description] = f.sriov?.numVFs ?? 0
            }
        }
        if !planner.layout.vgpus.isEmpty {
            let holdings = planner.readings.holdings(host)
            for entry in planner.layout.vgpus {
                for target in (try? planner.vgpuTargets(entry, host: host)) ?? [] {
                    state.vgpus[target, default: [:]][entry.type] = planner.held(entry, on: target, holdings).count
                }
            }
        }
        return state
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: NamedKey.self)
        var bound = c.nestedContainer(keyedBy: NamedKey.self, forKey: NamedKey("passthrough"))
        for address in passthrough.keys.sorted() { try bound.encode(passthrough[address]!, forKey: NamedKey(address)) }
        var vfs = c.nestedContainer(keyedBy: NamedKey.self, forKey: NamedKey("sriov"))
        for address in sriov.keys.sorted() { try vfs.encode(sriov[address]!, forKey: NamedKey(address)) }
        var vgpu = c.nestedContainer(keyedBy: NamedKey.self, forKey: NamedKey("vgpus"))
        for target in vgpus.keys.sorted() {
            var types = vgpu.nestedContainer(keyedBy: NamedKey.self, forKey: NamedKey(target))
            for type in vgpus[target]!.keys.sorted() { try types.encode(vgpus[target]![type]!, forKey: NamedKey(type)) }
        }
    }

    /// The lines that differ, for people: "0000:26:00.0 VFs: 0 -> 16".
    public func changes(to after: LayoutState) -> [String] {
        var lines: [String] = []
        for address in Set(passthrough.keys).union(after.passthrough.keys).sorted() {
            let from = passthrough[address] ?? nil, to = after.passthrough[address] ?? nil
            if from != to { lines.append("\(address)  driver: \(from ?? "none") -> \(to ?? "none")") }
        }
        for address in Set(sriov.keys).union(after.sriov.keys).sorted() where sriov[address] != after.sriov[address] {
            lines.append("\(address)  VFs: \(sriov[address].map(String.init) ?? "?") -> \(after.sriov[address].map(String.init) ?? "?")")
        }
        for target in Set(vgpus.keys).union(after.vgpus.keys).sorted() {
            let from = vgpus[target] ?? [:], to = after.vgpus[target] ?? [:]
            for type in Set(from.keys).union(to.keys).sorted() where from[type] != to[type] {
                lines.append("\(target)  \(type): \(from[type].map(String.init) ?? "0") -> \(to[type].map(String.init) ?? "?")")
            }
        }
        return lines
    }
}
