// Physical memory: the page array, the free list and the machine-wide counters (uvmexp).
//
// Allocation and free never switch threads. Freeing a page that is still wired, loaned, busy or
// mapped is a kernel panic here, where NetBSD's uvm_pagefree would quietly zero the wire count:
// that quiet zeroing is how the 2003 tech-kern vslock thread's truncated-while-wired page was lost.

import UVMSched

public final class PhysMem {
    public let pageSize: Int
    /// Frames in the machine.
    public let pageCount: Int
    /// The frames handed out so far, by frame number: a frame above this high-water mark has
    /// never been allocated, so it is free and costs nothing (set-up, teardown and the audit
    /// follow what a run uses, not the machine's size).
    public private(set) var pages: [VMPage] = []
    /// Freed frames, the last freed handed out first; below them, frames never allocated come
    /// in increasing order (deterministic and easy to read).
    private var freeList: [Int] = []
    public private(set) var wiredCount = 0
    /// Wired pages with no owner any more: released by a truncation or a loan break while a
    /// hold kept them, I/O buffers in flight until their holder lets go.
    public private(set) var releasedWiredCount = 0
    public let wiredMax: Int
    /// Pages a wiring in progress has been granted against wiredmax and not yet wired: the
    /// check and the wiring are apart (faults switch threads), so the grant is held meanwhile.
    public private(set) var wiredReserved = 0
    /// vmstat -s style counters.
    public package(set) var stats = Stats()

    public struct Stats: Sendable {
        public var faults = 0, zeroFills = 0, cowFaults = 0, pageIns = 0, pageOuts = 0
        public var allocs = 0, frees = 0, wirings = 0, unwirings = 0
        public var loans = 0, loanBreaks = 0, releasedPages = 0, pagesReclaimed = 0
    }

    /// When set (traced runs), each page keeps its history, for use-after-free explanations;
    /// the closure says where the run is ("step 12, T").
    public var historyContext: (() -> String)?
    /// Threads sleeping until a page is freed (uvm_wait).
    private var freeWaiters: [SimThread] = []

    public init(pageCount: Int, pageSize: Int, wiredMax: Int) {
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.wiredMax = wiredMax
    }

    public var freeCount: Int { freeList.count + (pageCount - pages.count) }

    /// uvm_pagealloc: a zeroed page owned by `owner`, or nil when memory is exhausted.
    public func alloc(owner: (any PageOwner)?, offset: UInt64 = 0) -> VMPage? {
        let pg: VMPage
        if let pfn = freeList.popLast() {
            pg = pages[pfn]
        } else if pages.count < pageCount {
            pg = VMPage(pfn: pages.count)
            pages.append(pg)
        } else {
            return nil
        }
        pg.didAllocate()
        pg.owner = owner
        pg.offset = offset
        pg.zeroContents()
        stats.allocs += 1
        note(pg, "allocated for \(owner?.ownerDescription ?? "a borrower")")
        return pg
    }

    /// Adds an event to the page's history (traced runs only).
    public func note(_ pg: VMPage, _ event: @autoclosure () -> String) {
        guard let context = historyContext, !pg.fictitious else { return }
        pg.appendHistory("\(context()): \(event())")
    }

    /// uvm_pagefree: the page goes back on the free list. The caller has removed it from its
    /// owner and from every pmap; a page still wired, loaned or busy cannot be freed.
    public func free(_ pg: VMPage, _ sched: Scheduler) throws {
        if pg.fictitious { return }
        if pg.isFree { throw sched.abort(KernelFailure(.panic, "uvm_pagefree: \(pg) freed twice")) }
        if pg.wireCount != 0 {
            throw sched.abort(KernelFailure(.panic, "uvm_pagefree: \(pg) freed with wire count \(pg.wireCount)"))
        }
        if pg.loanCount != 0 || pg.isBusy || pg.isMapped {
            throw sched.abort(KernelFailure(.panic, "uvm_pagefree: \(pg) freed while loaned, busy or mapped"))
        }
        note(pg, "freed")
        pg.owner = nil
        pg.queue = .free
        pg.zeroContents()
        freeList.append(pg.pfn)
        stats.frees += 1
        for t in freeWaiters { sched.wake(t) }
        freeWaiters.removeAll()
    }

