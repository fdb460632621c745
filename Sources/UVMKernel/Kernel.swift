// The simulated kernel: processes, files and devices of one machine, and process life cycle
// (fork, exec, exit). System calls are in Syscalls*.swift.
//
// Locking: the tables of processes, files, devices and segments change only in steps with no
// switch point, so they need no lock (NetBSD's proc_lock and friends). fork holds the parent's
// map and then the child's write-locked while it copies the entries and the shm attachments
// (uvmspace_fork). exec installs the new image before anything sleeps; the old one, like an
// exiting process's, is torn down with its map write-locked after its system wirings drained
// (`VMMap.waitForSystemWirings`). Files are flushed at shutdown under their vnode lock.

import UVMCore
import UVMMachine
import UVMSched

public struct MachineConfig: Sendable {
    public var pageCount: Int
    public var pageSize: Int
    public var swapPages: Int
    public var wiredMax: Int
    /// shminfo.shmseg (param.c's SHMSEG, sysctl kern.ipc.shmseg): the SysV shm attachments one
    /// process may hold at once.
    public var shmSeg: Int

    /// SHMSEG's default in NetBSD's param.c.
    public static let defaultShmSeg = 128
    /// The largest `shmseg` a scenario may give: shminfo.shmseg is an int, and no address space
    /// here could hold more attachments than this anyway.
    public static let maxShmSeg = 1 << 20

    public init(pageCount: Int = 256, pageSize: Int = 4096, swapPages: Int = 0, wiredMax: Int? = nil,
                shmSeg: Int = MachineConfig.defaultShmSeg) {
        self.pageCount = pageCount
        self.pageSize = pageSize
        self.swapPages = swapPages
        self.wiredMax = wiredMax ?? pageCount * 2 / 3
        self.shmSeg = shmSeg
    }
}

public final class Kernel {
    public let sched: Scheduler
    public let uvm: UVM
    public let config: MachineConfig
    public private(set) var procs: [Proc] = []
    /// Every address space not yet torn down: the processes' current images, and old ones an
    /// exec or exit is still taking apart (their wirings and mappings still count).
    public private(set) var images: [VMSpace] = []
    public private(set) var lwps: [String: LWP] = [:]
    public private(set) var files: [String: Vnode] = [:]
    public private(set) var devices: [String: CharDevice] = [:]
    /// One device pager object per device (NetBSD's udv), kept by the device itself: every
    /// mapping of the device sees the same memory, which outlives the mappings.
    var deviceObjects: [String: DeviceObject] = [:]
    /// SysV shm segments by id.
    public internal(set) var shmSegments: [Int: ShmSegment] = [:]
    var nextShmId = 0
    private var nextPid = 1
    private var nextVnode = 1

    public init(sched: Scheduler, config: MachineConfig) {
        self.sched = sched
        self.config = config
        self.uvm = UVM(sched: sched, pageCount: config.pageCount, pageSize: config.pageSize, wiredMax: config.wiredMax,
                       swapPages: config.swapPages)
    }

    public var pageSize: Int { config.pageSize }

    // MARK: Set-up

    public func createFile(name: String, size: UInt64, fill: UInt8) {
        files[name] = Vnode(sched, name: name, id: nextVnode, size: size, fill: fill, blockSize: pageSize)
        nextVnode += 1
    }

    public func createDevice(name: String, pattern: UInt8) {
        let dev = CharDevice(name: name, pattern: pattern)
        devices[name] = dev
        deviceObjects[name] = DeviceObject(uvm, device: dev)
    }

    @discardableResult
    public func createProc(name: String, uid: UInt32, memlockLimit: UInt64) -> Proc {
        let p = Proc(name: name, pid: nextPid, uid: uid, memlockLimit: memlockLimit,
                     vmspace: newImage(name))
        nextPid += 1
        procs.append(p)
        addLWP(name: name, to: p)
        return p
    }

    @discardableResult
    public func addLWP(name: String, to p: Proc?) -> LWP {
        let l = LWP(name: name, proc: p, thread: sched.makeThread(name: name))
        p?.lwps.append(l)
        lwps[name] = l
        return l
    }

    public func proc(named name: String) -> Proc? { procs.first { $0.name == name } }

    private func newImage(_ name: String) -> VMSpace {
        let vm = VMSpace(uvm, name: name)
        images.append(vm)
        return vm
    }

    // MARK: Process life cycle

    /// fork: a new process named `childName` whose address space follows each entry's
    /// inheritance (uvmspace_fork).
    public func fork(_ lwp: LWP, childName: String) async throws -> Proc {
        let parent = try liveProc(lwp)
        // The image this fork copies, even if another thread's exec replaces it meanwhile.
        let parentSpace = parent.vmspace, parentMap = parentSpace.map
        try await parentMap.lockWrite()
        if parentMap.dead {
            // Another thread's exec or exit took the image away while we waited: this thread
            // would not have returned to user space to see the child (ESRCH, as mmap).
            try await parentMap.lock.exit()
            throw Errno.ESRCH
        }
        let child = Proc(name: childName, pid: nextPid, uid: parent.uid, memlockLimit: parent.memlockLimit,
                         vmspace: newImage(childName))
        child.credentialsChanged = parent.credentialsChanged
        nextPid += 1
        try await child.map.lockWrite()
        do {
            try await parentMap.forkCopy(into: child.map)
        } catch PagerError.noMemory {
            // The child's copy of wired or shared pages found no memory: undo and fail the fork
            // (NetBSD's fork1 returns ENOMEM when uvm_proc_fork cannot get its memory). The
            // child's image goes with it.
            try await child.map.removeAll()
            child.map.dead = true
            images.removeAll { $0 === child.vmspace }
            try await child.map.lock.exit()
            try await parentMap.lock.exit()
            throw Errno.ENOMEM
        }
        shmFork(parentSpace, child.vmspace)
        try await child.map.lock.exit()
        try await parentMap.lock.exit()
        procs.append(child)
        addLWP(name: childName, to: child)
        return child
    }

