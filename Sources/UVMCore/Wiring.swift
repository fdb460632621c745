// Wiring (uvm_map_pageable, uvm_map_pageable_all, the wiring half of uvm_fault_wire): entries
// carry a user-wiring flag and a system-wiring count (BUGS.md rule 1, seeds 001 and 002); a
// wired entry's range wiring holds whatever pages back it, one wire per page, found through the
// amap and the object, never through the pmap (rule 2).
//
// Locking: wiring state changes with the map write-locked. Faulting the pages in happens with
// the map unlocked but busy (vm_map_busy): other writers wait, faults proceed. Page wire counts
// move in steps that never switch threads, so the audit can recompute them at any step.

import UVMMachine
import UVMSched

extension UVM {
    /// Whether setting the entry's user flag to `user` and adding `systemDelta` system wirings
    /// changes whether it is wired (thorpej's helper, seed 001). Only such a change faults pages
    /// in or lets them go.
    public static func wiringChanges(_ e: MapEntry, user: Bool, systemDelta: Int) -> Bool {
        e.isWired != (user || e.systemWireCount + systemDelta > 0)
    }

    /// Applies a wiring change to `e` (map write-locked). Returns true if the entry became
    /// wired: its resident pages are wired now, and the caller faults in the rest.
    @discardableResult
    public func changeWiring(_ e: MapEntry, user: Bool, systemDelta: Int) throws -> Bool {
        precondition(e.systemWireCount + systemDelta >= 0, "system wiring underflow")
        let change = Self.wiringChanges(e, user: user, systemDelta: systemDelta)
        let wasWired = e.isWired
        e.userWired = user
        e.systemWireCount += systemDelta
        guard change else { return false }
        if wasWired { try releaseRangeWiring(e) } else { holdRangeWiring(e) }
        return !wasWired
    }

    /// The entry's range wiring starts: every amap slot and object page it covers counts one
    /// more wired entry, and the page backing each address now takes one wire.
    private func holdRangeWiring(_ e: MapEntry) {
        if e.isDevice { return }  // fake pages: their wire count never changes
        for i in 0..<Int(e.pageCount(pageShift)) {
            let va = e.start + UInt64(i) << UInt64(pageShift)
            if let amap = e.amap {
                let slot = e.amapSlot + i
                amap.wiredRefs[slot] += 1
                if let anon = amap.anons[slot] {
                    anon.wiredRefs += 1
                    if let pg = anon.page { mem.wire(pg) }
                    continue
                }
            }
            if let obj = e.object {
                let idx = e.objectPage(va, pageShift)
                obj.wiredRefs[idx, default: 0] += 1
                if let pg = obj.pages[idx] { mem.wire(pg) }
            }
        }
    }

    /// The reverse of `holdRangeWiring`: the pages found through the amap and the object (never
    /// the pmap) each give up one wire.
    private func releaseRangeWiring(_ e: MapEntry) throws {
        if e.isDevice { return }
        for i in 0..<Int(e.pageCount(pageShift)) {
            let va = e.start + UInt64(i) << UInt64(pageShift)
            if let amap = e.amap {
                let slot = e.amapSlot + i
                amap.wiredRefs[slot] -= 1
                if let anon = amap.anons[slot] {
                    anon.wiredRefs -= 1
                    if let pg = anon.page { try mem.unwire(pg, sched) }
                    continue
                }
            }
            if let obj = e.object {
                let idx = e.objectPage(va, pageShift)
                obj.wiredRefs[idx, default: 0] -= 1
                if obj.wiredRefs[idx] == 0 { obj.wiredRefs[idx] = nil }
                if let pg = obj.pages[idx] { try mem.unwire(pg, sched) }
            }
        }
    }

    /// The access a wiring fault asks for: write on a private mapping that could ever be written
    /// (VM_FAULT_WIREMAX: copy it to anonymous memory now, rule 5), read otherwise.
    public static func wiringAccess(_ e: MapEntry) -> VMProt {
        e.copyOnWrite && e.maxProtection.contains(.write) ? [.read, .write] : [.read]
    }

    /// Faults in every page of `entries` for wiring; the map must be busy and unlocked. Returns
    /// the first failure.
    public func faultWire(_ map: VMMap, _ entries: [MapEntry]) async throws -> FaultResult {
        for e in entries {
            var va = e.start
            while va < e.end {
                let r = try await fault(map, va: va, access: Self.wiringAccess(e), wiring: .max)
                if r != .ok { return r }
                va += UInt64(mem.pageSize)
            }
        }
        return .ok
    }
}

extension UVM {
    /// uvm_obj_wirepages: a range wiring of the object itself (SysV SHM_LOCK): every page index
    /// of [0, pages) counts one more wiring, and every page is brought in and wired. Called with
    /// the object lock held and never switches threads, so the caller records its own state in
    /// the same step. Returns false, changing nothing, if the pages cannot all be had.
    public func wireObjectLocked(_ obj: UVMObject, pages: UInt64) -> Bool {
        precondition(obj.lock.isHeld(by: sched.current))
        let missing = (0..<pages).filter { obj.pages[$0] == nil }.count
        let newlyWired = (0..<pages).filter { obj.pages[$0].map { $0.wireCount == 0 } ?? true }.count
        guard missing <= mem.freeCount, mem.wiredCount + newlyWired <= mem.wiredMax else { return false }
        for idx in 0..<pages {
            obj.wiredRefs[idx, default: 0] += 1
            if let pg = obj.pages[idx] {
                mem.wire(pg)
            } else if case .error = obj.lookup(idx) {
                preconditionFailure("\(obj.name): no page at \(idx) after checking free memory")
            }
        }
        return true
    }

    /// uvm_obj_unwirepages: the object's own range wiring ends; pages are found through the
    /// object (never a pmap). Object lock held, no switch point.
    public func unwireObjectLocked(_ obj: UVMObject, pages: UInt64) throws {
        precondition(obj.lock.isHeld(by: sched.current))
        for idx in 0..<pages {
            obj.wiredRefs[idx, default: 0] -= 1
            if obj.wiredRefs[idx] == 0 { obj.wiredRefs[idx] = nil }
            if let pg = obj.pages[idx] { try mem.unwire(pg, sched) }
        }
    }
}
