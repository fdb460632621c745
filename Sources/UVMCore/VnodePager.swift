// uvm_vnode (uvn): the page cache of a file, filled from and cleaned to the file's disk blocks.
//
// Locking: pages are found and busied under the object lock. I/O runs with no UVM lock held, the
// page busy, and the vnode lock held. The fault path only *tries* the vnode lock: truncation holds
// it and waits for our busy page (OpenBSD's 2021 uvm_vnode.c diff). On contention the page-in
// gives its page back, waits for the vnode lock holding nothing, reads under it, and asks the fault
// to restart (docs/wiring.md, *No sleeping on the vnode lock with busy pages*). read(2) and
// write(2) copy user memory with the vnode unlocked, so only the historic `lock-early` fault
// reads under a vnode lock its thread already held.
// Truncation (`setSize`) runs with the vnode lock held: vnode → object → page busy.

import UVMMachine
import UVMSched

public final class VnodeObject: UVMObject {
    public let vnode: Vnode

    package init(_ uvm: UVM, vnode: Vnode) {
        self.vnode = vnode
        super.init(uvm, name: "vnode \(vnode.name)", refs: 0)
    }

    /// Pages that hold file data: those that start before the end of file.
    public override func contains(_ idx: UInt64) -> Bool { uvm.bytes(pages: idx) < vnode.size }
    public override var pagerName: String { "vnode" }
    public override var pagesFollowFileSize: Bool { true }
    public override var hasBackingStore: Bool { true }

    /// uvn_put: the flush below, under the vnode lock, which comes before the object lock.
    public override func put(pages: Range<UInt64>, invalidate: Bool) async throws {
        try await vnode.withLock { try await flush(pages: pages, invalidate: invalidate) }
    }

    /// The last mapping went away: the pages stay cached for the vnode (UBC).
    package override func terminate() async throws {}

    /// Historic `vnode-fault=lock-early` (OpenBSD uvm_vnode.c r1.108): the fault takes the inode
    /// lock inside the object lock, before busying the page — the reverse of truncation's order.
    package override func lockBeforePageIn() async throws -> RWLock? {
        guard uvm.policy.vnodeFault == .lockEarly, !vnode.lock.isHeld(by: uvm.sched.current) else { return nil }
        try await vnode.lock.enter(.writer)
        return vnode.lock
    }

    /// How a page-in gets the vnode lock for its read, once its fake page is busy.
    private enum VnodeLocking {
        /// The faulting thread holds it already (read(2)/write(2) from a mapping of the file).
        case heldByUs
        /// Try it; on contention give the page back (the modern fault, OpenBSD's fix).
        case tryLock
        /// Historic `vnode-fault=busy-then-lock`: sleep on it with the page busy — truncation holds
        /// the inode lock and waits for this page (OpenBSD's 2021 uvm_vnode.c diff's deadlock).
        case sleepWithPageBusy
    }

    /// Reads page `idx` from disk into a new busy page. Called with no locks held.
    ///
    /// On contention for the vnode lock the fake page is given back, the thread waits for the
    /// vnode lock holding nothing (so whoever holds it can finish, and may need our page), and
    /// then reads the page under the lock it waited for before the fault restarts: the restart
    /// finds the page, so two threads faulting one page cannot keep taking the lock from each
    /// other (a bare restart loop is what made OpenBSD revert its first version of this fix).
    public override func pageIn(_ idx: UInt64) async throws -> PageInResult {
        if vnode.lock.isHeld(by: uvm.sched.current) { return try await readPage(idx, .heldByUs) }
        let first = try await readPage(idx, uvm.policy.vnodeFault == .busyThenLock ? .sleepWithPageBusy : .tryLock)
        guard first == .restart else { return first }
        uvm.sched.sometimes(true, "a fault restarted on a contended vnode")
        try await vnode.lock.enter(.writer)
        let second = try await readPage(idx, .heldByUs)
        try await vnode.lock.exit()
        return second == .done ? .restart : second
    }

    private func readPage(_ idx: UInt64, _ locking: VnodeLocking) async throws -> PageInResult {
        let sched = uvm.sched
        try await lock.enter()
        if pages[idx] != nil || !contains(idx) {
            // Someone else brought it in, or the file shrank: look again.
            try await lock.exit()
            return .done
        }
        guard let pg = allocPage(at: idx) else {
            try await lock.exit()
            return .error(.noMemory)
        }
        try pg.setBusy(sched)
        try await lock.exit()

        switch locking {
        case .heldByUs:
            break
        case .sleepWithPageBusy:
            try await vnode.lock.enter(.writer)
        case .tryLock:
            guard try await vnode.lock.tryEnter(.writer) else {
                try await abandon(pg)
                return .restart
            }
        }
        let data: [UInt8]?
        do {
            data = try await vnode.readBlock(idx, sched)
        } catch is Vnode.IOError {
            if locking != .heldByUs { try await vnode.lock.exit() }
            try await abandon(pg)
            return .error(.io)
        }
        if locking != .heldByUs { try await vnode.lock.exit() }

        try await lock.enter()
        pg.contents = PageContents(bytes: data, pageSize: uvm.pageSize)
        uvm.mem.stats.pageIns += 1
        pg.clearBusy(sched)
        if pg.released {
            // Truncated while we read it: nobody wants it any more.
            uvm.mem.setReleased(pg, false)
            if pages[idx] === pg { try removePage(pg) }
            try uvm.disposeOfDetachedPage(pg)
        }
        try await lock.exit()
        return .done
    }

