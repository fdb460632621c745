// uvm_glue: vslock/vsunlock, the wiring of a user range for kernel I/O (physio, sysctl), and the
// DMA that moves data to or from the pages it captured.
//
// A vslock is a *system* wiring of the range's entries (balanced, so no munlock undoes it, seed
// 002) plus a *hold* on each physical page it captured (rule 3): whatever happens to the
// mapping, the object or the entry meanwhile — truncation, munlock, copy-on-write, another
// vsunlock — the captured page stays allocated, detached and released if its owner lets it go,
// and is freed by the last holder. Pages are never kept busy for the I/O (rule 7, seed 000).
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
        // Only pages not wired already add to the machine's wired count.
        var newlyWired = 0
        var va = lo
        while va < hi {
            if let e = map.lookup(va), !e.isDevice, (page(backing: e, va: va)?.wireCount ?? 0) == 0 { newlyWired += 1 }
            va += UInt64(pageSize)
        }
        guard mem.reserveWired(newlyWired) else {
            try await map.lock.exit()
            return .failure(.limit)
        }
        defer { mem.releaseWired(newlyWired) }
        let entries = map.clip(lo, hi)
        for e in entries { try changeWiring(e, in: map, user: e.userWired, systemDelta: 1) }
        let hold = PageHold(map: map, start: lo, end: hi, access: access, thread: sched.current!)
        hold.holdsPages = policy.vslock != .entry
        holds.append(hold)
        map.busy()
        try await map.lock.exit()

        // Fault each page in with the access the I/O needs (a write breaks copy-on-write and
        // loans now, so the captured page is the one the mapping keeps), then capture it. Other
        // threads run between the pages, as between uvm_fault_wire's faults.
        var failed = false
        va = lo
        var attempts = 0
        while va < hi && !failed {
            failed = try await fault(map, va: va, access: access, wiring: .current) != .ok
            if failed { break }
            try await map.lockWrite()
            let captured = try await capture(hold, at: va)
            try await map.lock.exit()
            if captured {
                va += UInt64(pageSize)
                attempts = 0
            } else {
                attempts += 1
                failed = attempts > faultRestartBound
            }
        }
        try await map.lockWrite()
        map.unbusy()
        if failed {
            try dropHold(hold)
            try await map.lock.exit()
            return .failure(.fault)
        }
        try await map.lock.exit()
        return .success(hold)
    }

    /// Captures the page behind `va` (map write-locked). Modern: the page is held (wired) and
    /// not kept busy (rule 7). Historic `vslock=entry`: the page is only remembered, not held.
    /// Historic `vslock=busy`: it is also kept busy until vsunlock — the same page twice waits
    /// for itself, and two pages of one object in decreasing offset order can deadlock with a
    /// flush (seed 000). Returns false if the page went away since the fault (fault again).
    private func capture(_ hold: PageHold, at va: UInt64) async throws -> Bool {
        guard let e = hold.map.lookup(va), let pg = pageIncludingDevice(backing: e, va: va)
        else { return false }
        if policy.vslock == .busy {
            if pg.isBusy {
                try await pg.waitUnbusy(sched)
                return false
            }
            try pg.setBusy(sched)
        }
        if hold.holdsPages { mem.wire(pg) }
        mem.note(pg, "captured by a vslock of \(hex(hold.start))-\(hex(hold.end)) by \(hold.thread.name)")
        hold.pages.append((pg, pg.generation))
        return true
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
        for (pg, _) in hold.pages {
            if hold.holdsPages { try mem.unwire(pg, sched) }
            if pg.busyOwner === hold.thread { pg.clearBusy(sched) }
            try releaseHeldPage(pg)
        }
        hold.released = true
        holds.removeAll { $0 === hold }
        hold.map.wiringsDrained()
    }

    /// The page a DMA reaches through `hold`, or a use-after-free failure if the captured page
    /// was freed or given to another owner since (seed 000's freed physio buffer).
    public func dmaPage(_ hold: PageHold, _ i: Int) throws -> VMPage {
        let (pg, gen) = hold.pages[i]
        if pg.isFree || pg.generation != gen {
            throw sched.abort(KernelFailure(
                .useAfterFree, "DMA through a vslock of \(hex(hold.start))-\(hex(hold.end)) reached \(pg), which was freed" + (pg.isFree ? "" : " and reused"),
                details: ["captured \(pg) at generation \(gen); it is now " + (pg.isFree ? "free" : "generation \(pg.generation), owned by \(pg.owner?.ownerDescription ?? "nobody")")]
                    + pg.history.suffix(10).map { "history: " + $0 }))
        }
        return pg
    }
}
