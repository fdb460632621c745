// uvm_glue: vslock/vsunlock, the wiring of a user range for kernel I/O (physio, sysctl), and the
// DMA that moves data to or from the pages it captured.
//
// A vslock is a *system* wiring of the range's entries (balanced, so no munlock undoes it:
// FreeBSD's 2004 wiring fixes) plus a *hold* on each physical page it captured (docs/wiring.md,
// *Held pages are released, not freed*): whatever happens to the mapping, the object or the entry
// meanwhile — truncation, munlock, copy-on-write, another vsunlock — the captured page stays
// allocated, detached and released if its owner lets it go, and is freed by the last holder. Pages
// are never kept busy for the I/O (docs/wiring.md, *vslock never busies pages*).
//
// Locking: the map is write-locked to change wiring and capture pages, and busy (not locked)
// while faulting; munmap waits for the system wiring to drain (FreeBSD vm_map_delete).

import UVMMachine
import UVMSched

/// One vslock: the range, its system wiring, and the pages it holds.
public final class PageHold {
    public let map: VMMap
    public let start: UInt64
    public let end: UInt64
    public let access: VMProt
    public let thread: SimThread
    /// The captured pages with the allocation generation they had, so that a DMA can tell the
    /// page it reaches is still the one it captured.
    public package(set) var pages: [(page: VMPage, generation: UInt32)] = []
    /// Whether the captured pages are held (wired) by this vslock: not under the historic
    /// `vslock=entry`, where only the map entries are wired.
    public package(set) var holdsPages = true
    /// Wired pages reserved against wiredmax for the copies a store would make of captured
    /// copy-on-write pages (`UVM.capture`), until vsunlock.
    public package(set) var copiesReserved = 0
    public package(set) var released = false

    init(map: VMMap, start: UInt64, end: UInt64, access: VMProt, thread: SimThread) {
        self.map = map
        self.start = start
        self.end = end
        self.access = access
        self.thread = thread
    }
}

public enum VslockError: Error, Equatable {
    /// The range is not mapped, or not with the access the I/O needs.
    case fault
    /// The wired-page limit would be passed.
    case limit
}

extension UVM {
    /// Threads whose vslocks of `map` cover part of [lo, hi): the I/O a munmap waits for.
    func ioHolders(_ map: VMMap, _ lo: UInt64, _ hi: UInt64) -> [SimThread] {
        holds.filter { $0.map === map && !$0.released && $0.start < hi && $0.end > lo }.map(\.thread)
    }