    /// Gives back a fake page whose read did not happen: out of the object, unbusied (waking its
    /// waiters), freed.
    private func abandon(_ pg: VMPage) async throws {
        try await lock.enter()
        try removePage(pg)
        pg.clearBusy(uvm.sched)
        try uvm.disposeOfDetachedPage(pg)
        try await lock.exit()
    }

    /// Brings page `idx` in for read(2)/write(2), which hold the vnode lock. Returns with the
    /// object lock held and the page resident and not busy, or nil past end of file. For
    /// `writing`, the page is not on loan: a loaned one is replaced by a copy first.
    package func residentPageLocked(_ idx: UInt64, writing: Bool = false) async throws -> VMPage? {
        uvm.sched.assertHeld(vnode.lock)
        while true {
            try await lock.enter()
            switch lookup(idx) {
            case .resident(let pg):
                guard let page = writing ? try await pageForWriting(pg) : pg else { continue }
                uvm.sched.madeProgress()
                return page
            case .busy(let pg):
                try await lock.exit()
                try await pg.waitUnbusy(uvm.sched)
            case .needIO:
                try await lock.exit()
                switch try await pageIn(idx) {
                case .done, .restart: continue
                case .error(.pastEOF): return nil
                case .error(.io): throw PagerError.io
                case .error(.noMemory):
                    if try await uvm.pageDaemon(target: 1) == 0 { throw PagerError.noMemory }
                }
            case .error:
                try await lock.exit()
                return nil
            }
        }
    }

    /// The page to write in place of `pg`, with the object lock held. A page on loan would send
    /// the borrower bytes its owner never lent, so it is first replaced by a copy, as the UBC
    /// write fault that writes it in NetBSD breaks the loan (uvm_fault_lower_direct_loan).
    /// Returns nil when no page was free for the copy: the object lock was then dropped and
    /// the page daemon run (`PagerError.noMemory` if it freed nothing), and the caller looks
    /// again.
    private func pageForWriting(_ pg: VMPage) async throws -> VMPage? {
        uvm.sched.assertHeld(lock)
        guard pg.loanCount > 0 else { return pg }
        if let copy = try uvm.breakLoan(objectPage: pg, in: self) { return copy }
        try await lock.exit()
        if try await uvm.pageDaemon(target: 1, sparing: pg) == 0 { throw PagerError.noMemory }
        return nil
    }

    /// What page `pg` writes to its disk block: bytes past the end of file are not file data, so
    /// the block gets zeros there.
    private func blockContents(_ pg: VMPage) -> [UInt8]? {
        guard var data = pg.contents.bytes(pageSize: uvm.pageSize) else { return nil }
        let start = pg.offset
        let valid = vnode.size > start ? Int(min(UInt64(uvm.pageSize), vnode.size - start)) : 0
        for i in valid..<uvm.pageSize { data[i] = 0 }
        return data
    }

    /// The page daemon's write-back of one busy page, with no UVM lock held: it only tries the
    /// vnode lock (a thread holding it may be waiting for this very page). Returns false if the
    /// vnode lock was taken.
    package override func writeBack(_ pg: VMPage) async throws -> Bool {
        uvm.sched.assertNotHeld(lock)
        let heldByUs = vnode.lock.isHeld(by: uvm.sched.current)
        if !heldByUs { guard try await vnode.lock.tryEnter(.writer) else { return false } }
        var wrote = true
        do {
            try await vnode.writeBlock(uvm.pageIndex(pg.offset), blockContents(pg), uvm.sched)
            pg.dirty = false
            uvm.mem.stats.pageOuts += 1
        } catch is Vnode.IOError {
            wrote = false  // the page stays dirty: nothing written is lost
        }
        if !heldByUs { try await vnode.lock.exit() }
        return wrote
    }

