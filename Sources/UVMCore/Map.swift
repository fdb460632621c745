// vm_map: an address space's entries in a balanced tree, and the map operations of uvm_map.c:
// insert, clip, remove, protect, inherit, advise, and fork's copy.
//
// Locking: `lock` (class "map", writer-preferring as NetBSD's) is read-held by faults and lookups
// and write-held by every change of the entry set or of an entry. Lock order: map → amap →
// object → page busy. Entry clipping keeps amap slot counts unchanged (both halves share the
// amap) and takes one more object reference.

import AddressTree
import UVMMachine
import UVMSched

public final class VMMap {
    public unowned let uvm: UVM
    public let lock: RWLock
    public private(set) var entries = AddressTree<MapEntry>()
    public let minAddress: UInt64
    public let maxAddress: UInt64
    public let pmap: Pmap
    /// The address space went away (exit, exec): a call that waited for the lock maps nothing.
    public package(set) var dead = false
    /// MCL_FUTURE (VM_MAP_WIREFUTURE): new mappings are wired as they are made.
    public package(set) var wireFuture = false
    /// vm_map_busy: the thread faulting pages in for a wiring with the map unlocked; other
    /// writers wait for it, faults do not.
    public private(set) var busyOwner: SimThread?
    /// Sleepers waiting for the map to be unbusied or for system wirings to drain.
    private let changed: WaitChannel

    public init(_ uvm: UVM, name: String, minAddress: UInt64, maxAddress: UInt64) {
        self.uvm = uvm
        self.lock = RWLock(uvm.sched, class: "map", name: "map \(name)")
        self.minAddress = minAddress
        self.maxAddress = maxAddress
        self.pmap = Pmap(pageShift: uvm.pageShift)
        self.changed = WaitChannel(uvm.sched, name: "map \(name) busy or wired")
    }

    /// Takes the map lock for writing, waiting while another thread keeps the map busy.
    public func lockWrite() async throws {
        while true {
            try await lock.enter(.writer)
            guard let owner = busyOwner, owner !== uvm.sched.current else { return }
            changed.holders = [owner]
            try await sleepReleasingLock()
        }
    }

    /// Marks the map busy by the running thread (write lock held).
    public func busy() {
        uvm.sched.assertHeld(lock, .writer)
        busyOwner = uvm.sched.current
    }

    /// Clears busy and wakes waiting writers (write lock held).
    public func unbusy() {
        busyOwner = nil
        changed.wakeupNoSwitch()
    }

    /// Wakes threads waiting for system wirings of this map to drain.
    public func wiringsDrained() { changed.wakeupNoSwitch() }

    /// Releases the write lock and sleeps on `changed`, with no switch point in between (the
    /// interlock of ltsleep), so no wakeup can be missed. Returns unlocked.
    private func sleepReleasingLock() async throws {
        try lock.exitWithoutSwitch()
        try await changed.sleep()
    }

    /// Waits, write lock held, until no vslock of this map still holds part of [lo, hi) for an
    /// I/O (FreeBSD's vm_map_delete waits for system wirings: a vslock'd range is not unmapped
    /// under the I/O). Returns write-locked.
    package func waitForSystemWirings(_ lo: UInt64, _ hi: UInt64) async throws {
        uvm.sched.assertHeld(lock, .writer)
        while case let holders = uvm.ioHolders(self, lo, hi), !holders.isEmpty {
            uvm.sched.sometimes(true, "an unmap waited for a vslock's I/O")
            changed.holders = holders
            try await sleepReleasingLock()
            try await lockWrite()
        }
    }

    package var pageShift: Int { uvm.pageShift }

    /// uvm_map_lookup_entry: the entry containing `va`. O(log n).
    public func lookup(_ va: UInt64) -> MapEntry? { entries.lookup(va) }

    /// Whether `e` is still one of this map's entries: an unmap removes (in C, frees) an entry,
    /// and a clip shrinks it, so one looked up before the map was unlocked may be neither.
    /// O(log n).
    public func holds(_ e: MapEntry) -> Bool { entries.lookup(e.start) === e }

    /// Entries overlapping [lo, hi) in address order. O(log n + k).
    public func entries(in lo: UInt64, _ hi: UInt64) -> [MapEntry] { entries.elements(overlapping: lo, hi) }

