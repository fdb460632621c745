// Wiring (uvm_map_pageable, uvm_map_pageable_all, the wiring half of uvm_fault_wire): entries carry
// a user-wiring flag and a system-wiring count (docs/wiring.md, *User and system wirings*, the 2019
// wire-count thread and FreeBSD's 2004 wiring fixes); a wired entry's range wiring holds whatever
// pages back it, one wire per page, found through the amap and the object, never through the pmap
// (docs/wiring.md, *Wirings hold pages*).
//
// Locking: wiring state changes with the map write-locked. Faulting the pages in happens with
// the map unlocked but busy (vm_map_busy): other writers wait, faults proceed. Page wire counts
// move in steps that never switch threads, so the audit can recompute them at any step.

import UVMMachine
import UVMSched

/// Pages a wiring in progress was granted against wiredmax (uvm_map_pageable's `atop(size) +
/// uvmexp.wired <= wiredmax`) and has not wired yet. The check and the wiring are apart (faults
/// switch threads), so the grant is held meanwhile, but each page gives its unit back as soon as
/// it is wired: counted both as wired and as granted, it would refuse a concurrent wiring that
/// fits.
public final class WiredGrant {
    private let mem: PhysMem
    public private(set) var pages: Int
    /// Addresses whose unit was given back one by one: each gives back at most one.
    private var settledAddresses: Set<UInt64> = []

    /// Takes over `pages` already reserved with `PhysMem.reserveWired`.
    public init(_ mem: PhysMem, reserved pages: Int) {
        self.mem = mem
        self.pages = pages
    }

    /// Gives back up to `n` pages: they are wired now, or will not be.
    public func settle(_ n: Int) {
        let k = max(0, min(n, pages))
        mem.releaseWired(k)
        pages -= k
    }

    /// Whether the page at `va` still holds a unit of this grant.
    public func owes(at va: UInt64) -> Bool { pages > 0 && !settledAddresses.contains(va) }

    /// Gives back the unit of the page at `va` (wired now, or handed over to a placeholder)
    /// unless it was given back already. Returns whether it gave one back.
    @discardableResult
    public func settle(at va: UInt64) -> Bool {
        guard pages > 0, settledAddresses.insert(va).inserted else { return false }
        settle(1)
        return true
    }
}

/// What pays for a page that a copy adds to the wired count (`UVM.payerForNewWiredPage`).
enum NewWiredPagePayer {
    /// The count does not grow: the copy takes the original's place.
    case nothingToPay
    /// The wiring fault's unit for the address.
    case grant(WiredGrant)
    /// The unit a vslock reserved for a copy of a page it holds.
    case hold(PageHold)
    /// Room left under wiredmax.
    case room
}

/// Why a wiring fault failed, as uvm_fault_wire passes it up: the error of the fault itself.
public enum WiringFailure: Equatable, Sendable {
    /// No mapping or no access (EFAULT).
    case fault
    /// The pager's error (genfs_getpages' EINVAL past the end of the file, EIO), or no memory.
    case pager(PagerError)
    /// A copy the wiring made would pass wiredmax: a concurrent wiring took the room (the
    /// call's own limit errno, `Kernel.wireUser`).
    case wiredLimit

    /// The failure a wiring fault's result stands for; nil if it succeeded.
    init?(_ r: FaultResult, _ e: MapEntry, _ va: UInt64, _ pageShift: Int) {
        switch r {
        case .ok: return nil
        case .sigsegv: self = .fault
        case .sigkill: self = .pager(.noMemory)
        case .wiredLimit: self = .wiredLimit
        case .sigbus:
            // The fault tells only SIGBUS; the object tells which.
            let beyondEOF = e.object.map { !$0.contains(e.objectPage(va, pageShift)) } ?? false
            self = .pager(beyondEOF ? .pastEOF : .io)
        }
    }
}

extension UVM {
    /// Whether setting the entry's user flag to `user` and adding `systemDelta` system wirings
    /// changes whether it is wired (thorpej's helper, the 2019 wire-count underflow thread). Only
    /// such a change faults pages in or lets them go.
    public static func wiringChanges(_ e: MapEntry, user: Bool, systemDelta: Int) -> Bool {
        e.isWired != (user || e.systemWireCount + systemDelta > 0)
    }