    /// uvm_vslock: wires [lo, hi) of `map` as a system wiring for an I/O that needs `access` on
    /// the memory (write for a device read), and captures its pages.
    public func vslock(_ map: VMMap, _ lo: UInt64, _ hi: UInt64, access: VMProt) async throws -> Result<PageHold, VslockError> {
        try await map.lockWrite()
        guard map.isFullyMapped(lo, hi),
              map.entries(in: lo, hi).allSatisfy({ $0.protection.isSuperset(of: access) }) else {
            try await map.lock.exit()
            return .failure(.fault)
        }
        // Only pages not wired already add to the machine's wired count. The grant is checked
        // when the wiring starts, and each page gives its unit back as soon as it is wired, as
        // uvm_map_pageable's (`WiredGrant`): a concurrent wiring that fits is not refused.
        // A range with more pages than wiredmax could ever take fails without counting them
        // one by one (at most `wiredCount` of them are wired already), so a huge vslock costs
        // what the answer needs.
        let pageable = map.entries(in: lo, hi).filter { !$0.isDevice }
            .reduce(UInt64(0)) { $0 + (min($1.end, hi) - max($1.start, lo)) >> UInt64(pageShift) }
        if pageable > UInt64(mem.wiredMax) + UInt64(mem.wiredCount) {
            try await map.lock.exit()
            return .failure(.limit)
        }
        let unwired = pagesToWire(map, lo, hi, access)
        guard mem.reserveWired(unwired) else {
            try await map.lock.exit()
            return .failure(.limit)
        }
        let grant = WiredGrant(mem, reserved: unwired)
        defer { grant.settle(grant.pages) }
        var became: [MapEntry] = []
        for e in map.clip(lo, hi) {
            if try changeWiring(e, in: map, user: e.userWired, systemDelta: 1) { became.append(e) }
        }
        // Resident pages of the entries that became wired are wired now.
        grant.settle(grant.pages - pagesToWire(map, lo, hi, access))
        handOverMissingObjectPages(became, in: map, grant)
        let hold = PageHold(map: map, start: lo, end: hi, access: access, thread: sched.current!)
        hold.holdsPages = policy.vslock != .entry
        holds.append(hold)
        map.busy()
        try await map.lock.exit()
        // Anonymous pages of the entries it wired are zero-filled and settled in one step each,
        // as uvm_map_pageable's are.
        if wiresFollowPages {
            for e in became { try await settleAnonymousPages(map, e, access, grant) }
        }

        // Fault each page in with the access the I/O needs (a write breaks copy-on-write and
        // loans now, so the captured page is the one the mapping keeps), then capture it. Other
        // threads run between the pages, as between uvm_fault_wire's faults. Only the entries
        // this vslock made wired are faulted as uvm_fault_wire does (`faultWirePage`): the
        // others already hold their pages, and their unwiring is not this vslock's.
        var failure: VslockError?
        var va = lo
        var attempts = 0
        while va < hi && failure == nil {
            // The page's unit of the grant goes back once the page is wired: by the fault (the
            // entry's wiring) or by the capture, and before the capture reserves a copy, so
            // the page is never counted twice.
            let counted = pagesToWire(map, va, va + UInt64(pageSize), access) > 0
            func settleOnceWired() {
                if counted && pagesToWire(map, va, va + UInt64(pageSize), access) == 0 { grant.settle(at: va) }
            }
            let r = became.contains(where: { $0.start <= va && va < $0.end })
                ? try await faultWirePage(map, va: va, access: access, wiring: .current, grant: grant)
                : try await fault(map, va: va, access: access, wiring: .current, grant: grant)
            guard r == .ok else {
                failure = r == .wiredLimit ? .limit : .fault
                break
            }
            try await map.lockWrite()
            settleOnceWired()
            let captured = try await capture(hold, at: va)
            settleOnceWired()
            try await map.lock.exit()
            switch captured {
            case .captured:
                va += UInt64(pageSize)
                attempts = 0
            case .gone:
                attempts += 1
                if attempts > faultRestartBound { failure = .fault }
            case .noRoomForCopy:
                failure = .limit
            }
        }
        try await map.lockWrite()
        map.unbusy()
        if let failure {
            try dropHold(hold)
            try await map.lock.exit()
            return .failure(failure)
        }
        try await map.lock.exit()
        return .success(hold)
    }

    /// Pages of [lo, hi) of `map`, device memory aside, whose wiring for `access` still adds a
    /// page to the machine's wired count (`wiringAddsPage`).
    private func pagesToWire(_ map: VMMap, _ lo: UInt64, _ hi: UInt64, _ access: VMProt) -> Int {
        stride(from: lo, to: hi, by: pageSize).filter { va in
            guard let e = map.lookup(va), !e.isDevice else { return false }
            return wiringAddsPage(e, va, writes: access.contains(.write))
        }.count
    }

    private enum Capture {
        case captured
        /// The page went away since the fault: fault again.
        case gone
        /// The page is shared copy-on-write and no wired page is left for its copy.
        case noRoomForCopy
    }

