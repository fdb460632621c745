// Physical pages (NetBSD struct vm_page) and the physical memory that owns them (uvm_page.c).
//
// Locking: a page's identity (owner, offset) changes only with its owner's lock held (object lock
// or amap lock); `busy` is the page-level lock, taken by setting the flag and waited for on the
// page's channel (PG_BUSY/PG_WANTED). Free-list and counter updates need no lock in the
// simulation: nothing switches threads inside them.
//
// Contents are sparse (PageContents.swift): what was never written reads as zeros and costs nothing.

import UVMSched

/// VM protection bits (vm_prot_t).
public struct VMProt: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = VMProt(rawValue: 1)
    public static let write = VMProt(rawValue: 2)
    public static let execute = VMProt(rawValue: 4)
    public static let none: VMProt = []
    public static let all: VMProt = [.read, .write, .execute]
    public var description: String {
        if isEmpty { return "---" }
        return (contains(.read) ? "r" : "-") + (contains(.write) ? "w" : "-") + (contains(.execute) ? "x" : "-")
    }
}

/// Whatever can own a page: a UVM object at an offset, or an anon.
public protocol PageOwner: AnyObject {
    var ownerDescription: String { get }
}

/// Which paging queue a page is on (uvm_pageqlock's queues).
public enum PageQueue: UInt8, Sendable { case none, active, inactive, free }

/// A mapping of the page in some pmap (the pv entry): which pmap, which virtual page.
public struct PVEntry {
    public unowned let pmap: Pmap
    public let vpn: UInt64
}

/// A page's metadata is one small class instance (112 bytes of heap with its header), created
/// when the frame is first allocated: what most pages never need (a second mapping, a history,
/// sleepers on PG_BUSY) lives in `PageExtras`, made on first use.
public final class VMPage: KernelLock, CustomStringConvertible {
    /// Physical frame number; fake device pages have negative numbers.
    public let pfn: Int
    /// The owner: an object (with `offset`) or an anon; nil when free or held only by loans.
    public package(set) var owner: (any PageOwner)?
    /// Byte offset in the owning object.
    public package(set) var offset: UInt64 = 0
    /// PG_BUSY: someone is working on the page without its owner's lock.
    public private(set) var busyOwner: SimThread?
    /// Contents, sparse (`PageContents`): what was never written reads as zeros and costs nothing.
    public package(set) var contents = PageContents()
    /// The page's first mapping, kept in the page as NetBSD's x86 pmap keeps it in the page's
    /// pmap_page (x86/include/pmap_pv.h: pp_pte): most pages have one mapping at most, and it
    /// then costs no pv entry allocation.
    private var firstMapping: PVEntry?
    private var extras: PageExtras?
    /// Wirings that hold the page (each wiring that covers it holds one).
    public package(set) var wireCount: Int32 = 0
    /// Loans of the page to the kernel.
    public package(set) var loanCount: Int32 = 0
    /// Bumped on every allocation, so a stale reference to a reused page is detectable.
    public private(set) var generation: UInt32 = 0
    /// PG_RELEASED: free the page when it is unbusied (or when its last hold goes).
    public package(set) var released = false
    /// PG_CLEAN is false: the page differs from its backing store.
    public package(set) var dirty = false
    public package(set) var queue: PageQueue = .free

    package init(pfn: Int) {
        self.pfn = pfn
    }

    /// A fake page for device memory: not a physical page of the machine. Serials start at 1.
    public init(fictitiousSerial: Int) {
        precondition(fictitiousSerial > 0, "fictitious page serials start at 1")
        self.pfn = -fictitiousSerial
        self.queue = .none
    }

    /// A device page (the device pager's fake page): belongs to no object and to no free list.
    public var fictitious: Bool { pfn < 0 }

    private var extra: PageExtras {
        if let extras { return extras }
        let e = PageExtras()
        extras = e
        return e
    }

    /// What happened to the page, in traced runs (see `PhysMem.historyContext`).
    public var history: [String] { extras?.history ?? [] }

    func appendHistory(_ event: String) { extra.history.append(event) }

    // MARK: Mappings (the pv list)

    /// Whether some pmap maps the page.
    public var isMapped: Bool { firstMapping != nil }

    /// Mappings of this page in pmaps.
    public var pvList: [PVEntry] {
        guard let firstMapping else { return [] }
        return [firstMapping] + (extras?.moreMappings ?? [])
    }

    func addMapping(_ pv: PVEntry) {
        if firstMapping == nil { firstMapping = pv } else { extra.moreMappings.append(pv) }
    }

    func removeMapping(_ pmap: Pmap, _ vpn: UInt64) {
        if let first = firstMapping, first.pmap === pmap, first.vpn == vpn {
            firstMapping = extras?.moreMappings.popLast()
        } else if let e = extras, let i = e.moreMappings.firstIndex(where: { $0.pmap === pmap && $0.vpn == vpn }) {
            e.moreMappings.remove(at: i)
        }
    }

    /// Calls `body` with each of the page's mappings, allocating nothing.
    public func forEachMapping(_ body: (PVEntry) -> Void) {
        guard let firstMapping else { return }
        body(firstMapping)
        extras?.moreMappings.forEach(body)
    }

    /// Forgets every mapping, returning them.
    func takeMappings() -> [PVEntry] {
        let all = pvList
        firstMapping = nil
        extras?.moreMappings.removeAll()
        return all
    }

