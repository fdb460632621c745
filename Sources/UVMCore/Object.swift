// uvm_object: a set of pages indexed by offset, with a pager that fills and cleans them.
//
// Locking: `lock` (class "object", NetBSD's vmobjlock) protects `pages` and the identity of every
// page in it. A page is busied only with the object lock held, and the busy flag is the page's
// lock once the object lock is dropped. Lock order: map → amap → object → page busy; the vnode
// lock comes before the object lock (truncation), and a fault never blocks on it while holding
// anything (docs/wiring.md, *No sleeping on the vnode lock with busy pages*).

import UVMMachine
import UVMSched

/// What a pager's lookup found, with the object lock held throughout.
public enum PagerLookup {
    /// The page is resident and not busy.
    case resident(VMPage)
    /// The page is busy; drop every lock, wait for it, and look again.
    case busy(VMPage)
    /// The page must be read in with no locks held (`pageIn`), then looked up again.
    case needIO
    case error(PagerError)
}

public enum PagerError: Error, Equatable {
    /// Past the end of the file: SIGBUS.
    case pastEOF
    /// No free page: the page daemon must run (or, if every page is wired, the fault fails).
    case noMemory
    case io
}

/// What a page-in did: filled the page, lost a race (look again), or failed.
public enum PageInResult: Equatable {
    case done
    /// The vnode lock was contended: everything was released; restart the fault.
    case restart
    case error(PagerError)
}

open class UVMObject: PageOwner {
    public unowned let uvm: UVM
    public let lock: KMutex
    /// Resident pages by page index.
    public package(set) var pages: [UInt64: VMPage] = [:]
    /// Per page index, the range wirings that see this object's page there (wired entries whose
    /// amap does not hide it, and SHM_LOCK): the page holds one wire for each.
    public package(set) var wiredRefs: [UInt64: Int] = [:] {
        didSet { if !wiredPlaceholders.isEmpty { dropPlaceholdersOfEndedWirings() } }
    }
    /// Page indexes whose wired page was taken away (truncation), or not yet brought in by a
    /// wiring in progress, while range wirings cover them: each keeps one page reserved against
    /// wiredmax, so that the page that comes in under those wirings is wired within the limit
    /// the wiring was granted against.
    public private(set) var wiredPlaceholders: Set<UInt64> = []
    /// References: map entries and other holders (uo_refs).
    public package(set) var refs = 1
    public let name: String

    package init(_ uvm: UVM, name: String, refs: Int = 1) {
        self.uvm = uvm
        self.name = name
        self.refs = refs
        self.lock = KMutex(uvm.sched, class: "object", name: "object \(name)")
    }

    public var ownerDescription: String { name }

    public func reference() { refs += 1 }

    /// Drops a reference; the last one frees the object's pages (pgo_detach).
    public func detach() async throws {
        precondition(refs > 0, "\(name): reference count underflow")
        refs -= 1
        if refs == 0 { try await terminate() }
    }

    /// Called with no references left: give back every page.
    package func terminate() async throws {
        try await removeAllPages()
    }

    /// Takes every page out of the object: freed, or released to whoever still holds it.
    package func removeAllPages() async throws {
        try await lock.enter()
        try removeAllPagesLocked()
        try await lock.exit()
    }

    /// `removeAllPages` with the object lock held by the caller, who may do more in the same
    /// hold (an aobj frees its swap slots too, so no page-in slips in between).
    package func removeAllPagesLocked() throws {
        uvm.sched.assertHeld(lock)
        for idx in pages.keys.sorted() {
            let pg = pages[idx]!
            try removePage(pg)
            try uvm.disposeOfDetachedPage(pg)
        }
    }

    // MARK: Pager operations (the object lock is held unless said otherwise)

    /// pgo_get with PGO_LOCKED: what the object can give without dropping its lock. A resident
    /// page is given; any other page inside the object must be read in. A pager that can make
    /// pages without I/O (zero-fill, device memory) says so by overriding this.
    open func lookup(_ idx: UInt64) -> PagerLookup {
        if let pg = pages[idx] { return pg.isBusy ? .busy(pg) : .resident(pg) }
        return contains(idx) ? .needIO : .error(.pastEOF)
    }

    /// pgo_get without locks: brings page `idx` in. Called with no locks held.
    open func pageIn(_ idx: UInt64) async throws -> PageInResult { .done }

    /// A lock the pager takes for a page-in while the fault still holds its own, which the
    /// fault releases after the page-in; nil for every pager but the historic vnode one.
    package func lockBeforePageIn() async throws -> RWLock? { nil }

    /// Whether the object's pages are fictitious (device memory: FreeBSD's OBJT_DEVICE, NetBSD's
    /// udv): always there, never wired, never lent, never in `pages`.
    open var hasFictitiousPages: Bool { false }

    /// The fictitious page at `idx`, if a fault has made it.
    open func fictitiousPage(_ idx: UInt64) -> VMPage? { nil }

    /// Whether page `idx` is on swap rather than resident (an aobj's page the page daemon took).
    open func isSwappedOut(_ idx: UInt64) -> Bool { false }

    /// The swap slots of the pages that are on swap, by page index (none but a swap-backed
    /// pager's).
    open var swappedOut: [UInt64: Int] { [:] }

    /// The pager's name, as `uvm show` labels its objects: uvm_vnodeops, uvm_aobj, uvm_deviceops.
    open var pagerName: String { "object" }