    /// Whether [lo, hi) is covered by entries with no hole.
    public func isFullyMapped(_ lo: UInt64, _ hi: UInt64) -> Bool {
        var at = lo
        for e in entries(in: lo, hi) {
            if e.start > at { return false }
            at = e.end
        }
        return at >= hi
    }

    /// uvm_map_findspace: the lowest free range of `length` bytes at or above `hint`.
    public func findSpace(length: UInt64, hint: UInt64) -> UInt64? {
        entries.findSpace(length: length, alignment: UInt64(uvm.pageSize), lowest: max(hint, minAddress), highest: maxAddress)
    }

    // MARK: Insert and clip (map write-locked)

    /// uvm_map: inserts a new entry for [start, start+length). The range must be free.
    /// Merges with the previous entry where UVM would: an adjacent anonymous entry with no amap
    /// yet and identical attributes (uvm_map's "merge with previous" for anonymous memory).
    @discardableResult
    package func insert(start: UInt64, length: UInt64, object: UVMObject?, offset: UInt64, protection: VMProt,
                maxProtection: VMProt, inheritance: Inheritance, copyOnWrite: Bool) -> MapEntry {
        uvm.sched.assertHeld(lock, .writer)
        let end = start + length
        if object == nil, let prev = entries.floor(start), prev.end == start, prev.object == nil, !prev.isWired,
           prev.amap == nil, prev.needsCopy, prev.protection == protection, prev.maxProtection == maxProtection,
           prev.inheritance == inheritance, prev.copyOnWrite == copyOnWrite {
            prev.end = end
            entries.endDidChange(prev)
            return prev
        }
        let e = MapEntry(start: start, end: end, object: object, offset: offset, protection: protection,
                         maxProtection: maxProtection, inheritance: inheritance, copyOnWrite: copyOnWrite,
                         needsCopy: copyOnWrite)
        entries.insert(e)
        return e
    }

    /// Splits `entry` at `va` (start < va < end); returns the upper half, a new entry.
    @discardableResult
    package func split(_ entry: MapEntry, at va: UInt64) -> MapEntry {
        precondition(entry.start < va && va < entry.end, "split outside the entry")
        uvm.sched.assertHeld(lock, .writer)
        let delta = va - entry.start
        let upper = MapEntry(start: va, end: entry.end, object: entry.object, offset: entry.offset + delta,
                             protection: entry.protection, maxProtection: entry.maxProtection,
                             inheritance: entry.inheritance, copyOnWrite: entry.copyOnWrite,
                             needsCopy: entry.needsCopy)
        upper.userWired = entry.userWired
        upper.systemWireCount = entry.systemWireCount
        if let amap = entry.amap {
            upper.amap = amap
            upper.amapSlot = entry.amapSlot + Int(delta >> UInt64(pageShift))
            amap.refForClip()
        }
        entry.object?.reference()
        entry.end = va
        entries.endDidChange(entry)
        entries.insert(upper)
        return upper
    }

    /// Clips the entries overlapping [lo, hi) so that none crosses lo or hi; returns them in order.
    package func clip(_ lo: UInt64, _ hi: UInt64) -> [MapEntry] {
        var result: [MapEntry] = []
        for var e in entries(in: lo, hi) {
            if e.start < lo { e = split(e, at: lo) }
            if e.end > hi { split(e, at: hi) }
            result.append(e)
        }
        return result
    }

    /// Removes entries overlapping [lo, hi) (clipping the ends), their pmap mappings, and their
    /// references to amaps and objects (uvm_unmap_remove + uvm_unmap_detach).
    /// Wired entries are unwired first (uvm_unmap_remove); the caller has waited for system
    /// wirings to drain.
    package func remove(_ lo: UInt64, _ hi: UInt64) async throws {
        uvm.sched.assertHeld(lock, .writer)
        for e in clip(lo, hi) {
            if e.isWired { try uvm.changeWiring(e, in: self, user: false, systemDelta: -e.systemWireCount) }
            pmap.remove(vpns: (e.start >> UInt64(pageShift))..<(e.end >> UInt64(pageShift)))
            entries.remove(e)
            try await dropBacking(e)
        }
    }

    /// Drops an entry's references to its amap and object.
    package func dropBacking(_ e: MapEntry) async throws {
        if let amap = e.amap {
            try await amap.lock.enter()
            _ = try amap.unref(e.amapSlots(pageShift), uvm)
            try await amap.lock.exit()
            e.amap = nil
        }
        if let obj = e.object {
            e.object = nil
            try await obj.detach()
        }
    }

