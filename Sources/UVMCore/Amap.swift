// vm_amap: the anonymous layer of a map entry, an array of anon slots (uvm_amap.c).
//
// Locking: `lock` (class "amap") protects the slots, the reference counts and every anon in the
// amap. Map entries refer to an amap through an aref (amap, first slot); clipping an entry gives
// both halves the same amap at different slots. `slotRefs` counts, per slot, the entries whose
// range covers it (NetBSD's ppref), so unmapping part of a shared amap frees exactly the anons
// nobody maps any more.

import UVMMachine
import UVMSched

public final class Amap {
    /// The most slots one amap may have: its arrays are kernel memory, and a request for more
    /// fails as NetBSD's amap_alloc does when kmem has no room (ENOMEM), instead of the host
    /// allocating gigabytes for an address range nobody touches.
    public static let maxSlots = 1 << 20
    /// amap_copy chunking (UVM_AMAP_LARGE, UVM_AMAP_CHUNK): an anonymous entry of at least
    /// `largeSlots` pages gets an amap for the `chunkSlots`-page chunk around the faulting
    /// address only, the entry being clipped to it, so a huge untouched mapping costs nothing.
    static let largeSlots = 256
    static let chunkSlots = 16

    public let lock: KMutex
    public package(set) var anons: AnonSlots
    /// Per-slot count of map-entry references (ppref).
    public package(set) var slotRefs: [Int32] { didSet { countsGeneration &+= 1 } }
    /// Per slot, the wired entries covering it: the anon there holds one wire for each.
    public package(set) var wiredRefs: [Int32] { didSet { countsGeneration &+= 1 } }
    /// Changes whenever `slotRefs` or `wiredRefs` does, so that an observer that checked them
    /// against the map entries (the audit, at every step) can tell they are as they were without
    /// walking every slot again.
    public private(set) var countsGeneration = 0
    /// Map-entry references (am_ref).
    public package(set) var refs = 1
    /// AMAP_SHARED: mapped by entries of more than one map with MAP_INHERIT_SHARE, so a change
    /// must be seen by all and the amap is never copied on their behalf.
    public package(set) var shared = false
    public let serial: Int

    /// A new amap; one made by amap_copy shares the source's lock (so an anon's lock is the lock
    /// of every amap holding it, as in NetBSD).
    package init(_ uvm: UVM, slots: Int, sharingLockOf source: Amap? = nil) {
        uvm.amapSerial += 1
        serial = uvm.amapSerial
        lock = source?.lock ?? KMutex(uvm.sched, class: "amap", name: "amap \(serial)")
        anons = AnonSlots(count: slots)
        slotRefs = Array(repeating: 1, count: slots)
        wiredRefs = Array(repeating: 0, count: slots)
    }

    public var slotCount: Int { anons.count }

    /// amap_ref: one more entry covers `slots`.
    package func ref(_ slots: Range<Int>) {
        refs += 1
        for s in slots { slotRefs[s] += 1 }
    }

    /// An entry was split in two: both halves keep the same slots (clipping changes no slot count).
    package func refForClip() { refs += 1 }

    /// amap_unref: an entry covering `slots` goes away. Anons nobody maps any more are freed.
    /// Returns true when the amap itself is dead.
    package func unref(_ slots: Range<Int>, _ uvm: UVM) throws -> Bool {
        precondition(refs > 0, "amap \(serial): reference count underflow")
        refs -= 1
        for s in slots {
            precondition(slotRefs[s] > 0, "amap \(serial): slot \(s) reference underflow")
            slotRefs[s] -= 1
            if slotRefs[s] == 0, let anon = anons[s] {
                anons[s] = nil
                try uvm.unrefAnon(anon)
            }
        }
        return refs == 0
    }
}

/// An amap's anon slots with NetBSD's index of the ones in use (uvm_amap.c: am_anon, am_slots,
/// am_bckptr, am_nused): whoever walks the anons in use — the audit, at every step — pays for
/// them, not for the amap's size, which a shared anonymous mapping makes up to `Amap.maxSlots`.
public struct AnonSlots {
    private var anons: [Anon?]
    /// The slots holding an anon, in the order they were filled, a removed one's place taken by
    /// the last (am_slots).
    private var used: [Int32] = []
    /// Where each slot in use is in `used` (am_bckptr).
    private var position: [Int32]

    init(count: Int) {
        anons = Array(repeating: nil, count: count)
        position = Array(repeating: -1, count: count)
    }