    /// uvm_wait: sleeps until a page is freed. With nothing left to free, nobody wakes it.
    public func waitForFreePage(_ sched: Scheduler) async throws {
        freeWaiters.append(sched.current!)
        try await sched.block(on: FreePageWait.shared, .sleep)
    }

    /// The wired pages wiredmax bounds: every wired page but the released ones. A page a
    /// truncation detached while a vslock held it is the I/O's buffer, no longer any mapping's
    /// or object's; outside the limit, its place goes to the page the still-wired mapping takes
    /// when the file grows again (`UVMObject.removePage`), as in FreeBSD, where a wired page
    /// that leaves its object stays wired and the mapping's new page is wired too.
    public var wiredAgainstLimit: Int { wiredCount - releasedWiredCount }

    /// Marks the page released (its owner let it go while something holds it) or not.
    public func setReleased(_ pg: VMPage, _ released: Bool) {
        guard pg.released != released else { return }
        pg.released = released
        if pg.wireCount > 0 && !pg.fictitious { releasedWiredCount += released ? 1 : -1 }
    }

    /// Whether `pages` more wired pages fit under wiredmax beside those wired and granted.
    public func wiredFits(_ pages: Int) -> Bool { wiredAgainstLimit + wiredReserved + pages <= wiredMax }

    /// Grants `pages` more wired pages against wiredmax, or nothing if they do not fit.
    public func reserveWired(_ pages: Int) -> Bool {
        guard wiredFits(pages) else { return false }
        wiredReserved += pages
        return true
    }

    /// Gives a grant back once its wiring is done (its pages now count in `wiredCount`).
    public func releaseWired(_ pages: Int) { wiredReserved -= pages }

    /// uvm_pagewire: one more wiring holds the page.
    public func wire(_ pg: VMPage) {
        if pg.fictitious { return }  // a device page's wire count never changes (FreeBSD fake pages)
        if pg.wireCount == 0 {
            wiredCount += 1
            if pg.released { releasedWiredCount += 1 }
            pg.queue = .none
        }
        pg.wireCount += 1
        stats.wirings += 1
        note(pg, "wired (count \(pg.wireCount))")
    }

    /// uvm_pageunwire: drops one wiring; the last one puts the page back on the active queue.
    public func unwire(_ pg: VMPage, _ sched: Scheduler) throws {
        if pg.fictitious { return }
        if pg.wireCount <= 0 {
            throw sched.abort(KernelFailure(.panic, "uvm_pageunwire: wire count underflow on \(pg)"))
        }
        pg.wireCount -= 1
        note(pg, "unwired (count \(pg.wireCount))")
        if pg.wireCount == 0 {
            wiredCount -= 1
            if pg.released { releasedWiredCount -= 1 }
            if pg.owner != nil { pg.queue = .active }
        }
        stats.unwirings += 1
    }

    /// PHYS_TO_VM_PAGE of the physical address a pmap entry holds: the machine's own page, or
    /// nil for device memory (a fake page has no place in the page array).
    public func page(physical pg: VMPage) -> VMPage? { pg.fictitious ? nil : pages[pg.pfn] }

    /// Historic uvm_pagefree: frees the page whatever wires it still has, zeroing its wire count
    /// (how the 2003 tech-kern vslock thread's truncated page was freed under a DMA).
    public func freeIgnoringWirings(_ pg: VMPage, _ sched: Scheduler) throws {
        note(pg, "freed whatever its wire count (\(pg.wireCount))")
        setReleased(pg, false)
        if pg.wireCount > 0 {
            pg.wireCount = 0
            wiredCount -= 1
        }
        try free(pg, sched)
    }

    /// Puts an owned, unwired page on the active queue (uvm_pageactivate).
    public func activate(_ pg: VMPage) {
        if !pg.fictitious && pg.wireCount == 0 && !pg.isFree { pg.queue = .active }
    }
}

/// What a thread waiting for memory waits on (nobody holds it; a page free wakes it).
final class FreePageWait: Waitable {
    nonisolated(unsafe) static let shared = FreePageWait()
    var waitDescription: String { "a free page (uvm_wait)" }
    var holders: [SimThread] { [] }
}
