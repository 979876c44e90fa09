import GPUPrepSystem

/// The one way gpuprep changes a host, for every command and for `apply`: refuse without root
/// on the live host; plan; and only when there is something to apply (not a dry run, not a
/// refusal, not an empty plan) take the host lock and plan again under it, so that what is
/// applied is true of the host as the lock found it; then carry it out, verified, with one
/// rollback. Bad input and refusals write nothing, not even the lock file, so a tree meant only
/// for reading stays so.
public struct ChangeSession {
    /// Opens the host afresh (each phase of a change re-reads it).
    public let open: () throws(GPUPrepError) -> HostContext
    public let command: String
    public let dryRun: Bool
    /// Whether this process may change the live host.
    public var isRoot = Privileges.isRoot
    public var lockTimeoutSeconds = 10.0
    /// Makes the writer for a host (the live one, or a simulated kernel in tests).
    public var writer: (HostContext) -> HostWriter = { LiveHostWriter(host: $0) }
    /// Where a line for the person waiting goes (standard error).
    public var notice: (String) -> Void = { Terminal.writeError("gpuprep: " + $0 + "\n") }

    public init(command: String, dryRun: Bool, open: @escaping () throws(GPUPrepError) -> HostContext) {
        self.command = command
        self.dryRun = dryRun
        self.open = open
    }

    /// A change planned in one piece (bind, unbind, sriov, create, destroy, check --fix).
    public func run(_ makeReport: (HostContext) throws(GPUPrepError) -> ChangeReport) throws(GPUPrepError) -> ChangeReport {
        var host = try openChecked()
        var report = try makeReport(host)
        if dryRun { noteChangeInProgress(host) }
        guard !dryRun && !report.plan.isEmpty else { return report }
        let lock = try takeLock(host)
        defer { withExtendedLifetime(lock) {} }
        host = try open()
        report = try makeReport(host)
        if !report.plan.isEmpty {
            report.outcome = applier(host).apply(report.plan)
        }
        return report
    }

    /// The applier for a host: its writer, and who holds a device when a write to it blocks.
    public func applier(_ host: HostContext) -> Applier {
        var applier = Applier(writer: writer(host), sysfs: host.sysfs)
        applier.describeHolders = { OpenFiles.describeHolders(of: $0, host: host) }
        return applier
    }

    /// A plan shown while another gpuprep is changing the host may be stale by the time it ends.
    public func noteChangeInProgress(_ host: HostContext) {
        guard let holder = HostLock.holder(root: host.root, path: .lockFile) else { return }
        notice("another gpuprep\(holder.pid.map { " (pid \($0))" } ?? "") is changing this host now: this plan is of the host as it is before that change ends")
    }

    /// The host, once it is known that this process may change it (or only plans).
    public func openChecked() throws(GPUPrepError) -> HostContext {
        let host = try open()
        if !dryRun && host.root.isLiveHost && !isRoot {
            throw GPUPrepError(.permission, "\(command) changes the host and needs root: run it with sudo (or add --dry-run to see the plan)")
        }
        return host
    }

    /// The host lock, waited for (and said so) up to `lockTimeoutSeconds`. From here on a change
    /// is about to be made: SIGINT, SIGTERM and SIGHUP are caught, so that it finishes its step and
    /// rolls back rather than stopping halfway (see Applier.forward).
    public func takeLock(_ host: HostContext) throws(GPUPrepError) -> HostLock {
        Interruption.catchSignals()
        let timeout = lockTimeoutSeconds
        do throws(SystemError) {
            return try HostLock(root: host.root, path: .lockFile, timeout: timeout) { pid in
                notice("waiting up to \(Int(timeout)) s for another gpuprep\(pid.map { " (pid \($0))" } ?? "") to finish changing this host")
            }
        } catch { throw GPUPrepError(error) }
    }
}
