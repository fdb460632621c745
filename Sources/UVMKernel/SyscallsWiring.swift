// The wiring system calls: mlock(2), munlock(2), mlockall(2), munlockall(2), and the kernel I/O
// paths that wire user memory: vslock/vsunlock, physio, sysctl, and the device's DMA.
//
// Errnos are NetBSD's (uvm_mmap.c): mlock's bad range is ENOMEM, then a limit EAGAIN, then an
// unmapped start ENOMEM and a hole or a PROT_NONE entry EINVAL; munlock's every failure is
// ENOMEM; mlockall's limit is ENOMEM, and an
// RLIMIT_MEMLOCK of 0 is no limit for it. A wiring fault's own error passes up
// (EINVAL past the end of a file), mlock turning EFAULT into ENOMEM. vslock's failure is EFAULT
// (as copyin/copyout) and a limit EAGAIN.
//
// Locking: a wiring call changes entries with the map write-locked (`lockLiveMap`, which also
// refuses a map exec or exit tore down meanwhile), then marks the map busy and unlocks it while
// it faults the pages in (uvm_map_pageable's vm_map_busy): other writers wait, faults go on. The
// device's DMA runs with no lock held, through the pages its vslock holds.

import UVMCore
import UVMMachine
import UVMSched

extension Kernel {
    /// Pages of the process's map in wired entries (what NetBSD's pmap_wired_count stands for,
    /// taken from the map, not the pmap).
    func wiredPageCount(_ map: VMMap) -> Int {
        var n = 0
        for e in map.entries.elements where e.isWired { n += Int(e.pageCount(uvm.pageShift)) }
        return n
    }

    /// Pages of [lo, hi) not yet in a wired entry, PROT_NONE entries left out: what a new
    /// wiring would add (uvm_map_pageable_all sizes its request from accessible, unwired entries).
    func unwiredPages(_ map: VMMap, _ lo: UInt64, _ hi: UInt64) -> Int {
        var n = 0
        for e in map.entries(in: lo, hi) where !e.isWired && !e.protection.isEmpty {
            n += Int((min(hi, e.end) - max(lo, e.start)) >> UInt64(uvm.pageShift))
        }
        return n
    }

    /// Whether wiring `pages` more pages stays within the process's RLIMIT_MEMLOCK and
    /// wiredmax; if so they are reserved against wiredmax until `wireUser` is done with them.
    /// mlockall and MCL_FUTURE take a limit of 0 as none (uvm_map_pageable_all and uvm_mmap
    /// test `limit != 0 && …`); mlock does not (sys_mlock compares with the limit as it is).
    func reserveWiring(_ p: Proc, _ map: VMMap, pages: Int, zeroLimitIsNone: Bool = true) -> Bool {
        let unlimited = zeroLimitIsNone && p.memlockLimit == 0
        let withinLimit = unlimited || UInt64(wiredPageCount(map) + pages) * UInt64(pageSize) <= p.memlockLimit
        return withinLimit && uvm.mem.reserveWired(pages)
    }

    /// Takes the map lock of a process's address space for a wiring call: a map that exec (or
    /// exit) tore down while the call waited is dead, and the new image is not the caller's
    /// to change (ESRCH, as mmap and shmat answer).
    func lockLiveMap(_ p: Proc) async throws -> VMMap {
        let map = p.map
        try await map.lockWrite()
        if map.dead {
            try await map.lock.exit()
            throw Errno.ESRCH
        }
        return map
    }

    /// Sets the user wiring on [lo, hi) of `map` (uvm_map_pageable with mlock semantics) and
    /// faults in the entries that became wired, holding the `reserved` pages granted against
    /// wiredmax only until each is wired. Called with `map` write-locked — the map the caller
    /// locked, not the process's current one, which another thread's exec may have replaced
    /// meanwhile; returns it unlocked.
    /// Throws the fault's error (uvm_fault_wire's) after undoing its own wiring if a page
    /// cannot be faulted in; a copy that a racing wiring left no room for under wiredmax
    /// (`WiringFailure.wiredLimit`) is the call's own limit errno, `limit`.
    func wireUser(_ map: VMMap, _ lo: UInt64, _ hi: UInt64, reserved: Int = 0, limit: Errno) async throws {
        sched.assertHeld(map.lock, .writer)
        let grant = WiredGrant(uvm.mem, reserved: reserved)
        defer { grant.settle(grant.pages) }
        var became: [MapEntry] = []
        for e in map.clip(lo, hi) where !e.protection.isEmpty {
            let (user, delta) = uvm.userWiringChange(e, .mlock)
            if try uvm.changeWiring(e, in: map, user: user, systemDelta: delta) { became.append(e) }
        }
        // Resident pages were wired with the entries, and entries wired before needed nothing:
        // only the pages still to be faulted in keep their grant.
        grant.settle(grant.pages - became.reduce(0) { $0 + uvm.unwiredPageCount($1) })
        uvm.handOverMissingObjectPages(became, in: map, grant)
        guard !became.isEmpty else {
            try await map.lock.exit()
            return
        }
        map.busy()
        try await map.lock.exit()
        let failure = try await uvm.faultWire(map, became, grant: grant)
        try await map.lockWrite()
        map.unbusy()
        if let failure {
            for e in became {
                let (user, delta) = uvm.userWiringChange(e, .munlock)
                try uvm.changeWiring(e, in: map, user: user, systemDelta: delta)
            }
            try await map.lock.exit()
            throw Errno(failure, limit: limit)
        }
        try await map.lock.exit()
    }

