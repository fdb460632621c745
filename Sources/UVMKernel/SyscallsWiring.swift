// The wiring system calls: mlock(2), munlock(2), mlockall(2), munlockall(2), and the kernel I/O
// paths that wire user memory: vslock/vsunlock, physio, sysctl, and the device's DMA.
//
// Errnos are NetBSD's (uvm_mmap.c): mlock's bad range or unmapped start is ENOMEM, a hole or a
// PROT_NONE entry EINVAL, a limit EAGAIN; munlock's every failure is ENOMEM; mlockall's limit is
// ENOMEM. vslock's failure is EFAULT (as copyin/copyout) and a limit EAGAIN.

import UVMCore
import UVMMachine
import UVMSched

extension Kernel {
    /// Pages of the process's map in wired entries (what NetBSD's pmap_wired_count stands for,
    /// taken from the map, not the pmap).
    func wiredPageCount(_ p: Proc) -> Int {
        var n = 0
        for e in p.map.entries.elements where e.isWired { n += Int(e.pageCount(uvm.pageShift)) }
        return n
    }

    /// Pages of [lo, hi) not yet in a wired entry: what a new wiring would add.
    func unwiredPages(_ map: VMMap, _ lo: UInt64, _ hi: UInt64) -> Int {
        var n = 0
        for e in map.entries(in: lo, hi) where !e.isWired {
            n += Int((min(hi, e.end) - max(lo, e.start)) >> UInt64(uvm.pageShift))
        }
        return n
    }

    /// Whether wiring `pages` more pages stays within the process's RLIMIT_MEMLOCK and
    /// wiredmax; if so they are reserved against wiredmax until `wireUser` is done with them.
    func reserveWiring(_ p: Proc, pages: Int) -> Bool {
        UInt64(wiredPageCount(p) + pages) * UInt64(pageSize) <= p.memlockLimit && uvm.mem.reserveWired(pages)
    }

    /// Sets the user wiring on [lo, hi) (uvm_map_pageable with mlock semantics) and faults in
    /// the entries that became wired. Called with the map write-locked; returns it unlocked.
    /// Throws after undoing its own wiring if a page cannot be faulted in.
    func wireUser(_ p: Proc, _ lo: UInt64, _ hi: UInt64, reserved: Int = 0) async throws {
        defer { uvm.mem.releaseWired(reserved) }
        let map = p.map
        var became: [MapEntry] = []
        for e in map.clip(lo, hi) where !e.protection.isEmpty {
            let (user, delta) = uvm.userWiringChange(e, .mlock)
            if try uvm.changeWiring(e, in: map, user: user, systemDelta: delta) { became.append(e) }
        }
        guard !became.isEmpty else {
            try await map.lock.exit()
            return
        }
        map.busy()
        try await map.lock.exit()
        let r = try await uvm.faultWire(map, became)
        try await map.lockWrite()
        map.unbusy()
        if r != .ok {
            for e in became {
                let (user, delta) = uvm.userWiringChange(e, .munlock)
                try uvm.changeWiring(e, in: map, user: user, systemDelta: delta)
            }
            try await map.lock.exit()
            throw Errno.ENOMEM
        }
        try await map.lock.exit()
    }

    /// mlock(2). The limits are NetBSD's arithmetic: the whole range counts against wiredmax
    /// and RLIMIT_MEMLOCK, even the part already locked.
    public func mlock(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len, else: .ENOMEM)
        let map = p.map
        try await map.lockWrite()
        var error: Errno?
        if map.lookup(lo) == nil {
            error = .ENOMEM
        } else if lo == hi {
            error = nil
        } else if !map.isFullyMapped(lo, hi) || map.entries(in: lo, hi).contains(where: { $0.protection.isEmpty }) {
            error = .EINVAL
        } else if !reserveWiring(p, pages: Int((hi - lo) >> UInt64(uvm.pageShift))) {
            error = .EAGAIN
        }
        if lo == hi || error != nil {
            try await map.lock.exit()
            if let error { throw error }
            return
        }
        try await wireUser(p, lo, hi, reserved: Int((hi - lo) >> UInt64(uvm.pageShift)))
    }

    /// munlock(2): every entry of the range must be wired (by anyone), else ENOMEM; the user
    /// wiring is cleared, system wirings (a vslock in progress) stay.
    public func munlock(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len, else: .ENOMEM)
        let map = p.map
        try await map.lockWrite()
        if lo == hi {
            // Nothing to unlock, but the start must be mapped (uvm_map_pageable looks it up).
            let mapped = map.lookup(lo) != nil
            try await map.lock.exit()
            if !mapped { throw Errno.ENOMEM }
            return
        }
        guard map.isFullyMapped(lo, hi), map.entries(in: lo, hi).allSatisfy(\.isWired) else {
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
    /// entry now (ENOMEM past a limit).
    public func mlockall(_ lwp: LWP, current: Bool, future: Bool) async throws {
        let p = try liveProc(lwp)
        guard current || future else { throw Errno.EINVAL }
        let map = p.map
        try await map.lockWrite()
        if future {
            map.wireFuture = true
            p.futureWiringRequested = true
        }
        guard current, let first = map.entries.first, let last = map.entries.last else {
            try await map.lock.exit()
            return
        }
        let pages = unwiredPages(map, first.start, last.end)
        guard reserveWiring(p, pages: pages) else {
            try await map.lock.exit()
            throw Errno.ENOMEM
        }
        try await wireUser(p, first.start, last.end, reserved: pages)
    }

    /// munlockall(2): clears every user wiring and MCL_FUTURE.
    public func munlockall(_ lwp: LWP) async throws {
        let p = try liveProc(lwp)
        let map = p.map
        try await map.lockWrite()
        map.wireFuture = false
        p.futureWiringRequested = false
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

    public func vsunlock(_ lwp: LWP, _ hold: PageHold) async throws {
        guard !hold.released else { throw Errno.EINVAL }
        try await uvm.vsunlock(hold)
    }

    /// The device writes `byte` into every captured page (device to memory). A handle that was
    /// vsunlocked holds nothing any more: EINVAL.
    public func dmaWrite(_ hold: PageHold, _ byte: UInt8) async throws {
        guard !hold.released else { throw Errno.EINVAL }
        try await sched.switchPoint(.io, "dma write")
        for i in hold.pages.indices {
            let pg = try uvm.dmaPage(hold, i)
            pg.fill(0, pageSize, byte, pageSize: pageSize)
            pg.dirty = true
        }
    }

    /// The device reads the captured pages: the byte if they are uniform, else the first
    /// offset and value that differ from the first byte.
    public func dmaRead(_ hold: PageHold) async throws -> Result<UInt8, Mismatch> {
        guard !hold.released else { throw Errno.EINVAL }
        try await sched.switchPoint(.io, "dma read")
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
        let p = try liveProc(lwp)
        guard len > 0 else { return }
        let hold = try await vslock(lwp, addr, len, access: [.read, .write])
        do {
            try await copyout(p.map, addr, [UInt8](repeating: Self.sysctlByte, count: Int(len)))
        } catch {
            try await uvm.vsunlock(hold)
            throw error
        }
        try await uvm.vsunlock(hold)
    }
}