    /// Applies a wiring change to `e` (map write-locked). Returns true if the entry became
    /// wired: its resident pages are wired now, and the caller faults in the rest.
    @discardableResult
    public func changeWiring(_ e: MapEntry, in map: VMMap, user: Bool, systemDelta: Int) throws -> Bool {
        sched.assertHeld(map.lock, .writer)
        guard e.systemWireCount + systemDelta >= 0 else {
            // Historic wiring=shared-count lets munlock zero the count a vslock still counts on.
            throw sched.abort(KernelFailure(.panic, "uvm_map_pageable: wire count underflow on the entry at \(hex(e.start))"))
        }
        let change = Self.wiringChanges(e, user: user, systemDelta: systemDelta)
        let wasWired = e.isWired
        e.userWired = user
        e.systemWireCount += systemDelta
        guard change else { return false }
        if wasWired { try releaseRangeWiring(e, in: map) } else { holdRangeWiring(e) }
        return !wasWired
    }

    /// The entry's range wiring starts: every amap slot and object page it covers counts one
    /// more wired entry, and the page backing each address now takes one wire.
    private func holdRangeWiring(_ e: MapEntry) {
        if e.isDevice { return }  // fake pages: their wire count never changes
        let wirePages = wiresFollowPages
        for i in 0..<Int(e.pageCount(pageShift)) {
            let va = e.start + UInt64(i) << UInt64(pageShift)
            if let amap = e.amap {
                let slot = e.amapSlot + i
                amap.wiredRefs[slot] += 1
                if let anon = amap.anons[slot] {
                    anon.wiredRefs += 1
                    if wirePages, let pg = anon.page { mem.wire(pg) }
                    continue
                }
            }
            if let obj = e.object {
                let idx = e.objectPage(va, pageShift)
                obj.wiredRefs[idx, default: 0] += 1
                if wirePages, let pg = obj.pages[idx] { mem.wire(pg) }
            }
        }
    }

    /// The reverse of `holdRangeWiring`: the pages found through the amap and the object (never
    /// the pmap) each give up one wire.
    private func releaseRangeWiring(_ e: MapEntry, in map: VMMap) throws {
        if !wiresFollowPages { try unwireThroughPmap(e, map) }
        if e.isDevice { return }
        let unwirePages = wiresFollowPages
        for i in 0..<Int(e.pageCount(pageShift)) {
            let va = e.start + UInt64(i) << UInt64(pageShift)
            if let amap = e.amap {
                let slot = e.amapSlot + i
                amap.wiredRefs[slot] -= 1
                if let anon = amap.anons[slot] {
                    anon.wiredRefs -= 1
                    if unwirePages, let pg = anon.page { try mem.unwire(pg, sched) }
                    continue
                }
            }
            if let obj = e.object {
                let idx = e.objectPage(va, pageShift)
                obj.wiredRefs[idx, default: 0] -= 1
                if obj.wiredRefs[idx] == 0 { obj.wiredRefs[idx] = nil }
                if unwirePages, let pg = obj.pages[idx] { try mem.unwire(pg, sched) }
            }
        }
    }

    /// Historic `unwire=pmap` (NetBSD uvm_fault_unwire_locked, FreeBSD vm_fault_unwire before
    /// 2014): each address is looked up in the pmap; a missing entry is skipped (its wire leaks),
    /// and the physical address is turned back into a page — which a device's fake page is not.
    private func unwireThroughPmap(_ e: MapEntry, _ map: VMMap) throws {
        var va = e.start
        while va < e.end {
            if let pte = map.pmap.extract(vpn: va >> UInt64(pageShift)) {
                guard let pg = mem.page(physical: pte.page) else {
                    throw sched.abort(KernelFailure(
                        .panic, "vm_fault_unwire: \(hex(va)) maps device memory that has no vm_page of its own; the fake page's wiring is not found",
                        details: ["PHYS_TO_VM_PAGE does not return the device pager's fake page (FreeBSD's 2004 wiring fixes, PR/29915)"]))
                }
                try mem.unwire(pg, sched)
            }
            va += UInt64(pageSize)
        }
    }

    /// The access and protection of a wiring fault. Modern (docs/wiring.md, *Wiring at maximum
    /// protection*, VM_FAULT_WIREMAX): at the maximum protection, writing a private mapping that
    /// could ever be written, so it is copied to anonymous memory now and no later fault replaces a
    /// wired page. Historic `wire-prot=current`: a read at the current protection, no copy.
    func wiringFault(_ e: MapEntry) -> (access: VMProt, wiring: FaultWiring) {
        switch policy.wireProt {
        case .max: return (e.copyOnWrite && e.maxProtection.contains(.write) ? [.read, .write] : [.read], .max)
        case .current: return ([.read], .current)
        }
    }

