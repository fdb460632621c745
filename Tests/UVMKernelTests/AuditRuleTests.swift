// The audit's rules about wired residency, swap slots, file caches, pv lists, paging queues,
// amap locks and sharing, wired reservations and page ownership: each is shown to catch the state it forbids,
// built by hand behind the kernel's back (as a planted bug would leave it).

import Testing
import UVMCheck
import UVMCore
@testable import UVMKernel
import UVMMachine
import UVMSched

@Suite @Sim struct AuditRuleTests {
    /// A kernel with one process that has `pages` of a SysV shm attachment touched and locked.
    private func lockedProcess(pages: Int, swapPages: Int = 0) async throws -> (Kernel, Proc, UInt64) {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32, swapPages: swapPages))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        var va: UInt64 = 0
        let len = UInt64(pages * k.pageSize)
        let failure = await sched.run([(lwp.thread, {
            va = try await k.shmat(lwp, id: try await k.shmget(lwp, size: len), readOnly: false)
            try await k.fill(lwp, va, len, 0x11)
            try await k.mlock(lwp, va, len)
        })])
        #expect(failure == nil)
        #expect(Audit.check(k, quiescent: true) == nil)
        return (k, p, va)
    }

    @Test func aWiredPageThatIsNotResidentIsCaught() async throws {
        let (k, _, va) = try await lockedProcess(pages: 2)
        let obj = try #require(k.shmSegments.values.first?.object)
        let pg = try #require(obj.pages[1])
        // Planted: an invalidation that ignores wirings took the page out and freed it.
        try obj.removePage(pg)
        try k.uvm.mem.free(pg, k.sched)
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("\(hex(va + 0x1000)) is in a wired entry but not resident"))
    }

    @Test func aSwapSlotNobodyOwnsIsCaughtAtEveryStepAndAtTheEnd() async throws {
        let (k, _, _) = try await lockedProcess(pages: 1, swapPages: 4)
        // Planted: a page-out whose slot was never given back.
        _ = k.uvm.swap.alloc()
        #expect(Audit.check(k, quiescent: false) == nil, "a page-out in flight holds a slot")
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("1 swap slot(s) allocated, anons and segments own 0"))
    }

    /// A kernel with one process that has written 0x22 over both pages of a two-page file
    /// through a shared mapping, and flushed them (clean, on disk).
    private func flushedFile() async throws -> (Kernel, VnodeObject) {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32))
        k.createFile(name: "f", size: 2 * UInt64(k.pageSize), fill: 0x11)
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        let len = 2 * UInt64(k.pageSize)
        let failure = await sched.run([(lwp.thread, {
            let va = try await k.mmap(lwp, .file("f"), length: len, prot: [.read, .write], maxProt: [.read, .write],
                                      shared: true, fixed: nil)
            try await k.fill(lwp, va, len, 0x22)
            try await k.fsync(lwp, file: "f")
        })])
        #expect(failure == nil)
        #expect(Audit.check(k, quiescent: true) == nil)
        let vnode = try #require(k.files["f"])
        let obj = try #require(k.uvm.existingVnodeObject(vnode))
        #expect(obj.pages.count == 2 && obj.pages.values.allSatisfy { !$0.dirty })
        return (k, obj)
    }

    @Test func aCleanFilePageThatDiffersFromItsBlockIsCaught() async throws {
        let (k, obj) = try await flushedFile()
        let pg = try #require(obj.pages[1])
        // Planted: a store whose write-back failed, and the page was left clean anyway.
        pg.write(5, 0x33, pageSize: k.pageSize)
        #expect(Audit.check(k, quiescent: false) == nil, "mid-operation a page-out may be in flight")
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("holds 0x33 at byte 5, the disk 0x22"))
        pg.dirty = true
        #expect(Audit.check(k, quiescent: true) == nil, "a dirty page may differ from its block")
    }

    @Test func aFilePageLeftPastTheEndOfFileIsCaught() async throws {
        let (k, _) = try await flushedFile()
        let vnode = try #require(k.files["f"])
        // Planted: a truncation to one page that kept the second page cached.
        vnode.truncateBlocks(to: UInt64(k.pageSize))
        vnode.size = UInt64(k.pageSize)
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("caches offset 0x1000, past the end of file at 4096"))
    }

    @Test func diskDataPastTheEndOfFileIsCaught() async throws {
        let (k, _) = try await flushedFile()
        let vnode = try #require(k.files["f"])
        // Planted: a truncation that shrank the size but left the file system's blocks as they were.
        vnode.size = UInt64(k.pageSize) + 100
        var failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("block 1 holds 0x22 at byte 100, past the end of file at 4196"))
        vnode.size = UInt64(k.pageSize)
        failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("the disk keeps block 1, past the end of file at 4096"))
    }

    /// A kernel with process A that has stored into the first of two pages of an anonymous
    /// mapping (`shared`: MAP_SHARED, inherited shared) and, with `fork`, a child B.
    private func anonymousProcess(shared: Bool = false, fork: Bool = false) async throws -> (Kernel, Proc, UInt64) {
        let (k, p, va) = try await anonymousMapping(pages: 2, shared: shared) { k, lwp, va in
            try await k.store(lwp, va, 0x44)
            if fork { _ = try await k.fork(lwp, childName: "B") }
        }
        #expect(Audit.check(k, quiescent: true) == nil)
        return (k, p, va)
    }

    @Test func aStalePVEntryIsCaughtAtEveryStep() async throws {
        let (k, p, va) = try await anonymousProcess()
        let pg = try #require(p.map.pmap.extract(vpn: va >> UInt64(k.uvm.pageShift))?.page)
        // Planted: a pmap that no longer maps the page left its pv entry on the page's list.
        let gone = Pmap(pageShift: k.uvm.pageShift)
        gone.enter(vpn: 7, page: pg, prot: .read)
        let failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("pv list names 0x7000 \(hex(va)), the pmaps map it at \(hex(va))"))
        gone.remove(vpns: 7..<8)
        #expect(Audit.check(k, quiescent: true) == nil)
    }

    @Test func anUnwiredPageOnNoPagingQueueIsCaughtBetweenOperations() async throws {
        let (k, p, va) = try await anonymousProcess()
        let pg = try #require(p.map.pmap.extract(vpn: va >> UInt64(k.uvm.pageShift))?.page)
        // Planted: a loan break that never put the owner's new page on a queue.
        pg.queue = .none
        #expect(Audit.check(k, quiescent: false) == nil, "mid-operation a new page is not queued yet")
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("is unwired but on no paging queue"))
    }

    @Test func anAnonUnderAnotherLockThanItsAmapIsCaught() async throws {
        let (k, p, va) = try await anonymousProcess()
        let amap = try #require(p.map.lookup(va)?.amap)
        // Planted: an amap_copy that gave the new amap a lock of its own; slot 1 is not mapped,
        // so only the lock is wrong.
        let foreign = try #require(k.uvm.newAnon(copying: nil, for: Amap(k.uvm, slots: 1)))
        amap.anons[1] = foreign
        let failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("\(foreign.ownerDescription) in amap \(amap.serial) has another lock than the amap's"))
    }

    @Test func anAmapSharedByForkButNotMarkedSharedIsCaught() async throws {
        let (k, p, va) = try await anonymousProcess(shared: true, fork: true)
        let amap = try #require(p.map.lookup(va)?.amap)
        #expect(amap.shared)
        // Planted: fork's MAP_INHERIT_SHARE case forgot AMAP_SHARED.
        amap.shared = false
        let failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("amap \(amap.serial) is mapped in place by 2 address spaces but is not shared"))
    }

    @Test func aPrivateAmapAfterForkIsNotShared() async throws {
        let (k, p, va) = try await anonymousProcess(fork: true)
        // Both maps hold the amap, each waiting for its own copy (needs-copy): not shared.
        #expect(p.map.lookup(va)?.amap?.shared == false)
        #expect(Audit.check(k, quiescent: true) == nil)
    }

    @Test func aWiredReservationNobodyOwesIsCaughtBetweenOperations() async throws {
        let (k, _, _) = try await lockedProcess(pages: 1)
        // Planted: a vsunlock that kept its copies' grant against wiredmax.
        #expect(k.uvm.mem.reserveWired(1))
        #expect(Audit.check(k, quiescent: false) == nil, "mid-operation a wiring holds its grant")
        let failure = try #require(Audit.check(k, quiescent: true))
        #expect(failure.message.contains("1 wired page(s) reserved against wiredmax, vslock copies and wired placeholders owe 0"))
    }

    @Test func aFreedPageItsObjectStillListsIsCaught() async throws {
        let (k, obj) = try await flushedFile()
        let pg = try #require(obj.pages[1])
        // Planted: an invalidation that freed the page without taking it out of its object.
        Pmap.pageProtect(pg, .none)
        try k.uvm.mem.free(pg, k.sched)
        let failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("\(obj.name) keeps \(pg) at offset 0x1000, but the page is free"))
    }

    @Test func aFreedPageItsAnonStillHoldsIsCaught() async throws {
        let (k, p, va) = try await anonymousProcess()
        let anon = try #require(p.map.lookup(va)?.amap?.anons[0])
        let pg = try #require(anon.page)
        // Planted: an amap_wipeout that freed the page but left the anon pointing at it.
        Pmap.pageProtect(pg, .none)
        try k.uvm.mem.free(pg, k.sched)
        let failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("\(anon.ownerDescription) holds \(pg), which is free"))
    }

    @Test func aSwapSlotWithTwoOwnersIsCaught() async throws {
        let (k, _, _) = try await lockedProcess(pages: 1, swapPages: 4)
        let aobj = try #require(k.shmSegments.values.first?.object)
        let slot = try #require(k.uvm.swap.alloc())
        // Planted: a page-out that recorded its slot at two offsets.
        aobj.swapSlots[2] = slot
        aobj.swapSlots[3] = slot
        var failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("swap slot \(slot) belongs to both \(aobj.name) and \(aobj.name)"))
        // Planted: a swap-in that kept the slot of the page it brought in.
        aobj.swapSlots[2] = nil
        aobj.swapSlots[3] = nil
        aobj.swapSlots[0] = slot
        failure = try #require(Audit.check(k, quiescent: false))
        #expect(failure.message.contains("\(aobj.name) offset 0x0 is both resident and on swap"))
    }

    /// A page on loan that changes in place (a write that forgot to break the loan) is caught
    /// when the loan is dropped: the borrower would send bytes that were never lent.
    @Test func aLoanedPageChangedInPlaceIsCaughtAtUnloan() async throws {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        var loan: Loan?
        var va: UInt64 = 0
        let failure = await sched.run([(lwp.thread, {
            va = try await k.mmap(lwp, .anon, length: 4096, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            try await k.fill(lwp, va, 4096, 0x11)
            loan = try await k.loan(lwp, va, 4096)
            // Planted: the page is written behind the loan's back.
            try #require(loan?.pages.first?.page).write(7, 0x22, pageSize: 4096)
            try k.unloan(try #require(loan))
        })])
        let f = try #require(failure)
        #expect(f.kind == .dataLoss)
        #expect(f.message.contains("sent 0x22 at \(hex(va + 7)), where 0x11 was lent"), "\(f.message)")
    }

    /// A kernel whose process A maps `pages` pages of anonymous memory (`shared`: MAP_SHARED)
    /// and runs `body` on them (the mapping's address given).
    private func anonymousMapping(pages: Int, shared: Bool = true,
                                  _ body: @escaping (Kernel, LWP, UInt64) async throws -> Void) async throws -> (Kernel, Proc, UInt64) {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 64))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        var va: UInt64 = 0
        let failure = await sched.run([(lwp.thread, {
            va = try await k.mmap(lwp, .anon, length: UInt64(pages * k.pageSize), prot: [.read, .write], maxProt: .all,
                                  shared: shared, fixed: nil)
            try await body(k, lwp, va)
        })])
        #expect(failure == nil)
        return (k, p, va)
    }

    /// The audit remembers an amap whose slot counts it found right and skips walking it while
    /// nothing it reads changed; a count changed behind the kernel's back, or a different set
    /// of entries, makes it walk again and catch what it would have caught without remembering.
    @Test func aRememberedAmapIsWalkedAgainWhenItsCountsOrEntriesChange() async throws {
        // The last page is left untouched: no anon there.
        let (k, p, va) = try await anonymousMapping(pages: 4) { k, lwp, va in try await k.fill(lwp, va, 3 * 4096, 0x11) }
        let cache = AuditCache()
        #expect(Audit.check(k, quiescent: true, cache: cache) == nil)
        let amap = try #require(p.map.lookup(va)?.amap)
        #expect(cache.slotsWalked == 4)
        #expect(Audit.check(k, quiescent: true, cache: cache) == nil)
        #expect(cache.slotsWalked == 4, "unchanged: not walked again")
        // Planted: an unmap that dropped the reference of one slot too many.
        amap.slotRefs[2] -= 1
        let f = try #require(Audit.check(k, quiescent: true, cache: cache))
        #expect(f.message.contains("amap \(amap.serial) slot 2 counts 0 references, entries hold 1"), "\(f.message)")
        amap.slotRefs[2] += 1
        #expect(Audit.check(k, quiescent: true, cache: cache) == nil)
        // Planted: a wiring that counted itself in the amap but left the entry unwired.
        amap.wiredRefs[1] += 1
        let w = try #require(Audit.check(k, quiescent: true, cache: cache))
        #expect(w.message.contains("slot 1 counts 1 wired entries, the map has 0"), "\(w.message)")
        amap.wiredRefs[1] -= 1
        #expect(Audit.check(k, quiescent: true, cache: cache) == nil)
        // Planted: an entry that now covers one slot less, its counts left as they were.
        let walked = cache.slotsWalked
        let e = try #require(p.map.lookup(va))
        e.end -= 4096
        let r = try #require(Audit.check(k, quiescent: true, cache: cache))
        #expect(cache.slotsWalked > walked, "other entries: walked again")
        #expect(r.message.contains("slot 3 counts 1 references, entries hold 0"), "\(r.message)")
        e.end += 4096
    }

    /// An amap's index of slots in use (am_slots, am_bckptr) stays exact through fills and
    /// removals in any order, and lists each anon once.
    @Test func theAmapsIndexOfSlotsInUseStaysExact() async throws {
        let (k, p, va) = try await anonymousMapping(pages: 16) { k, lwp, va in
            for i in [3, 0, 15, 7, 8, 1] { try await k.fill(lwp, va + UInt64(i * 4096), 4096, 0x11) }
            try await k.madvise(lwp, va + 7 * 4096, 2 * 4096, behav: 6)  // MADV_FREE
            try await k.fill(lwp, va + 12 * 4096, 4096, 0x22)
        }
        let amap = try #require(p.map.lookup(va)?.amap)
        amap.anons._checkInvariants()
        #expect(amap.anons.usedCount == 5)
        #expect(Set(amap.anons.occupied.map(\.slot)) == [0, 1, 3, 12, 15])
        #expect(Audit.check(k, quiescent: true) == nil)
    }

    @Test func anAttachmentPastShmsegIsCaught() async throws {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32, shmSeg: 1))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        var refused: Errno?
        let failure = await sched.run([(lwp.thread, {
            let id = try await k.shmget(lwp, size: UInt64(k.pageSize))
            _ = try await k.shmat(lwp, id: id, readOnly: false)
            do { _ = try await k.shmat(lwp, id: id, readOnly: false) } catch let e as Errno { refused = e }
        })])
        #expect(failure == nil)
        #expect(refused == .EMFILE)
        #expect(Audit.check(k, quiescent: true) == nil)
        // Planted: sys_shmat's count compared with > instead of >=, so a second record went in.
        p.vmspace.shmAttachments.append(p.vmspace.shmAttachments[0])
        let caught = try #require(Audit.check(k, quiescent: false))
        #expect(caught.message.contains("holds 2 shm attachments, above shmseg 1"))
    }

    /// A read-only attachment whose entry could be made writable is caught (a planted sys_shmat
    /// that gave every attachment maximum protection rw got past every check); a writable
    /// attachment that later landed where a read-only one was unmapped is not mistaken for it.
    @Test func aReadOnlyAttachmentMappedWritableIsCaught() async throws {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32))
        let p = k.createProc(name: "A", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        let ps = UInt64(k.pageSize)
        var addresses: [UInt64] = []
        let failure = await sched.run([(lwp.thread, {
            let id = try await k.shmget(lwp, size: ps)
            let ro = try await k.shmat(lwp, id: id, readOnly: true)
            try await k.munmap(lwp, ro, ps)
            addresses = [ro, try await k.shmat(lwp, id: id, readOnly: false), try await k.shmat(lwp, id: id, readOnly: true)]
        })])
        #expect(failure == nil)
        #expect(addresses[0] == addresses[1], "the writable attachment reuses the read-only one's address")
        #expect(Audit.check(k, quiescent: true) == nil)
        let entry = try #require(p.map.lookup(addresses[2]))
        entry.maxProtection = [.read, .write]
        let caught = try #require(Audit.check(k, quiescent: false))
        #expect(caught.message.contains("the read-only attachment of shm segment"), "\(caught.message)")
    }
}