    /// uvm_map_protect for one clipped entry: sets its current protection (mprotect checked it
    /// against the maximum).
    package func setProtection(_ e: MapEntry, _ prot: VMProt) {
        uvm.sched.assertHeld(lock, .writer)
        e.protection = prot
        // Lowering takes effect at once in the pmap; raising is lazy (the next fault maps it).
        pmap.protect(vpns: (e.start >> UInt64(pageShift))..<(e.end >> UInt64(pageShift)), prot)
    }

    /// uvm_map_inherit for one clipped entry.
    package func setInheritance(_ e: MapEntry, _ inh: Inheritance) {
        uvm.sched.assertHeld(lock, .writer)
        e.inheritance = inh
    }

    /// Merges `e` with its predecessor if they are now indistinguishable (after mprotect,
    /// minherit, unwire), as uvm_map_merge does for simple anonymous entries.
    package func tryMergeWithPrevious(_ e: MapEntry) {
        uvm.sched.assertHeld(lock, .writer)
        guard let prev = entries.previous(before: e), prev.end == e.start,
              prev.object == nil, e.object == nil, prev.amap == nil, e.amap == nil,
              prev.needsCopy == e.needsCopy, prev.copyOnWrite == e.copyOnWrite,
              prev.protection == e.protection, prev.maxProtection == e.maxProtection,
              prev.inheritance == e.inheritance,
              !prev.isWired, !e.isWired else { return }
        entries.remove(e)
        prev.end = e.end
        entries.endDidChange(prev)
    }

    // MARK: Fork

    /// uvmspace_fork's entry copy: fills `child` from this map according to each entry's
    /// inheritance. Shared entries share the amap (made shared); copied private entries become
    /// needs-copy in both maps and the parent loses write access in its pmap.
    /// Both maps are write-locked by the caller.
    package func forkCopy(into child: VMMap) async throws {
        uvm.sched.assertHeld(lock, .writer)
        uvm.sched.assertHeld(child.lock, .writer)
        for e in entries.elements {
            switch e.inheritance {
            case .none:
                continue
            case .zero:
                // A fresh private anonymous entry over the range: no amap, no object, so the
                // child's first touch finds zero-fill pages (uvm_mapent_forkzero).
                child.entries.insert(MapEntry(start: e.start, end: e.end, object: nil, offset: 0,
                                              protection: e.protection, maxProtection: e.maxProtection,
                                              inheritance: e.inheritance, copyOnWrite: true, needsCopy: true))
            case .share:
                if e.needsCopy { try await uvm.amapCopy(e, in: self) }
                let c = MapEntry(start: e.start, end: e.end, object: e.object, offset: e.offset,
                                 protection: e.protection, maxProtection: e.maxProtection,
                                 inheritance: e.inheritance, copyOnWrite: e.copyOnWrite, needsCopy: false)
                if let amap = e.amap {
                    amap.ref(e.amapSlots(pageShift))
                    amap.shared = true
                    c.amap = amap
                    c.amapSlot = e.amapSlot
                }
                e.object?.reference()
                child.entries.insert(c)
            case .copy:
                // Anons are about to be shared copy-on-write: first make sure no writable mapping
                // of them remains, before any switch point can expose the state.
                pmap.protect(vpns: (e.start >> UInt64(pageShift))..<(e.end >> UInt64(pageShift)),
                             e.protection.subtracting(.write))
                // The child gets a private copy-on-write view, even of a shared mapping.
                let c = MapEntry(start: e.start, end: e.end, object: e.object, offset: e.offset,
                                 protection: e.protection, maxProtection: e.maxProtection,
                                 inheritance: e.inheritance, copyOnWrite: true, needsCopy: true)
                e.object?.reference()
                // In the child before the copy, so a failed copy is undone with the child map.
                child.entries.insert(c)
                if let amap = e.amap {
                    amap.ref(e.amapSlots(pageShift))
                    c.amap = amap
                    c.amapSlot = e.amapSlot
                    if amap.shared || !e.copyOnWrite || e.isWired {
                        // Others write this amap in place (their mappings stay writable), or the
                        // parent's pages are wired and must never become copy-on-write: the
                        // child copies the pages now (amap_cow_now).
                        try await uvm.amapCopy(c, in: child, copyPagesNow: true)
                    } else {
                        e.needsCopy = true
                    }
                }
            }
        }
    }

