// uvm_aobj: an anonymous UVM object (SysV shared memory segments): zero-filled on first touch,
// pages kept by offset like a file's, but backed by swap instead of a file.
//
// Locking: as every object, the object lock protects its pages.

import UVMMachine

public final class AnonObject: UVMObject, SwapBacked {
    public let size: UInt64
    /// Pages the page daemon put on swap, by page index.
    public package(set) var swapSlots: [UInt64: Int] = [:]

    public init(_ uvm: UVM, name: String, size: UInt64) {
        self.size = size
        super.init(uvm, name: name)
    }

    public override func contains(_ idx: UInt64) -> Bool { uvm.bytes(pages: idx) < size }

    public override func isSwappedOut(_ idx: UInt64) -> Bool { pages[idx] == nil && swapSlots[idx] != nil }
    public override var swappedOut: [UInt64: Int] { swapSlots }
    public override var pagerName: String { "aobj" }

    /// Resident pages are returned; swapped ones need I/O; missing ones are zero-filled at once
    /// (uao_get).
    public override func lookup(_ idx: UInt64) -> PagerLookup {
        if let pg = pages[idx] { return pg.isBusy ? .busy(pg) : .resident(pg) }
        guard contains(idx) else { return .error(.pastEOF) }
        if isSwappedOut(idx) { return .needIO }
        guard let pg = allocPage(at: idx) else { return .error(.noMemory) }
        uvm.mem.stats.zeroFills += 1
        return .resident(pg)
    }

    /// Reads page `idx` back from swap. Called with no locks held.
    public override func pageIn(_ idx: UInt64) async throws -> PageInResult {
        let sched = uvm.sched
        try await lock.enter()
        guard pages[idx] == nil, let slot = swapSlots[idx] else {
            try await lock.exit()
            return .done
        }
        guard let pg = allocPage(at: idx) else {
            try await lock.exit()
            return .error(.noMemory)
        }
        swapSlots[idx] = nil
        try pg.setBusy(sched)
        try await lock.exit()
        let data = try await uvm.swap.read(slot, sched)
        try await lock.enter()
        pg.contents = data
        pg.dirty = true
        uvm.swap.free(slot)
        uvm.mem.stats.pageIns += 1
        try uvm.unbusy(pg)
        try await lock.exit()
        return .done
    }

    /// The page daemon put `pg` on swap.
    func pagedOut(_ pg: VMPage, to slot: Int) throws {
        let idx = uvm.pageIndex(pg.offset)
        try removePage(pg)
        swapSlots[idx] = slot
    }

    /// The last reference: pages and swap slots go — the pages first, so that a page-out still
    /// in flight finds its page gone and frees its own slot, rather than recording it after the
    /// slots were freed (uao_detach frees pages and swap under one lock, uao_free).
    package override func terminate() async throws {
        try await lock.enter()
        try removeAllPagesLocked()
        // In page order: the device reuses the last slot freed first, and a dictionary's order
        // differs from run to run, so the slots later page-outs get would not replay.
        for (_, slot) in swapSlots.sorted(by: { $0.key < $1.key }) { uvm.swap.free(slot) }
        swapSlots.removeAll()
        try await lock.exit()
    }
}
