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
    public let lock: KMutex
    public package(set) var anons: [Anon?]
    /// Per-slot count of map-entry references (ppref).
    public package(set) var slotRefs: [Int32]
    /// Map-entry references (am_ref).
    public package(set) var refs = 1
    /// AMAP_SHARED: mapped by entries of more than one map with MAP_INHERIT_SHARE, so a change
    /// must be seen by all and the amap is never copied on their behalf.
    public package(set) var shared = false
    public let serial: Int

    package init(_ uvm: UVM, slots: Int) {
        uvm.amapSerial += 1
        serial = uvm.amapSerial
        lock = KMutex(uvm.sched, class: "amap", name: "amap \(serial)")
        anons = Array(repeating: nil, count: slots)
        slotRefs = Array(repeating: 1, count: slots)
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

extension UVM {
    /// amap_copy for one entry: gives the entry an amap of its own (creating one if it has none),
    /// sharing the old amap's anons copy-on-write. Called with the map write-locked.
    package func amapCopy(_ entry: MapEntry) async throws {
        let npages = Int(entry.pageCount(pageShift))
        guard let old = entry.amap else {
            entry.amap = Amap(self, slots: npages)
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
        let new = Amap(self, slots: npages)
        for i in 0..<npages {
            if let anon = old.anons[entry.amapSlot + i] {
                anon.refs += 1
                new.anons[i] = anon
            }
        }
        let slots = entry.amapSlot..<(entry.amapSlot + npages)
        _ = try old.unref(slots, self)
        try await old.lock.exit()
        entry.amap = new
        entry.amapSlot = 0
        entry.needsCopy = false
    }
}