    /// Whether the object's pages follow a file's size: truncation (uvm_vnp_setsize) may take a
    /// page out from under a wired entry, so such a page need not stay resident.
    open var pagesFollowFileSize: Bool { false }

    /// Whether the object's pages are written back to a store of their own (a file) rather
    /// than to swap: msync and madvise write them back (pgo_put), and willneed reads them ahead.
    open var hasBackingStore: Bool { false }

    /// pgo_put: writes the dirty pages of `pages` back to the store and, with `invalidate`,
    /// frees the clean unwired ones; the pager takes the locks its store needs. A pager with no
    /// store of its own has nothing to write.
    open func put(pages: Range<UInt64>, invalidate: Bool) async throws {}

    /// Whether page `idx` lies inside the object (false past a vnode's end of file).
    open func contains(_ idx: UInt64) -> Bool { true }

    /// pgo_put for the page daemon: cleans one busy, dirty page with no UVM lock held, and says
    /// whether it is clean now. An object with nowhere to write its pages keeps them.
    package func writeBack(_ pg: VMPage) async throws -> Bool { false }

    // MARK: Page bookkeeping

    /// Inserts a page; the range wirings that cover its index wire it. Object lock held.
    package func insertPage(_ pg: VMPage, at idx: UInt64) {
        uvm.sched.assertHeld(lock)
        precondition(pages[idx] == nil, "\(name): page \(idx) already resident")
        pg.owner = self
        pg.offset = uvm.bytes(pages: idx)
        pages[idx] = pg
        if wiredPlaceholders.remove(idx) != nil { uvm.mem.releaseWired(1) }
        if uvm.wiresFollowPages { for _ in 0..<(wiredRefs[idx] ?? 0) { uvm.mem.wire(pg) } }
    }

    /// Takes the page out of the object and out of every pmap; the range wirings let it go (a
    /// page hold keeps it). The caller frees or releases it. Object lock held.
    package func removePage(_ pg: VMPage) throws {
        uvm.sched.assertHeld(lock)
        let idx = uvm.pageIndex(pg.offset)
        precondition(pages[idx] === pg, "\(name): page \(idx) not ours")
        pages[idx] = nil
        Pmap.pageProtect(pg, .none)
        pg.owner = nil
        guard uvm.wiresFollowPages, let refs = wiredRefs[idx] else { return }
        for _ in 0..<refs { try uvm.mem.unwire(pg, uvm.sched) }
        // The page's place under wiredmax stays taken while the wirings last. A page hold that
        // keeps the old page wired keeps the I/O's buffer, released and outside wiredmax
        // (`PhysMem.wiredAgainstLimit`), so the place is the regrown page's either way.
        if pg.wireCount > 0 { uvm.mem.setReleased(pg, true) }
        reservePlaceholder(idx)
    }

    /// Reserves a placeholder for page `idx`, not resident and covered by a wiring: one taken
    /// away (`removePage`), or one a wiring in progress brings in (`UVM.handOverMissingObjectPages`).
    package func reservePlaceholder(_ idx: UInt64) {
        precondition(pages[idx] == nil && (wiredRefs[idx] ?? 0) > 0)
        if uvm.mem.reserveWired(1) { wiredPlaceholders.insert(idx) }
    }

    private func dropPlaceholdersOfEndedWirings() {
        for idx in wiredPlaceholders where wiredRefs[idx] == nil {
            wiredPlaceholders.remove(idx)
            uvm.mem.releaseWired(1)
        }
    }

    /// Allocates a zeroed page at `idx` and inserts it; nil when memory is exhausted.
    package func allocPage(at idx: UInt64) -> VMPage? {
        guard let pg = uvm.mem.alloc(owner: self, offset: uvm.bytes(pages: idx)) else { return nil }
        insertPage(pg, at: idx)
        uvm.mem.activate(pg)
        return pg
    }
}

extension UVM {
    /// A page that has just lost its owner: free it now, or, if a hold (wiring, loan) or a busy
    /// holder still has it, mark it released so the last of them frees it (docs/wiring.md, *Held
    /// pages are released, not freed*).
    public func disposeOfDetachedPage(_ pg: VMPage) throws {
        precondition(pg.owner == nil)
        if pg.wireCount > 0 || pg.loanCount > 0 || pg.isBusy {
            sched.sometimes(pg.isBusy, "a page was released while busy")
            sched.sometimes(pg.wireCount > 0, "a wired page was released to its holders")
            mem.note(pg, "detached from its owner while held: released")
            mem.setReleased(pg, true)
            pg.queue = .none
            mem.stats.releasedPages += 1
        } else {
            try mem.free(pg, sched)
        }
    }

    /// uvm_page_unbusy: clears busy and wakes the waiters; a page released while it was busy
    /// (its owner let go of it during the I/O) is freed by the thread that unbusies it.
    public func unbusy(_ pg: VMPage) throws {
        sched.sometimes(pg.released, "a page released while busy was freed by the thread that unbusied it")
        pg.clearBusy(sched)
        try releaseHeldPage(pg)
    }

    /// Called when a hold on a released page goes away: the last holder frees it.
    public func releaseHeldPage(_ pg: VMPage) throws {
        if pg.released && pg.owner == nil && pg.wireCount == 0 && pg.loanCount == 0 && !pg.isBusy {
            mem.setReleased(pg, false)
            try mem.free(pg, sched)
        }
    }
}