    /// The number of slots. O(1).
    public var count: Int { anons.count }

    /// The anon in `slot`, if any. O(1) to read and to change.
    public subscript(slot: Int) -> Anon? {
        get { anons[slot] }
        set {
            let had = anons[slot] != nil
            anons[slot] = newValue
            if newValue != nil && !had {
                position[slot] = Int32(used.count)
                used.append(Int32(slot))
            } else if newValue == nil && had {
                let at = Int(position[slot])
                let last = used.removeLast()
                if Int(last) != slot {
                    used[at] = last
                    position[Int(last)] = Int32(at)
                }
                position[slot] = -1
            }
        }
    }

    /// The slots in use and their anons, in no particular order. O(anons in use).
    public var occupied: Occupied { Occupied(anons: anons, used: used) }

    /// The slots in use, a concrete sequence: the audit walks it at every step, and a lazy map
    /// would look its generic type up at run time on each walk.
    public struct Occupied: Sequence {
        fileprivate let anons: [Anon?]
        fileprivate let used: [Int32]

        public struct Iterator: IteratorProtocol {
            fileprivate let anons: [Anon?]
            fileprivate let used: [Int32]
            fileprivate var position = 0

            public mutating func next() -> (slot: Int, anon: Anon)? {
                guard position < used.count else { return nil }
                let slot = Int(used[position])
                position += 1
                return (slot, anons[slot]!)
            }
        }

        public func makeIterator() -> Iterator { Iterator(anons: anons, used: used) }
        public var underestimatedCount: Int { used.count }
    }

    /// The number of slots in use (am_nused). O(1).
    public var usedCount: Int { used.count }

    /// The index is exact: every slot in use is listed once, at its recorded place.
    /// O(slots); for tests.
    public func _checkInvariants() {
        precondition(used.count == anons.count { $0 != nil }, "am_nused disagrees with the slots")
        for (i, s) in used.enumerated() {
            precondition(anons[Int(s)] != nil && position[Int(s)] == Int32(i), "am_slots/am_bckptr disagree at slot \(s)")
        }
    }
}

extension UVM {
    /// amap_copy for one entry: gives the entry an amap of its own (creating one if it has none),
    /// sharing the old amap's anons copy-on-write — or, with `copyPagesNow` (amap_cow_now),
    /// with copies of their pages made in the same step, for an amap others write in place or
    /// whose pages are wired. With `chunkingAround` (an ordinary fault's address, in `map`), a
    /// large entry with no amap yet is first clipped to the chunk around it. Called with the map
    /// write-locked. Throws `PagerError.noMemory` when the amap would exceed `Amap.maxSlots`.
    package func amapCopy(_ entry: MapEntry, chunkingAround va: UInt64? = nil, in map: VMMap? = nil,
                          copyPagesNow: Bool = false) async throws {
        if let map {
            sched.assertHeld(map.lock, .writer)
            // The entry must be the map's now, not one looked up before the map was last
            // unlocked (uvm_fault_check looks it up again after upgrading its lock): in C an
            // unmapped entry is freed memory, and a clipped one no longer covers the fault.
            guard map.holds(entry) else {
                throw sched.abort(KernelFailure(.useAfterFree, "amap_copy of the map entry at \(hex(entry.start)), which its map no longer holds"))
            }
            if let va, !(entry.start..<entry.end).contains(va) {
                throw sched.abort(KernelFailure(.panic, "amap_copy around \(hex(va)), outside its entry [\(hex(entry.start)), \(hex(entry.end)))"))
            }
        }
        var entry = entry
        if entry.amap == nil, let va, let map, entry.pageCount(pageShift) >= UInt64(Amap.largeSlots) {
            let chunk = UInt64(Amap.chunkSlots) << UInt64(pageShift)
            let lo = max(entry.start, va / chunk * chunk)
            let hi = min(entry.end, lo + chunk)
            sched.sometimes(true, "a fault chunked a large anonymous entry")
            if lo > entry.start { entry = map.split(entry, at: lo) }
            if hi < entry.end { map.split(entry, at: hi) }
        }
        guard entry.pageCount(pageShift) <= UInt64(Amap.maxSlots) else { throw PagerError.noMemory }
        let npages = Int(entry.pageCount(pageShift))
        guard let old = entry.amap else {
            let new = Amap(self, slots: npages)
            // A wired entry's range wiring covers its new amap's slots too.
            if entry.isWired { new.wiredRefs = Array(repeating: 1, count: npages) }
            entry.amap = new
            entry.amapSlot = 0
            entry.needsCopy = false
            return
        }
        if old.refs == 1 && !old.shared {
            // Nobody else refers to it: no copy needed (amap_copy's am_ref == 1 case).
            entry.needsCopy = false
            return
        }
        try await old.lock.enter()
        let new = Amap(self, slots: npages, sharingLockOf: old)
        var i = 0
        while i < npages {
            defer { i += 1 }
            guard let anon = old.anons[entry.amapSlot + i] else { continue }
            if copyPagesNow, let pg = anon.page, pg.isBusy {
                // Being swapped in: its contents are not there yet. Wait and look again at this
                // slot (amap_cow_now's PG_BUSY wait).
                try await old.lock.exit()
                try await pg.waitUnbusy(sched)
                try await old.lock.enter()
                i -= 1
                continue
            }
            if copyPagesNow, let pg = anon.page {
                guard let copy = newAnon(copying: pg, for: new) else {
                    // Out of pages: unlock, let the page daemon reclaim one and retry this slot
                    // (amap_cow_now's uvm_wait). When nothing can be reclaimed the copy fails and
                    // the caller fails the fork with ENOMEM instead of panicking.
                    try await old.lock.exit()
                    let reclaimed = try await pageDaemon(target: 1)
                    try await old.lock.enter()
                    if reclaimed > 0 { i -= 1; continue }
                    for (_, made) in new.anons.occupied { try unrefAnon(made) }
                    try await old.lock.exit()
                    throw PagerError.noMemory
                }
                new.anons[i] = copy
            } else {
                anon.refs += 1
                new.anons[i] = anon
            }
        }
        let slots = entry.amapSlot..<(entry.amapSlot + npages)
        if entry.isWired {
            // The entry's range wiring moves to its new amap; the pages stay the same.
            for i in 0..<npages {
                old.wiredRefs[entry.amapSlot + i] -= 1
                new.wiredRefs[i] = 1
            }
        }
        entry.amap = new
        entry.amapSlot = 0
        entry.needsCopy = false
        _ = try old.unref(slots, self)
        try await old.lock.exit()
    }

