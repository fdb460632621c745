// uvm_fault: resolves a page fault at one virtual address, and the MMU's view of user memory.
//
// Locking: map (read) → amap → object, as in NetBSD; page busy is waited for only after dropping
// them all. Whatever must sleep (a busy page, page-in I/O, the map write lock for amap_copy) drops
// every lock first and restarts the fault from the lookup ("ReFault"), so a fault never sleeps
// holding a lock another sleeper could need. Restarts caused by contention are counted; past
// `faultRestartBound` the fault is a livelock (docs/wiring.md, *No sleeping on the vnode lock with
// busy pages*).
//
// Cases: upper (an anon in the amap: share it, or copy it if written while shared), lower (the
// object's page: map it read-only in a private mapping, or promote it to a new anon on write),
// and zero-fill (anonymous memory: a new anon).

import UVMMachine
import UVMSched

/// Whether a fault is a wiring fault, and which protection it is checked against.
public enum FaultWiring: Sendable {
    /// An ordinary fault, checked against the current protection.
    case none
    /// uvm_map_pageable's wiring fault, at the maximum protection (VM_FAULT_WIREMAX).
    case max
    /// uvm_vslock's wiring fault, at the current protection.
    case current
}

/// The outcome of a fault as the faulting thread sees it.
public enum FaultResult: Equatable, Sendable {
    case ok
    /// No mapping, or protection forbids the access.
    case sigsegv
    /// Past the end of a mapped file, or the page could not be read.
    case sigbus
    /// No memory could be found for the fault (NetBSD's trap kills the process: "out of swap").
    case sigkill
}

private enum FaultStep {
    case done(FaultResult)
    /// Looked again after a change it made itself (amap_copy): not a restart against anyone.
    case again
    /// Restarted because of contention (busy page, vnode lock): counted.
    case restart
    /// No free page: reclaim some and restart, or fail if nothing can be reclaimed. `sparing`
    /// is the page the fault copies from: reclaiming it would only make the fault need it again
    /// (NetBSD's fault keeps it busy while it waits for memory).
    case noMemory(sparing: VMPage?)
}

extension UVM {
    /// uvm_fault: makes `va` accessible for `access` in `map`, or says which signal results.
    /// A wiring fault (`wiring`) checks `access` against the entry's maximum protection
    /// (VM_FAULT_WIREMAX), so a private mapping is copied to anons now, and maps the
    /// page with no more than the current protection. A wiring fault passes its `grant`: a page
    /// it swaps in wired gives back its unit in that same step.
    public func fault(_ map: VMMap, va: UInt64, access: VMProt, wiring: FaultWiring = .none,
                      grant: WiredGrant? = nil) async throws -> FaultResult {
        mem.stats.faults += 1
        var restarts = 0
        while true {
            switch try await faultOnce(map, va: va, access: access, wiring: wiring, grant: grant) {
            case .done(let r):
                return r
            case .again:
                continue
            case .noMemory(let source):
                // Wake the page daemon and wait for it (here: reclaim on this thread). When every
                // page is wired nothing can be reclaimed and the fault fails rather than sleeping
                // forever (docs/wiring.md, *Limits fail cleanly*, FreeBSD's 2004 wiring fixes):
                // NetBSD's trap then kills the process. Historic `wired-exhaustion=wait`: sleep
                // until some page is freed. Another thread may have freed pages while this one
                // reclaimed: retry then too.
                if try await pageDaemon(target: 1, sparing: source) == 0 && mem.freeCount == 0 {
                    if let inTransit = mem.pages.first(where: { $0.isBusy && $0.wireCount == 0 && $0.busyOwner !== sched.current }) {
                        // Another thread is paging it out (or in): memory is not gone yet, so wait
                        // for that I/O and try again, as uvm_wait waits for the page daemon.
                        try await inTransit.waitUnbusy(sched)
                    } else {
                        guard policy.wiredExhaustion == .wait else { return .sigkill }
                        try await mem.waitForFreePage(sched)
                    }
                }
                fallthrough
            case .restart:
                restarts += 1
                if restarts > faultRestartBound {
                    throw sched.abort(KernelFailure(
                        .livelock, "fault at \(hex(va)) restarted \(restarts) times without progress",
                        details: ["bound: \(faultRestartBound) restarts per fault"]))
                }
            }
        }
    }

