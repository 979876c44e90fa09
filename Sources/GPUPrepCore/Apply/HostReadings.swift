/// What the planner reads of one state of the host, read once however many entries ask: the
/// functions, the holdings (vGPUs, holders, capacity) and a bind planner. A new HostContext (the
/// host re-read after a change) gets new readings; entries planned on the same one share them,
/// so checking a file of N entries costs one reading of the host, not N.
final class HostReadings {
    /// Held, not identified by address: a freed context's address can be a new one's.
    private var host: HostContext?
    private var functions: [PCIFunction]?
    private var holdings: GPUHoldings?
    private var bindPlanner: BindPlanner?

    /// Forgets what was read of another state of the host.
    private func on(_ context: HostContext) {
        guard host !== context else { return }
        host = context
        (functions, holdings, bindPlanner) = (nil, nil, nil)
    }

    func functions(_ context: HostContext) throws(GPUPrepError) -> [PCIFunction] {
        on(context)
        if let functions { return functions }
        let read = try PCIDiscovery(host: context).functions(.all)
        functions = read
        return read
    }

    func holdings(_ context: HostContext) -> GPUHoldings {
        on(context)
        if let holdings { return holdings }
        let read = GPUHoldings.read(context, openFiles: OpenFiles.scan(context))
        holdings = read
        return read
    }

    func bindPlanner(_ context: HostContext) throws(GPUPrepError) -> BindPlanner {
        on(context)
        if let bindPlanner { return bindPlanner }
        let made = try BindPlanner(host: context)
        bindPlanner = made
        return made
    }
}