    /// Captures the page behind `va` (map write-locked). Modern: the page is held (wired) and not
    /// kept busy (docs/wiring.md, *vslock never busies pages*). Historic `vslock=entry`: the page
    /// is only remembered, not held. Historic `vslock=busy`: it is also kept busy until vsunlock —
    /// the same page twice waits for itself, and two pages of one object in decreasing offset order
    /// can deadlock with a flush (the 2003 tech-kern vslock thread).
    ///
    /// A page that a store would copy costs two wired pages: the held original, and the copy
    /// that the entry's wiring takes when the store comes. uvm_vslock (uvm_glue.c) faults with
    /// the I/O's access only, so a read-only vslock leaves copy-on-write unbroken, and so does
    /// this one; instead the copy's page is reserved against wiredmax now, for as long as the
    /// hold lasts, so that a later wiring near the limit is refused rather than the store
    /// passing it.
    private func capture(_ hold: PageHold, at va: UInt64) async throws -> Capture {
        sched.assertHeld(hold.map.lock, .writer)
        guard let e = hold.map.lookup(va), let pg = pageIncludingDevice(backing: e, va: va)
        else { return .gone }
        if policy.vslock == .busy && pg.isBusy {
            try await pg.waitUnbusy(sched)
            return .gone
        }
        sched.sometimes(pg.loanCount > 0, "a vslock captured a loaned page")
        if hold.holdsPages && writeFaultCopies(e, va) {
            sched.sometimes(true, "a vslock reserved a wired page for a copy")
            guard mem.reserveWired(1) else { return .noRoomForCopy }
            hold.copiesReserved += 1
        }
        if policy.vslock == .busy { try pg.setBusy(sched) }
        if hold.holdsPages { mem.wire(pg) }
        mem.note(pg, "captured by a vslock of \(hex(hold.start))-\(hex(hold.end)) by \(hold.thread.name)")
        hold.pages.append((pg, pg.generation))
        return .captured
    }

    /// uvm_vsunlock: undoes exactly that vslock — its system wiring and its page holds —
    /// whatever else happened to the range meanwhile. Returns false, changing nothing, when
    /// another thread undid it while this one waited for the map lock.
    @discardableResult
    public func vsunlock(_ hold: PageHold) async throws -> Bool {
        try await hold.map.lockWrite()
        let undone = !hold.released
        if undone { try dropHold(hold) }
        try await hold.map.lock.exit()
        return undone
    }

    private func dropHold(_ hold: PageHold) throws {
        for e in hold.map.entries(in: hold.start, hold.end) {
            if policy.vslock == .entry {
                // Historic: unwire the entry unless the user wired it, whoever else still
                // needs it (NetBSD uvm_vsunlock before the user/system split).
                if !e.userWired { try changeWiring(e, in: hold.map, user: false, systemDelta: -e.systemWireCount) }
            } else {
                try changeWiring(e, in: hold.map, user: e.userWired, systemDelta: -1)
            }
        }
        mem.releaseWired(hold.copiesReserved)
        hold.copiesReserved = 0
        for (pg, _) in hold.pages {
            if hold.holdsPages { try mem.unwire(pg, sched) }
            if pg.busyOwner === hold.thread { pg.clearBusy(sched) }
            try releaseHeldPage(pg)
        }
        hold.released = true
        holds.removeAll { $0 === hold }
        hold.map.wiringsDrained()
    }

    /// The page a DMA reaches through `hold`, or a use-after-free failure if the captured page was
    /// freed or given to another owner since (the 2003 tech-kern vslock thread's freed physio
    /// buffer).
    public func dmaPage(_ hold: PageHold, _ i: Int) throws -> VMPage {
        let (pg, gen) = hold.pages[i]
        let found = "DMA through a vslock of \(hex(hold.start))-\(hex(hold.end)) reached"
        if let failure = pg.freedSince(gen, taken: "captured", found: found) { throw sched.abort(failure) }
        return pg
    }
}

extension VMPage {
    /// A use-after-free, if this page was freed or given to another owner since a holder took
    /// it at `generation` (the 2003 tech-kern vslock thread's freed physio buffer): `found` says
    /// who still reaches it, `taken` how the holder got it.
    public func freedSince(_ generation: UInt32, taken: String, found: String) -> KernelFailure? {
        guard isFree || self.generation != generation else { return nil }
        let now = isFree ? "free" : "generation \(self.generation), owned by \(owner?.ownerDescription ?? "nobody")"
        return KernelFailure(.useAfterFree, "\(found) \(self), which was freed" + (isFree ? "" : " and reused"),
                             details: ["\(taken) at generation \(generation); the page is now \(now)"]
                                + history.suffix(10).map { "history: " + $0 })
    }
}