    /// mlock(2). The limits are NetBSD's arithmetic: the whole range counts against wiredmax
    /// and RLIMIT_MEMLOCK, even the part already locked, and sys_mlock checks them before
    /// uvm_map_pageable looks at the map, so a range past a limit is EAGAIN whatever holes,
    /// PROT_NONE entries or unmapped start it has. A failed wiring fault's error is returned,
    /// EFAULT turned into ENOMEM (sys_mlock).
    public func mlock(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len, else: .ENOMEM)
        let pages = Int((hi - lo) >> UInt64(uvm.pageShift))
        let map = try await lockLiveMap(p)
        guard reserveWiring(p, map, pages: pages, zeroLimitIsNone: false) else {
            try await map.lock.exit()
            throw Errno.EAGAIN
        }
        var error: Errno?
        if map.lookup(lo) == nil {
            error = .ENOMEM
        } else if lo != hi, !map.isFullyMapped(lo, hi)
                    || map.entries(in: lo, hi).contains(where: { $0.protection.isEmpty }) {
            error = .EINVAL
        }
        if lo == hi || error != nil {
            uvm.mem.releaseWired(pages)
            try await map.lock.exit()
            if let error { throw error }
            return
        }
        do {
            try await wireUser(map, lo, hi, reserved: pages, limit: .EAGAIN)
        } catch Errno.EFAULT {
            throw Errno.ENOMEM
        }
    }

    /// munlock(2): every failure is ENOMEM, as sys_munlock turns whatever uvm_map_pageable
    /// refuses into it: a bad range, an unmapped start, a hole, or an entry nobody locked (one
    /// only a vslock holds included, `munlockFindsWired`). NetBSD's own t_mlock.c (mlock_err)
    /// and FreeBSD's sys_munlock agree. The user wiring is cleared, system wirings stay.
    public func munlock(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len, else: .ENOMEM)
        let map = try await lockLiveMap(p)
        // Even an empty range must start in a mapping (uvm_map_pageable looks it up).
        guard map.lookup(lo) != nil,
              lo == hi || (map.isFullyMapped(lo, hi) && map.entries(in: lo, hi).allSatisfy(uvm.munlockFindsWired)) else {
            try await map.lock.exit()
            throw Errno.ENOMEM
        }
        for e in map.clip(lo, hi) {
            let (user, delta) = uvm.userWiringChange(e, .munlock)
            try uvm.changeWiring(e, in: map, user: user, systemDelta: delta)
        }
        try await map.lock.exit()
    }

    /// mlockall(2): MCL_FUTURE wires every later mapping; MCL_CURRENT wires every accessible
    /// entry now (ENOMEM past a limit; a failed wiring fault's own error, as
    /// uvm_map_pageable_all returns it). No flag at all, or a bit beyond MCL_CURRENT and
    /// MCL_FUTURE (`otherBits`), is EINVAL (sys_mlockall).
    public func mlockall(_ lwp: LWP, current: Bool, future: Bool, otherBits: UInt64 = 0) async throws {
        let p = try liveProc(lwp)
        guard current || future, otherBits == 0 else { throw Errno.EINVAL }
        let map = try await lockLiveMap(p)
        if future {
            map.wireFuture = true
            // The request belongs to the image it was made in: an exec by another thread while
            // this one waited for the map lock leaves it on the old one.
            if p.map === map { p.futureWiringRequested = true }
        }
        guard current, let first = map.entries.first, let last = map.entries.last else {
            try await map.lock.exit()
            return
        }
        let pages = unwiredPages(map, first.start, last.end)
        guard reserveWiring(p, map, pages: pages) else {
            try await map.lock.exit()
            throw Errno.ENOMEM
        }
        try await wireUser(map, first.start, last.end, reserved: pages, limit: .ENOMEM)
    }

    /// munlockall(2): clears every user wiring and MCL_FUTURE.
    public func munlockall(_ lwp: LWP) async throws {
        let p = try liveProc(lwp)
        let map = try await lockLiveMap(p)
        map.wireFuture = false
        if p.map === map { p.futureWiringRequested = false }  // as in mlockall: this image's only
        for e in map.entries.elements where e.isWired {
            let (user, delta) = uvm.userWiringChange(e, .munlock)
            try uvm.changeWiring(e, in: map, user: user, systemDelta: delta)
        }
        try await map.lock.exit()
    }

    // MARK: Kernel I/O on user memory

    /// uvm_vslock for the scenario's `vslock`: EFAULT if the range is not mapped with the
    /// access, EAGAIN past the wired limit.
    public func vslock(_ lwp: LWP, _ addr: UInt64, _ len: UInt64, access: VMProt) async throws -> PageHold {
        let p = try liveProc(lwp)
        guard len > 0, let (lo, hi) = roundAndCheck(addr, len) else { throw Errno.EFAULT }
        switch try await uvm.vslock(p.map, lo, hi, access: access) {
        case .success(let h): return h
        case .failure(.fault): throw Errno.EFAULT
        case .failure(.limit): throw Errno.EAGAIN
        }
    }

    /// Undoes exactly that vslock: EINVAL if it was undone already, including by another
    /// thread while this one waited for the map lock.
    public func vsunlock(_ lwp: LWP, _ hold: PageHold) async throws {
        guard !hold.released else { throw Errno.EINVAL }
        guard try await uvm.vsunlock(hold) else { throw Errno.EINVAL }
    }

    /// The device writes `byte` into every captured page (device to memory). A handle that was
    /// vsunlocked holds nothing any more: EINVAL.
    public func dmaWrite(_ hold: PageHold, _ byte: UInt8) async throws {
        // A buffer locked only for the device to read (a write to the device) is not the
        // device's to write: its pages may still be shared copy-on-write or be the file's own,
        // since a read wiring breaks no copy (the IOMMU maps it read-only for the device).
        guard hold.access.contains(.write) else { throw Errno.EFAULT }
        try await sched.switchPoint(.io, "dma write")
        // The transfer happens here, after the device's delay: a handle another thread
        // vsunlocked meanwhile holds nothing any more (EINVAL, as one undone before).
        guard !hold.released else { throw Errno.EINVAL }
        for i in hold.pages.indices {
            let pg = try uvm.dmaPage(hold, i)
            pg.fill(0, pageSize, byte, pageSize: pageSize)
            pg.dirty = true
        }
    }

    /// The device reads the captured pages: the byte if they are uniform, else the first
    /// offset and value that differ from the first byte.
    public func dmaRead(_ hold: PageHold) async throws -> Result<UInt8, Mismatch> {
        try await sched.switchPoint(.io, "dma read")
        // The transfer happens here, after the device's delay: a handle another thread
        // vsunlocked meanwhile holds nothing any more (EINVAL, as one undone before).
        guard !hold.released else { throw Errno.EINVAL }
        var first: UInt8?
        for i in hold.pages.indices {
            let pg = try uvm.dmaPage(hold, i)
            for (j, b) in pg.read(0, pageSize).enumerated() {
                guard let f = first else { first = b; continue }
                if b != f { return .failure(Mismatch(offset: UInt64(i * pageSize + j), value: b)) }
            }
        }
        return .success(first ?? 0)
    }

    /// physio(9): vslock the buffer, move the data between the device and exactly the captured
    /// pages, vsunlock; other threads may run between the steps.
    public func physio(_ lwp: LWP, device name: String, read: Bool, _ addr: UInt64, _ len: UInt64) async throws {
        guard let dev = devices[name] else { throw Errno.ENOENT }
        guard len > 0 else { return }
        // A device read writes memory; a device write reads it.
        let hold = try await vslock(lwp, addr, len, access: read ? [.write] : [.read])
        try await sched.switchPoint(.io, "physio transfer")
        var received: [UInt8] = []
        var va = addr
        while va < addr + len {
            let i = Int((va - hold.start) >> UInt64(uvm.pageShift))
            let off = Int(va & pageMask)
            let n = Int(min(UInt64(pageSize - off), addr + len - va))
            let pg = try uvm.dmaPage(hold, i)
            if read {
                pg.fill(off, n, dev.pattern, pageSize: pageSize)
                pg.dirty = true
            } else {
                received.append(contentsOf: pg.read(off, n))
            }
            va += UInt64(n)
        }
        if !read { dev.received = received }
        try await sched.switchPoint(.io, "physio done")
        try await uvm.vsunlock(hold)
    }

    /// The bytes sysctl copies out (so scenarios can check them).
    public static let sysctlByte: UInt8 = 0x5c

    /// The sysctl copy-out path: vslock the old-value buffer, copyout, vsunlock.
    public func sysctl(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws {
        // The image the call started in (see mincore): the one its vslock holds.
        let map = try liveProc(lwp).map
        guard len > 0 else { return }
        let hold = try await vslock(lwp, addr, len, access: [.read, .write])
        do {
            try await copyout(map, addr, [UInt8](repeating: Self.sysctlByte, count: Int(len)))
        } catch {
            try await uvm.vsunlock(hold)
            throw error
        }
        try await uvm.vsunlock(hold)
    }
}

extension Errno {
    /// The errno of a failed wiring fault; a copy that found no room under wiredmax is the
    /// calling system call's own `limit` errno.
    init(_ failure: WiringFailure, limit: Errno) {
        switch failure {
        case .fault: self = .EFAULT
        case .pager(let error): self.init(error)
        case .wiredLimit: self = limit
        }
    }
}