    /// uvm_vnp_setsize: the file's size changes. Shrinking removes every page past the new end
    /// from the object and from every pmap, waiting for busy pages; a page still held (wired for
    /// I/O, loaned) is detached and marked released, freed by its last holder. The tail of a
    /// partial last page is zeroed so growing the file again reads zeros. The vnode lock is held.
    public func setSize(_ newSize: UInt64) async throws {
        let sched = uvm.sched
        sched.assertHeld(vnode.lock, .writer)
        if newSize < vnode.size {
            let firstGone = (newSize + UInt64(uvm.pageSize) - 1) >> UInt64(uvm.pageShift)
            let tail = Int(newSize & UInt64(uvm.pageSize - 1))
            // The page the new end falls in keeps its head and loses its tail below. It must not
            // be busy then: a page-in in flight would install the bytes it read before the
            // truncation, tail included (ubc_zerorange gets the page through getpages, which
            // waits for PG_BUSY).
            let partial: UInt64? = tail == 0 ? nil : newSize >> UInt64(uvm.pageShift)
            try await lock.enter()
            var scanning = true
            while scanning {
                scanning = false
                for idx in pages.keys.sorted() where idx >= firstGone || idx == partial {
                    let pg = pages[idx]!
                    if pg.isBusy {
                        // Ascending offset order; wait without the object lock, then rescan.
                        try await lock.exit()
                        try await pg.waitUnbusy(sched)
                        try await lock.enter()
                        scanning = true
                        break
                    }
                    if idx == partial {
                        // Its tail is zeroed below, in place: never on loan then.
                        if try await pageForWriting(pg) == nil {
                            try await lock.enter()
                            scanning = true
                            break
                        }
                        continue
                    }
                    sched.sometimes(uvm.holds.contains { $0.pages.contains { $0.page === pg } },
                                    "truncation met a page held by a vslock")
                    sched.sometimes(pg.loanCount > 0, "truncation met a loaned page")
                    try removePage(pg)
                    if uvm.policy.truncate == .free {
                        // Historic: uvm_pagefree frees the page whatever still holds it.
                        try uvm.mem.freeIgnoringWirings(pg, sched)
                    } else {
                        try uvm.disposeOfDetachedPage(pg)
                    }
                }
            }
            if let partial, let last = pages[partial] {
                last.fill(tail, uvm.pageSize - tail, 0, pageSize: uvm.pageSize)
            }
            vnode.truncateBlocks(to: newSize)
            vnode.size = newSize
            try await lock.exit()
        } else {
            // Growing: bytes stored past the old end through a mapping of the last page were
            // never file data; the extended area reads as zeros (POSIX ftruncate).
            let tail = Int(vnode.size & UInt64(uvm.pageSize - 1))
            if tail != 0 {
                try await lock.enter()
                while let last = pages[vnode.size >> UInt64(uvm.pageShift)], !last.contents.isUntouched {
                    guard let page = try await pageForWriting(last) else {
                        try await lock.enter()
                        continue
                    }
                    let end = min(uvm.pageSize, tail + Int(newSize - vnode.size))
                    page.fill(tail, end - tail, 0, pageSize: uvm.pageSize)
                    break
                }
                try await lock.exit()
            }
            vnode.size = newSize
        }
    }

    /// Writes dirty pages in [from, to) back to disk (uvn_put via uvm_map_clean / fsync), in
    /// ascending offset order. With `invalidate`, clean unwired pages are then freed. A page
    /// that cannot be written stays dirty and the flush throws `PagerError.io` at the end.
    /// The vnode lock is held by the caller.
    public func flush(pages range: Range<UInt64>? = nil, invalidate: Bool = false) async throws {
        let sched = uvm.sched
        sched.assertHeld(vnode.lock)
        try await lock.enter()
        // Busy the range's dirty pages as one cluster, in ascending offset, waiting for a busy
        // page while keeping the ones already taken (genfs_do_putpages).
        var cluster: [(UInt64, VMPage)] = []
        var next = range?.lowerBound ?? 0
        while let idx = pages.keys.filter({ $0 >= next && (range?.contains($0) ?? true) }).min() {
            let pg = pages[idx]!
            if pg.isBusy {
                try await lock.exit()
                try await pg.waitUnbusy(sched)
                try await lock.enter()
                continue
            }
            if pg.dirty {
                try pg.setBusy(sched)
                cluster.append((idx, pg))
            }
            next = idx + 1
        }
        try await lock.exit()
        var failed = false
        for (idx, pg) in cluster {
            pg.dirty = false
            do {
                try await vnode.writeBlock(idx, blockContents(pg), sched)
                uvm.mem.stats.pageOuts += 1
            } catch is Vnode.IOError {
                // The page stays dirty in the cache (nothing written is lost); report EIO.
                pg.dirty = true
                failed = true
            }
        }
        try await lock.enter()
        for (_, pg) in cluster { try uvm.unbusy(pg) }
        if invalidate {
            for idx in pages.keys.sorted() where range?.contains(idx) ?? true {
                let pg = pages[idx]!
                guard !pg.isBusy, !pg.dirty, pg.wireCount == 0, pg.loanCount == 0 else { continue }
                try removePage(pg)
                try uvm.disposeOfDetachedPage(pg)
            }
        }
        try await lock.exit()
        if failed { throw PagerError.io }
    }
}