    /// Removes every entry (exit, exec).
    package func removeAll() async throws {
        uvm.sched.assertHeld(lock, .writer)
        pmap.removeAll()
        for e in entries.elements {
            if e.isWired { try uvm.changeWiring(e, in: self, user: false, systemDelta: -e.systemWireCount) }
            entries.remove(e)
            try await dropBacking(e)
        }
    }
}

// MARK: Range queries and cleaning (uvm_map_clean's anon part, mincore)

extension UVM {
    /// Whether the page at `va` of `entry` is resident: an anon page in the amap, or the object's
    /// page (whoever faulted it in). Device memory is always resident.
    public func isResident(_ entry: MapEntry, va: UInt64) -> Bool {
        if let amap = entry.amap, let anon = amap.anons[entry.amapSlot(for: va, pageShift)], anon.page != nil {
            return true
        }
        guard let obj = entry.object else { return false }
        return obj.hasFictitiousPages || obj.pages[entry.objectPage(va, pageShift)] != nil
    }

    /// The resident pages backing [lo, hi) of `entry` (anon pages, then object pages).
    package func residentPages(_ entry: MapEntry, _ lo: UInt64, _ hi: UInt64) -> [VMPage] {
        let shift = UInt64(pageShift)
        let resident = entry.amap.map { $0.anons.count } ?? 0
        let cached = entry.object?.pages.count ?? 0
        var vas: [UInt64]
        if (hi - lo) >> shift <= UInt64(resident + cached) {
            vas = Array(stride(from: lo, to: hi, by: pageSize))
        } else {
            // A range wider than what backs it (madvise over a huge mapping): visit the amap's
            // slots and the object's pages that fall in it, not every page of the range, as
            // uvn_put walks the object's page list when that is the shorter (uvm_pager.c).
            var found = Set<UInt64>()
            if let amap = entry.amap {
                let first = entry.amapSlot(for: lo, pageShift), last = entry.amapSlot(for: hi - 1, pageShift)
                for s in first...min(last, amap.anons.count - 1) where amap.anons[s] != nil {
                    found.insert(entry.start + UInt64(s - entry.amapSlot) << shift)
                }
            }
            if let obj = entry.object {
                let first = entry.objectPage(lo, pageShift), last = entry.objectPage(hi - 1, pageShift)
                for idx in obj.pages.keys where idx >= first && idx <= last {
                    found.insert(lo + (idx - first) << shift)
                }
            }
            vas = found.sorted()
        }
        return vas.compactMap { page(backing: entry, va: $0) }
    }

    /// MADV_FREE's anonymous part (uvm_map_clean with PGO_FREE): when this entry's amap has no
    /// other reference, each resident anon of [lo, hi) that is neither wired nor busy leaves the
    /// amap (amap_unadd) and loses this reference — an anon still shared copy-on-write after a
    /// fork stays with the other process, one only we held is freed. An amap with other
    /// references keeps its anons (NetBSD only deactivates their pages).
    package func freeAnons(_ map: VMMap, _ entry: MapEntry, _ lo: UInt64, _ hi: UInt64) async throws {
        guard let amap = entry.amap else { return }
        try await amap.lock.enter()
        if amap.refs == 1 {
            // This process must fault again to see what replaced them (zeros).
            map.pmap.remove(vpns: (lo >> UInt64(pageShift))..<(hi >> UInt64(pageShift)))
            for s in entry.amapSlot(for: lo, pageShift)..<entry.amapSlot(for: hi - 1, pageShift) + 1 {
                guard let anon = amap.anons[s], let pg = anon.page, pg.wireCount == 0, !pg.isBusy else { continue }
                amap.anons[s] = nil
                try unrefAnon(anon)
            }
        }
        try await amap.lock.exit()
    }
}

extension UVM {
    /// The page that backs `va` in `entry` right now, if resident (the anon's, else the object's).
    public func page(backing entry: MapEntry, va: UInt64) -> VMPage? {
        if let amap = entry.amap, let anon = amap.anons[entry.amapSlot(for: va, pageShift)] { return anon.page }
        return entry.object?.pages[entry.objectPage(va, pageShift)]
    }

    /// The page `va` reaches, device memory's fake page included.
    public func pageIncludingDevice(backing entry: MapEntry, va: UInt64) -> VMPage? {
        page(backing: entry, va: va) ?? entry.object?.fictitiousPage(entry.objectPage(va, pageShift))
    }
}
