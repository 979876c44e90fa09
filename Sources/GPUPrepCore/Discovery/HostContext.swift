import GPUPrepSystem

/// The host being inspected: its root, and the libraries opened over it on first use.
public final class HostContext {
    public let root: HostRoot
    public let sysfs: Sysfs
    private let pciIDsPath: String?
    private var openedPCI: LibPCI?
    private var openedKmod: Kmod??
    /// Why libkmod was not opened over a hostile tree (refused with 66 when devices are read).
    private var kmodRefusal: GPUPrepError?
    /// Modules by modalias: a host's VFs of one kind share one alias, and a libkmod lookup
    /// reads its index files each time.
    private var modulesByAlias: [String: [String]] = [:]

    /// Opens the host under `root` (`/` for the live one). `pciIDs` overrides the pci.ids database.
    public init(root: String, pciIDs: String? = nil) throws(GPUPrepError) {
        do { self.root = try HostRoot(root) } catch { throw GPUPrepError(error) }
        sysfs = Sysfs(root: self.root)
        if let pciIDs, !Sysfs.isReadableFile(pciIDs) {
            throw GPUPrepError(.unreadableFile, "cannot read the pci.ids file \(pciIDs): give a readable file to --pci-ids, or omit it for the system database")
        }
        pciIDsPath = pciIDs
    }

    /// libpci over `<root>/sys/bus/pci`, scanned once.
    public func pci() throws(GPUPrepError) -> LibPCI {
        if let openedPCI { return openedPCI }
        // Every command that reads devices comes here first: a tree whose modprobe.d or module
        // indexes libkmod cannot safely read (a FIFO blocks it for ever, a link leads out of the
        // root) is refused here, before anything is read or changed. (What libpci reads of each
        // function is checked as it is read: LibPCI.outsideRoot.)
        _ = kmod()
        if let kmodRefusal { throw kmodRefusal }
        guard sysfs.exists(.sysBusPCIDevices) else {
            throw GPUPrepError(.noPCIBus, "\(root.display): no PCI devices directory (sys/bus/pci/devices): is this a Linux host tree with sysfs mounted?")
        }
        do {
            let opened = try LibPCI(root: root, idsPath: pciIDsPath)
            openedPCI = opened
            return opened
        } catch {
            throw GPUPrepError(error)
        }
    }

    /// The running kernel's release (`proc/sys/kernel/osrelease` under the root, else uname).
    public var kernelRelease: String? { sysfs.kernelRelease() }

    /// libkmod over the host's modules, or nil when the host has no module directory for its kernel.
    public func kmod() -> Kmod? {
        if let openedKmod { return openedKmod }
        var opened: Kmod?
        if let release = kernelRelease {
            do { opened = try Kmod(root: root, release: release) } catch {
                if case let .notRegular(path, kind) = error {
                    kmodRefusal = GPUPrepError(.invalidRoot, "\(root.display): \(path) is \(kind), which libkmod cannot safely read: the tree is damaged or hostile (make it a regular file inside the root); nothing was read or changed")
                }
            }
        }
        openedKmod = .some(opened)
        return opened
    }

    /// The modules whose aliases match a modalias (libkmod's lookup, remembered per alias);
    /// nil when the host has no module directory.
    public func modules(matching modalias: String) -> [String]? {
        if let known = modulesByAlias[modalias] { return known }
        guard let kmod = kmod() else { return nil }
        let found = kmod.modules(matching: modalias)
        modulesByAlias[modalias] = found
        return found
    }
}