    /// setrlimit(RLIMIT_MEMLOCK) with soft and hard limit both `bytes`, as `ulimit -l` sets
    /// them: lowering is free, raising the hard limit needs privilege (EPERM, dosetrlimit). What
    /// is wired already stays wired; the new limit applies to the next wiring.
    public func setMemlockLimit(_ lwp: LWP, _ bytes: UInt64) throws {
        let p = try liveProc(lwp)
        guard bytes <= p.memlockLimit || p.uid == 0 else { throw Errno.EPERM }
        p.memlockLimit = bytes
    }

    /// setuid(2): only privilege may change the uid (EPERM, do_setresuid); setting the uid one
    /// has is always allowed. A process that leaves uid 0 loses its privilege.
    public func setuid(_ lwp: LWP, _ uid: UInt32) throws {
        let p = try liveProc(lwp)
        guard uid == p.uid || p.uid == 0 else { throw Errno.EPERM }
        if uid != p.uid { p.credentialsChanged = true }
        p.uid = uid
    }

    /// exec: the process gets a fresh, empty address space (uvmspace_exec). The new image is
    /// in place before anything sleeps, so another thread's call that starts meanwhile acts on
    /// it, and the old one is torn down whatever else happens to the process.
    public func exec(_ lwp: LWP) async throws {
        let p = try liveProc(lwp)
        let old = p.vmspace
        p.vmspace = newImage(p.name)
        p.futureWiringRequested = false
        p.credentialsChanged = false
        // POSIX revokes MCL_FUTURE at exec (uvmspace_exec). Historic `futurewire=keep`: the flag
        // survives into the next image (FreeBSD 2004, MAP_WIREFUTURE in a recycled vmspace).
        if uvm.policy.futureWire == .keep { p.map.wireFuture = old.map.wireFuture }
        try await discard(old)
    }

    /// exit: the process's address space goes away, once the I/O in flight on it is done: its
    /// other threads' vslocks, and the exiting thread's own, which `kernel:` may still undo as
    /// the I/O completes. One that nothing undoes leaves the exit waiting for itself, a
    /// deadlock, as a munmap of one's own vslocked range does.
    public func exit(_ lwp: LWP) async throws {
        let p = try liveProc(lwp)
        // Exited before anything sleeps: no exec or call of another thread starts a new image.
        p.exited = true
        try await discard(p.vmspace)
    }

    /// An image goes away (exit, exec, the end of the run): every mapping is removed once the
    /// I/O in flight on it (system wirings) has drained, then its shm attachments are dropped
    /// (shmexit). The map is dead afterwards: a call that was waiting for it maps nothing.
    private func discard(_ vm: VMSpace) async throws {
        let map = vm.map
        try await map.lockWrite()
        try await map.waitForSystemWirings(map.minAddress, map.maxAddress)
        try await map.removeAll()
        map.dead = true
        let attachments = vm.shmAttachments.map(\.segment)
        vm.shmAttachments = []
        images.removeAll { $0 === vm }
        try await map.lock.exit()
        for seg in attachments { try await dropAttachment(seg) }
    }

    /// The end of a run: every live process exits, then every file's cached pages are written
    /// back and freed (unmount), so that any page still allocated is a leak.
    public func shutdown(on lwp: LWP) async throws {
        if let h = uvm.holds.first {
            throw sched.abort(KernelFailure(.leak, "vslock of \(hex(h.start))-\(hex(h.end)) by \(h.thread.name) was never vsunlocked",
                                            details: ["\(uvm.holds.count) vslock hold(s) outstanding at the end of the run"]))
        }
        for p in procs where !p.exited {
            p.exited = true
            try await discard(p.vmspace)
        }
        // The machine goes down: segments nobody removed go with it.
        for id in shmSegments.keys.sorted() { if let seg = shmSegments[id] { try await destroy(seg) } }
        for name in files.keys.sorted() {
            let vnode = files[name]!
            guard let obj = uvm.existingVnodeObject(vnode) else { continue }
            // The machine goes down: a page that cannot be written back is dropped with it.
            try await vnode.lock.enter(.writer)
            do { try await obj.flush(invalidate: true) } catch is PagerError {}
            try await obj.removeAllPages()
            try await vnode.lock.exit()
        }
    }

    func liveProc(_ lwp: LWP) throws -> Proc {
        guard let p = lwp.proc else { throw Errno.EINVAL }
        guard !p.exited else { throw Errno.ESRCH }
        return p
    }

    func file(_ name: String) throws -> Vnode {
        guard let f = files[name] else { throw Errno.ENOENT }
        return f
    }
}