    /// Whether range wires move with the page that backs an address when it is replaced or removed
    /// (modern, docs/wiring.md, *Wirings hold pages*). Historic `unwire=pmap`: wires stay on
    /// whatever page the wiring fault wired, and unwiring finds pages through the pmap (NetBSD's
    /// uvm_fault_unwire).
    var wiresFollowPages: Bool { policy.unwire == .object }

    /// Faults in every page of `entries` for wiring; the map must be busy and unlocked. Each
    /// page this wires gives back its unit of `grant`. Returns the first failure, nil if none.
    public func faultWire(_ map: VMMap, _ entries: [MapEntry], grant: WiredGrant) async throws -> WiringFailure? {
        sched.assertNotHeld(map.lock)
        for e in entries {
            let (access, wiring) = wiringFault(e)
            let settled = wiresFollowPages
                ? try await settleAnonymousPages(map, e, access, grant)
                : [Bool](repeating: false, count: Int(e.pageCount(pageShift)))
            var va = e.start
            for i in settled.indices {
                defer { va += UInt64(mem.pageSize) }
                if settled[i] { continue }
                if let failure = try await faultWirePage(map, e, va, access, wiring, grant) { return failure }
            }
        }
        return nil
    }

    /// Faults in one page of `e` for wiring; if that wired it, its unit of `grant` goes back.
    private func faultWirePage(_ map: VMMap, _ e: MapEntry, _ va: UInt64, _ access: VMProt, _ wiring: FaultWiring,
                               _ grant: WiredGrant) async throws -> WiringFailure? {
        let wasWired = isWired(e, va)
        let r = try await faultWirePage(map, va: va, access: access, wiring: wiring, grant: grant)
        if let failure = WiringFailure(r, e, va, pageShift) { return failure }
        if !wasWired && isWired(e, va) { grant.settle(at: va) }
        return nil
    }

    /// The object pages that the wiring of `entries` will bring in are not resident yet: each
    /// one's unit of `grant` moves to a placeholder of its object (as a truncated wired page's
    /// does), which the page takes over in the step it comes in wired (`insertPage`), so that
    /// no concurrent wiring sees it counted twice while the page-in runs. Map write-locked.
    public func handOverMissingObjectPages(_ entries: [MapEntry], in map: VMMap, _ grant: WiredGrant) {
        sched.assertHeld(map.lock, .writer)
        guard wiresFollowPages else { return }
        for e in entries where !e.isDevice {
            guard let obj = e.object else { continue }
            for va in stride(from: e.start, to: e.end, by: pageSize) {
                if let amap = e.amap, amap.anons[e.amapSlot(for: va, pageShift)] != nil { continue }
                let idx = e.objectPage(va, pageShift)
                guard obj.contains(idx), obj.pages[idx] == nil, !obj.wiredPlaceholders.contains(idx),
                      grant.settle(at: va) else { continue }
                obj.reservePlaceholder(idx)
            }
        }
    }

    /// One page of uvm_fault_wire: the fault, and under the historic `unwire=pmap` its
    /// wire_paging, which wires the page the fault mapped — the page that unwiring will look up
    /// in the pmap (the modern design wired it through the layers as it came in).
    public func faultWirePage(_ map: VMMap, va: UInt64, access: VMProt, wiring: FaultWiring,
                              grant: WiredGrant) async throws -> FaultResult {
        let r = try await fault(map, va: va, access: access, wiring: wiring, grant: grant)
        if r == .ok, !wiresFollowPages, let pte = map.pmap.extract(vpn: va >> UInt64(pageShift)) { mem.wire(pte.page) }
        return r
    }

    /// Whether the page backing `va` in `e` is resident and wired.
    func isWired(_ e: MapEntry, _ va: UInt64) -> Bool {
        (page(backing: e, va: va)?.wireCount ?? 0) > 0
    }

    /// Whether wiring `va` of `e` with a fault that `writes` still adds a page to the wired
    /// count: the page there is not wired yet, or the fault will copy it and the original stays
    /// wired by something other than the wires that move to the copy (`setAnon`). An original
    /// that only this entry's wiring holds (it wired the page when it became wired) hands its
    /// place under wiredmax to its copy, so it is not counted twice: counted both wired and
    /// granted, it would take a unit another wiring was owed (found by a generated workload:
    /// scenarios/examples/trust/copy-on-wire-racing-a-shared-wiring.uvm).
    func wiringAddsPage(_ e: MapEntry, _ va: UInt64, writes: Bool) -> Bool {
        guard let pg = page(backing: e, va: va), pg.wireCount > 0 else { return true }
        guard writes && writeFaultCopies(e, va) else { return false }
        return !wiresFollowPages || pg.wireCount > wiresMovingToCopy(e, va)
    }