    /// Installs `anon` in `slot` (nil empties it), moving the range wires of the wired entries
    /// that cover the slot from the page that backed it before to the new page. `shadowed` is
    /// the object page the slot hides when it was empty (a promotion), so that the object page
    /// gives up those wires; in a shared amap the page the slot showed is unmapped everywhere.
    /// Never switches threads: counts are exact at every step.
    package func setAnon(_ amap: Amap, _ slot: Int, _ anon: Anon?, shadowed: (UVMObject, UInt64)? = nil) throws {
        sched.assertHeld(amap.lock)
        let w = amap.wiredRefs[slot]
        let old = amap.anons[slot]
        if amap.shared, let hidden = old?.page ?? shadowed.flatMap({ obj, idx in obj.pages[idx] }) {
            // Every map sharing this amap must see the new page: the one the slot showed until
            // now loses all its mappings, so the other sharers fault again and find the new anon
            // (uvm_amap.c: amap_add's replace case; uvm_fault.c: uvm_fault_lower_promote). Else
            // a sibling keeps reading a page its own amap no longer holds (FreeBSD's
            // CVE-2021-29626, the shared shadow object).
            Pmap.pageProtect(hidden, .none)
        }
        if w > 0 {
            // The counts always move; the page wires move only when wires follow pages
            // (docs/wiring.md, *Wirings hold pages*; not under the historic unwire=pmap).
            let follow = wiresFollowPages
            guard let anon else {
                throw sched.abort(KernelFailure(.panic, "amap \(amap.serial) slot \(slot): a wired slot was emptied"))
            }
            if let old {
                old.wiredRefs -= w
                if follow, let oldPage = old.page { for _ in 0..<w { try mem.unwire(oldPage, sched) } }
            } else if let (obj, idx) = shadowed {
                obj.wiredRefs[idx, default: 0] -= Int(w)
                if obj.wiredRefs[idx] == 0 { obj.wiredRefs[idx] = nil }
                if follow, let pg = obj.pages[idx] { for _ in 0..<w { try mem.unwire(pg, sched) } }
            }
            anon.wiredRefs += w
            if follow, let pg = anon.page { for _ in 0..<w { mem.wire(pg) } }
        }
        amap.anons[slot] = anon
    }
}