    private func faultOnce(_ map: VMMap, va: UInt64, access: VMProt, wiring: FaultWiring,
                           grant: WiredGrant?) async throws -> FaultStep {
        try await map.lock.enter(.reader)
        guard let entry = map.lookup(va),
              (wiring == .max ? entry.maxProtection : entry.protection).isSuperset(of: access) else {
            try await map.lock.exit()
            return .done(.sigsegv)
        }
        if faultCopiesAmap(entry, access) {
            try await map.lock.exit()
            try await map.lockWrite()
            if let e = map.lookup(va), faultCopiesAmap(e, access) {
                // A wiring copies the whole entry it wires (uvm_map_pageable's amap_copy over
                // the range); an ordinary fault only the chunk around it.
                do {
                    try await amapCopy(e, chunkingAround: wiring == .none ? va : nil, in: map)
                } catch PagerError.noMemory {
                    try await map.lock.exit()
                    return .done(.sigkill)
                }
            }
            try await map.lock.exit()
            return .again
        }

        let vpn = va >> UInt64(pageShift)
        let amap = entry.amap
        let slot = entry.amapSlot(for: va, pageShift)
        if let amap { try await amap.lock.enter() }


        // Upper layer: the anon in the amap.
        if let amap, let anon = amap.anons[slot] {
            guard let pg = anon.page else {
                return try await swapIn(anon, map, amap, grant: grant, va: va)
            }
            if pg.isBusy {
                try await unlockAll(map, amap)
                try await pg.waitUnbusy(sched)
                return .restart
            }
            var page = pg
            var prot = entry.protection
            // While the entry still shares its amap copy-on-write, nothing in it is writable.
            if entry.needsCopy { prot.remove(.write) }
            if pg.loanCount > 0 && anon.refs == 1 && (access.contains(.write) || (wiring != .none && wiringBreaksLoans)) {
                // A write, or any wiring (docs/wiring.md, *Wiring breaks loans*), gets a page of
                // its own.
                guard let copy = try breakLoan(anon: anon, in: amap, slot: slot) else {
                    try await unlockAll(map, amap)
                    return .noMemory(sparing: pg)
                }
                page = copy
            } else if anon.refs > 1 {
                if access.contains(.write) {
                    // Copy-on-write: this amap gets its own copy of the shared anon.
                    guard let copy = newAnon(copying: pg, for: amap) else {
                        try await unlockAll(map, amap)
                        return .noMemory(sparing: pg)
                    }
                    try setAnon(amap, slot, copy)
                    try unrefAnon(anon)
                    page = copy.page!
                    mem.stats.cowFaults += 1
                } else {
                    prot.remove(.write)
                }
            }
            enter(map, vpn, page, prot)
            if access.contains(.write) { page.dirty = true }
            try await unlockAll(map, amap)
            return .done(.ok)
        }

        // Lower layer: the object, or zero-fill.
        guard let obj = entry.object else {
            guard let amap, let anon = newAnon(copying: nil, for: amap) else {
                try await unlockAll(map, amap)
                return .noMemory(sparing: nil)
            }
            try setAnon(amap, slot, anon)
            mem.stats.zeroFills += 1
            enter(map, vpn, anon.page!, entry.protection)
            try await unlockAll(map, amap)
            return .done(.ok)
        }

        try await obj.lock.enter()
        let idx = entry.objectPage(va, pageShift)
        switch obj.lookup(idx) {
        case .busy(let pg):
            try await unlockAll(map, amap, obj)
            try await pg.waitUnbusy(sched)
            return .restart
        case .needIO:
            let vnodeObject = obj as? VnodeObject
            let lockedEarly = try await vnodeObject?.lockEarly() ?? false
            try await unlockAll(map, amap, obj)
            let result = try await obj.pageIn(idx)
            if lockedEarly { try await vnodeObject!.vnode.lock.exit() }
            switch result {
            case .done: return .again
            case .restart: return .restart
            case .error(.noMemory): return .noMemory(sparing: nil)
            case .error(let e): return .done(signal(for: e))
            }
        case .error(.noMemory):
            try await unlockAll(map, amap, obj)
            return .noMemory(sparing: nil)
        case .error(let e):
            try await unlockAll(map, amap, obj)
            return .done(signal(for: e))
        case .resident(let pg):
            if entry.copyOnWrite && access.contains(.write) {
                // Promote: a private mapping's write goes to a new anon holding a copy.
                guard let amap, let anon = newAnon(copying: pg, for: amap) else {
                    try await unlockAll(map, amap, obj)
                    return .noMemory(sparing: pg)
                }
                try setAnon(amap, slot, anon, shadowed: (obj, idx))
                mem.stats.cowFaults += 1
                enter(map, vpn, anon.page!, entry.protection)
            } else {
                var page = pg
                if pg.loanCount > 0 && !entry.copyOnWrite && (access.contains(.write) || (wiring != .none && wiringBreaksLoans)) {
                    // A write through a shared mapping, or any wiring (docs/wiring.md, *Wiring
                    // breaks loans*), breaks the loan.
                    guard let copy = try breakLoan(objectPage: pg, in: obj) else {
                        try await unlockAll(map, amap, obj)
                        return .noMemory(sparing: pg)
                    }
                    page = copy
                }
                var prot = entry.protection
                if entry.copyOnWrite { prot.remove(.write) }
                enter(map, vpn, page, prot)
                if access.contains(.write) { page.dirty = true }
                mem.activate(page)
            }
            try await unlockAll(map, amap, obj)
            return .done(.ok)
        }
    }