    /// The wires a copy of the page behind `va` takes from it: those of the wired entries
    /// through the slot (one, this entry's, while it has no amap of its own yet).
    private func wiresMovingToCopy(_ e: MapEntry, _ va: UInt64) -> Int {
        guard e.isWired else { return 0 }
        guard let amap = e.amap, !e.needsCopy else { return 1 }
        return Int(amap.wiredRefs[e.amapSlot(for: va, pageShift)])
    }

    /// Who pays for the page a copy (or a zero-fill) in a wired slot adds to the wired count,
    /// or nil if nobody can. The `moving` wires of the slot go from `original` to the new page
    /// (`setAnon`); the count grows only if the original stays wired by others (a page hold,
    /// another mapping's wiring) or there is none. The unit comes from the wiring fault's own
    /// grant for `va`, else from a vslock that reserved it for this copy when it captured
    /// `original` (`capture`), else from room left under wiredmax. None left means a concurrent
    /// wiring took it: a wiring fault fails (`FaultResult.wiredLimit`) rather than pass wiredmax.
    /// No switch point: the caller pays (`pay`) in the step it installs the page.
    func payerForNewWiredPage(_ map: VMMap, va: UInt64, original: VMPage?, moving: Int32,
                              grant: WiredGrant?) -> NewWiredPagePayer? {
        guard wiresFollowPages, moving > 0 else { return .nothingToPay }
        if let original, original.wireCount <= Int(moving) { return .nothingToPay }
        if let grant, grant.owes(at: va) { return .grant(grant) }
        if let original, let hold = holds.first(where: {
            !$0.released && $0.map === map && $0.start <= va && va < $0.end && $0.copiesReserved > 0
                && $0.pages.contains { $0.page === original }
        }) {
            return .hold(hold)
        }
        return mem.wiredFits(1) ? .room : nil
    }

    /// Gives the payer's unit back as the new page takes its place in the wired count.
    func pay(_ payer: NewWiredPagePayer, va: UInt64) {
        switch payer {
        case .nothingToPay, .room: break
        case .grant(let grant): grant.settle(at: va)
        case .hold(let hold):
            hold.copiesReserved -= 1
            mem.releaseWired(1)
        }
    }

    /// Pages of `e` whose wiring still adds a page to the wired count. At maximum protection a
    /// private mapping's pages are copied (VM_FAULT_WIREMAX).
    public func unwiredPageCount(_ e: MapEntry) -> Int {
        let writes = wiringFault(e).access.contains(.write)
        return stride(from: e.start, to: e.end, by: pageSize).filter { wiringAddsPage(e, $0, writes: writes) }.count
    }

    /// Whether a store to `va` through `e` would give the entry a new page in place of the one
    /// there now: a private entry that is or may be made writable, whose page is the object's
    /// or an anon it still shares.
    func writeFaultCopies(_ e: MapEntry, _ va: UInt64) -> Bool {
        guard e.copyOnWrite && e.maxProtection.contains(.write) else { return false }
        guard !e.needsCopy, let anon = e.amap?.anons[e.amapSlot(for: va, pageShift)] else { return true }
        return anon.refs > 1
    }

    /// The wiring fault's fast path for anonymous memory, under one acquisition of the map and amap
    /// locks: the entry gets its own amap first if the wiring fault would copy one
    /// (uvm_fault_check's amap_copy); an anon only this amap holds, resident and not on loan, needs
    /// nothing more; a missing page of anonymous memory is zero-filled now, wired through its slot
    /// and its unit of `grant` given back in the same step, so that no concurrent wiring sees it
    /// counted twice. Everything else — object pages, shared anons, loans, swapped pages — is left
    /// to the full fault. Marks the pages it settled. The pmap is not filled: it is a cache, and
    /// the next access faults the mapping in (docs/wiring.md, *Wirings hold pages*). Returns, for
    /// each page of `e`, whether it was settled.
    @discardableResult
    func settleAnonymousPages(_ map: VMMap, _ e: MapEntry, _ access: VMProt, _ grant: WiredGrant) async throws -> [Bool] {
        var settled = [Bool](repeating: false, count: Int(e.pageCount(pageShift)))
        try await map.lockWrite()
        guard map.holds(e) else {
            try await map.lock.exit()
            return settled
        }
        if faultCopiesAmap(e, access) {
            // An amap too large for kernel memory is left to the full fault, which fails it.
            do { try await amapCopy(e, in: map) } catch PagerError.noMemory {}
        }
        guard let amap = e.amap, !e.needsCopy else {
            try await map.lock.exit()
            return settled
        }
        try await amap.lock.enter()
        for i in settled.indices {
            let slot = e.amapSlot + i
            if let anon = amap.anons[slot] {
                if anon.refs == 1, let pg = anon.page, !pg.isBusy, pg.loanCount == 0 { settled[i] = true }
            } else if e.object == nil, let anon = newAnon(copying: nil, for: amap) {
                try setAnon(amap, slot, anon)
                mem.stats.zeroFills += 1
                settled[i] = true
                grant.settle(at: e.start + UInt64(i) << UInt64(pageShift))
            }
        }
        try await amap.lock.exit()
        try await map.lock.exit()
        return settled
    }