    public var isBusy: Bool { busyOwner != nil }
    public var isFree: Bool { queue == .free }

    public var description: String { fictitious ? "fake page \(-pfn)" : "page \(pfn)" }
    public var waitDescription: String { "busy \(self)" + (owner.map { " of \($0.ownerDescription)" } ?? "") }
    public var holders: [SimThread] { busyOwner.map { [$0] } ?? [] }
    /// As a lock (PG_BUSY): one class for every page, below the object lock in the order.
    public var lockClass: String { "page busy" }
    public var lockClassID: Int { LockClasses.pageBusy }
    public var lockName: String { "busy \(self)" }

    // MARK: Contents

    public func read(_ offset: Int) -> UInt8 { contents.read(offset) }

    public func write(_ offset: Int, _ byte: UInt8, pageSize: Int) {
        contents.write(offset, byte, pageSize: pageSize)
    }

    /// Stores `count` copies of `byte` from `offset`.
    public func fill(_ offset: Int, _ count: Int, _ byte: UInt8, pageSize: Int) {
        contents.fill(offset, count, byte, pageSize: pageSize)
    }

    /// Stores `bytes` from `offset`.
    public func write(_ offset: Int, _ bytes: ArraySlice<UInt8>, pageSize: Int) {
        contents.write(offset, bytes, pageSize: pageSize)
    }

    /// The first offset in `range` whose byte is not `byte`.
    public func firstByte(in range: Range<Int>, notEqualTo byte: UInt8) -> Int? {
        contents.firstByte(in: range, notEqualTo: byte)
    }

    /// `count` bytes from `offset`.
    public func read(_ offset: Int, _ count: Int) -> [UInt8] { contents.read(offset, count) }

    /// The first offset at which the page's contents differ from `other`: O(1) per part of
    /// the page it has not written since `other` was taken from it.
    public func firstDifference(from other: PageContents) -> Int? { contents.firstDifference(from: other) }

    /// Copies contents from another page (copy-on-write, loan break): O(1) per chunk until
    /// either page writes it.
    public func copyContents(from other: VMPage) { contents = other.contents }

    /// Reads as zeros again (a freed page).
    public func zeroContents() { contents = PageContents() }

    // MARK: Busy (the page lock)

    /// Marks the page busy by the running thread. The caller holds the owner's lock and has
    /// checked that the page is not busy.
    /// Busying never waits (like a try-lock), but the page is then held like a lock: blocking on
    /// anything while it is held is recorded by the lock-order checker.
    public func setBusy(_ sched: Scheduler) throws {
        precondition(busyOwner == nil, "\(self) already busy")
        let me = sched.current!
        busyOwner = me
        me.heldLocks.append(self)
    }

    /// Clears PG_BUSY and wakes waiters (uvm_page_unbusy without the PG_RELEASED part, which the
    /// owner's layer handles because it must take the page out of its owner).
    public func clearBusy(_ sched: Scheduler) {
        busyOwner?.dropHeld(self)
        busyOwner = nil
        guard let e = extras, !e.busyWaiters.isEmpty else { return }
        for t in e.busyWaiters { sched.wake(t) }
        e.busyWaiters.removeAll()
    }

    /// Sleeps until the page is unbusied (uvm_pagewait). The caller must drop the owner's lock
    /// first and re-look the page up afterwards: it may have been freed or replaced.
    public func waitUnbusy(_ sched: Scheduler) async throws {
        // Checked with no switch point before blocking: the owner may have unbusied the page since
        // the caller dropped the lock, and its wakeup is gone (uvm_pagewait's interlock). The order
        // is recorded whether or not the page is still busy, as for any lock; within one object,
        // pages are waited for in ascending offset (the 2003 tech-kern vslock thread's page busy
        // order).
        let me = sched.current!
        try sched.lockOrder.willAcquire(self, by: me, sched: sched)
        if let object = self.owner, let above = me.heldLocks.lazy.compactMap({ $0 as? VMPage })
            .first(where: { $0.owner === object && $0.offset > self.offset }) {
            throw sched.abort(sched.deadlockIfBlocked(on: self) ?? KernelFailure(
                .lockOrder, "\(me.name) waits for \(self) at offset \(offset) of \(object.ownerDescription) while keeping \(above) at offset \(above.offset) busy",
                details: ["pages of one object are busied in ascending offset order"]))
        }
        guard let owner = busyOwner else { return }
        if owner === sched.current {
            throw sched.abort(KernelFailure(.deadlock, "\(sched.current!.name) waits for \(self), which it keeps busy itself",
                                            details: ["\(sched.current!.name) waits for \(waitDescription) held by \(sched.current!.name)"]))
        }
        extra.busyWaiters.append(sched.current!)
        try await sched.block(on: self, .busyWait)
    }

    package func didAllocate() {
        generation &+= 1
        queue = .none
        released = false
        dirty = false
        wireCount = 0
        loanCount = 0
    }
}

/// The parts of a page's metadata that most pages never need.
final class PageExtras {
    /// Mappings after the first (a page shared between address spaces).
    var moreMappings: [PVEntry] = []
    var history: [String] = []
    /// Waiters for PG_BUSY to clear (PG_WANTED).
    var busyWaiters: [SimThread] = []
}