    /// Whether a fault with `access` on `e` first gives it an amap of its own (uvm_fault_check's
    /// amap_copy case): before writing a copy-on-write entry, and for any access to anonymous
    /// memory.
    func faultCopiesAmap(_ e: MapEntry, _ access: VMProt) -> Bool {
        (e.needsCopy && (access.contains(.write) || e.object == nil)) || (e.amap == nil && e.object == nil)
    }

    /// uvmfault_anonget's swap-in: the anon gets a busy page (wired for the wirings that see
    /// it, a wiring fault's own grant giving back the unit of `va` at once), the read happens
    /// with no lock held, and the fault looks again.
    private func swapIn(_ anon: Anon, _ map: VMMap, _ amap: Amap, grant: WiredGrant?, va: UInt64) async throws -> FaultStep {
        guard let slot = anon.swapSlot else {
            throw sched.abort(KernelFailure(.invariant, "\(anon.ownerDescription) has neither a page nor a swap slot"))
        }
        guard let pg = mem.alloc(owner: anon) else {
            try await unlockAll(map, amap)
            return .noMemory(sparing: nil)
        }
        try pg.setBusy(sched)
        anon.page = pg
        anon.swapSlot = nil
        if wiresFollowPages {
            for _ in 0..<anon.wiredRefs { mem.wire(pg) }
            if anon.wiredRefs > 0 { grant?.settle(at: va) }
        }
        try await unlockAll(map, amap)
        let data = try await swap.read(slot, sched)
        try await anon.lock.enter()
        pg.data = data
        pg.dirty = true
        swap.free(slot)
        mem.stats.pageIns += 1
        if anon.page === pg { mem.activate(pg) }
        try unbusy(pg)
        try await anon.lock.exit()
        return .again
    }

    /// pmap_enter with the protection the entry allows now (a wiring fault at maximum
    /// protection may find it lower, or none).
    private func enter(_ map: VMMap, _ vpn: UInt64, _ page: VMPage, _ prot: VMProt) {
        guard !prot.isEmpty else { return }
        // A loaned page is never writable: the borrower relies on it not changing.
        map.pmap.enter(vpn: vpn, page: page, prot: page.loanCount > 0 ? prot.subtracting(.write) : prot)
    }

    /// uvmfault_unlockall: object, amap, map, innermost first.
    private func unlockAll(_ map: VMMap, _ amap: Amap?, _ obj: UVMObject? = nil) async throws {
        if let obj { try await obj.lock.exit() }
        if let amap { try await amap.lock.exit() }
        try await map.lock.exit()
    }

    private func signal(for e: PagerError) -> FaultResult {
        switch e {
        // Past the end of file and a failed page-in are SIGBUS (as FreeBSD and Linux; NetBSD's
        // trap sends SIGSEGV for an I/O error).
        case .pastEOF, .io: return .sigbus
        case .noMemory: return .sigkill
        }
    }

    // MARK: The MMU

    /// The page backing `va` for an access, faulting as the hardware would. Returns the page
    /// (mapped in the pmap with enough protection) or the signal the access raises.
    public func translate(_ map: VMMap, va: UInt64, access: VMProt) async throws -> Result<VMPage, FaultError> {
        var faults = 0
        while true {
            if let pte = map.pmap.extract(vpn: va >> UInt64(pageShift)), pte.prot.isSuperset(of: access) {
                if access.contains(.write) { pte.page.dirty = true }
                return .success(pte.page)
            }
            let r = try await fault(map, va: va, access: access)
            if r != .ok { return .failure(FaultError(result: r)) }
            faults += 1
            if faults > faultRestartBound {
                throw sched.abort(KernelFailure(.livelock, "access at \(hex(va)) faulted \(faults) times; the mapping never stays"))
            }
        }
    }
}

/// A failed user access: the signal it raises.
public struct FaultError: Error, Equatable {
    public let result: FaultResult
}

public func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