    public enum UserWiringRequest { case mlock, munlock }

    /// What a user's mlock or munlock does to an entry's wiring. Modern (docs/wiring.md, *User and
    /// system wirings*, the 2019 wire-count underflow thread): the user flag, which one munlock
    /// clears. Historic `wiring=shared-count`: one count shared with every other wiring,
    /// incremented by each mlock and forced to zero by munlock.
    public func userWiringChange(_ e: MapEntry, _ request: UserWiringRequest) -> (user: Bool, systemDelta: Int) {
        switch (policy.wiring, request) {
        case (.split, .mlock): return (true, 0)
        case (.split, .munlock): return (false, 0)
        case (.sharedCount, .mlock): return (false, 1)
        case (.sharedCount, .munlock): return (false, -e.systemWireCount)
        }
    }

    /// Whether munlock finds the entry wired. uvm_map_pageable refuses to unwire an entry whose
    /// wired_count is 0, and uvm_vslock wires pages through uvm_fault_wire without touching the
    /// entry: a range under a vslock and nothing else is not locked as far as munlock can tell.
    /// Under `wiring=shared-count` there is only the one count, which every wiring raises.
    public func munlockFindsWired(_ e: MapEntry) -> Bool {
        switch policy.wiring {
        case .split: return e.userWired
        case .sharedCount: return e.isWired
        }
    }
}

extension UVM {
    public enum ObjectWiring: Equatable {
        case wired
        /// The pages would pass wiredmax.
        case overWiredMax
        /// This many more free pages are needed: reclaim (no lock held) and try again.
        case short(Int)
        /// These pages are on swap: bring them in (no lock held) and try again.
        case pageIn([UInt64])
    }

    /// uvm_obj_wirepages: a range wiring of the object itself (SysV SHM_LOCK): every page index
    /// of [0, pages) counts one more wiring, and every page is brought in and wired. Called with
    /// the object lock held and never switches threads, so the caller records its own state in
    /// the same step; what stops it is reported instead, for the caller to remedy first.
    ///
    /// The pages are wired here, whatever `unwire` says: that knob is about how a map entry's
    /// wiring finds its pages, and `unwireObjectLocked` finds these through the object.
    public func wireObjectLocked(_ obj: UVMObject, pages: UInt64) -> ObjectWiring {
        sched.assertHeld(obj.lock)
        let swapped = (0..<pages).filter { obj.isSwappedOut($0) }
        if !swapped.isEmpty { return .pageIn(swapped) }
        let missing = (0..<pages).filter { obj.pages[$0] == nil }
        let newlyWired = (0..<pages).filter { obj.pages[$0].map { $0.wireCount == 0 } ?? true }.count
        guard mem.wiredFits(newlyWired) else { return .overWiredMax }
        guard missing.count <= mem.freeCount else { return .short(missing.count - mem.freeCount) }
        for idx in missing {
            // Filled before this wiring counts, so the page arrives with only the older wirings.
            guard case .resident = obj.lookup(idx) else {
                preconditionFailure("\(obj.name): no page at \(idx) after checking free memory")
            }
        }
        for idx in 0..<pages {
            obj.wiredRefs[idx, default: 0] += 1
            if let pg = obj.pages[idx] { mem.wire(pg) }
        }
        return .wired
    }

    /// uvm_obj_unwirepages: the object's own range wiring ends; pages are found through the
    /// object (never a pmap). Object lock held, no switch point.
    public func unwireObjectLocked(_ obj: UVMObject, pages: UInt64) throws {
        sched.assertHeld(obj.lock)
        for idx in 0..<pages {
            obj.wiredRefs[idx, default: 0] -= 1
            if obj.wiredRefs[idx] == 0 { obj.wiredRefs[idx] = nil }
            if let pg = obj.pages[idx] { try mem.unwire(pg, sched) }
        }
    }
}
