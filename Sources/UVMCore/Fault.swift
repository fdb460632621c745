// uvm_fault: resolves a page fault at one virtual address, and the MMU's view of user memory.
//
// Locking: map (read) → amap → object, as in NetBSD; page busy is waited for only after dropping
// them all. Whatever must sleep (a busy page, page-in I/O, the map write lock for amap_copy) drops
// every lock first and restarts the fault from the lookup ("ReFault"), so a fault never sleeps
// holding a lock another sleeper could need. Restarts caused by contention are counted; past
// `faultRestartBound` the fault is a livelock (docs/wiring.md, *No sleeping on the vnode lock with
// busy pages*).
//
// The cases, as uvm_fault.c's "a word on page faults" names them, and the function for each:
//
//   case          what faulted                                  function
//   check         no entry / no permission: SIGSEGV;            faultCheck
//                 needs-copy or amap-less anonymous: amap_copy
//   1 (upper)     an anon in the amap                           faultUpper
//     loan        a loaned anon page written or wired: copy     faultUpperLoan
//     1B          a write to an anon shared with another amap   faultUpperPromote
//     1A          anything else: map the anon's page            faultUpperDirect
//   2 (lower)     the object's page                             faultLower
//     2A          a read, or a write to a shared mapping        faultLowerDirect
//     2B          a write to a private mapping: copy to an anon faultLowerPromote
//     zero-fill   no object: a new zeroed anon                  faultZeroFill

import UVMMachine
import UVMSched

/// Whether a fault is a wiring fault, and which protection it is checked against.
public enum FaultWiring: Sendable {
    /// An ordinary fault, checked against the current protection.
    case none
    /// uvm_map_pageable's wiring fault, at the maximum protection (VM_FAULT_WIREMAX).
    case max
    /// uvm_vslock's wiring fault, at the current protection.
    case current
}

/// The outcome of a fault as the faulting thread sees it.
public enum FaultResult: Equatable, Sendable {
    case ok
    /// No mapping, or protection forbids the access.
    case sigsegv
    /// Past the end of a mapped file, or the page could not be read.
    case sigbus
    /// No memory could be found for the fault (NetBSD's trap kills the process: "out of swap").
    case sigkill
    /// A wiring fault's copy would pass wiredmax (`UVM.payerForNewWiredPage`); only a wiring
    /// fault answers this.
    case wiredLimit
}

private enum FaultStep {
    case done(FaultResult)
    /// Looked again after a change it made itself (amap_copy): not a restart against anyone.
    case again
    /// Restarted because of contention (busy page, vnode lock): counted.
    case restart
    /// No free page: reclaim some and restart, or fail if nothing can be reclaimed. `sparing`
    /// is the page the fault copies from: reclaiming it would only make the fault need it again
    /// (NetBSD's fault keeps it busy while it waits for memory).
    case noMemory(sparing: VMPage?)
}

/// uvm_faultctx: what one attempt at a fault knows once `faultCheck` has found the entry, with
/// the map read-locked.
private struct FaultContext {
    let map: VMMap
    let va: UInt64
    let access: VMProt
    let wiring: FaultWiring
    /// A wiring fault's grant: a page it swaps in wired gives back its unit at once.
    let grant: WiredGrant?
    let entry: MapEntry
    let amap: Amap?
    /// The fault's slot in `amap`.
    let slot: Int
    let vpn: UInt64

    var isWrite: Bool { access.contains(.write) }

    /// The entry's protection for an anon's page: while the entry still shares its amap
    /// copy-on-write, nothing in it is writable.
    var upperProtection: VMProt { entry.needsCopy ? entry.protection.subtracting(.write) : entry.protection }

    /// The entry's protection for the object's own page: read-only in a private mapping.
    var lowerProtection: VMProt { entry.copyOnWrite ? entry.protection.subtracting(.write) : entry.protection }
}

/// What `faultCheck` found: an entry to fault on, or the attempt's end.
private enum FaultCheck {
    case proceed(FaultContext)
    case stop(FaultStep)
}

extension UVM {
    /// uvm_fault_internal: makes `va` accessible for `access` in `map`, or says which signal
    /// results. A wiring fault (`wiring`) checks `access` against the entry's maximum protection
    /// (VM_FAULT_WIREMAX), so a private mapping is copied to anons now, and maps the page with
    /// no more than the current protection. A wiring fault passes its `grant`: a page it swaps
    /// in wired gives back its unit in that same step.
    public func fault(_ map: VMMap, va: UInt64, access: VMProt, wiring: FaultWiring = .none,
                      grant: WiredGrant? = nil) async throws -> FaultResult {
        mem.stats.faults += 1
        var restarts = 0
        while true {
            switch try await faultOnce(map, va: va, access: access, wiring: wiring, grant: grant) {
            case .done(let r):
                sched.madeProgress()
                return r
            case .again:
                continue
            case .noMemory(let source):
                guard try await waitForMemory(sparing: source) else { return .sigkill }
                fallthrough
            case .restart:
                restarts += 1
                if restarts > faultRestartBound {
                    throw sched.abort(KernelFailure(
                        .livelock, "fault at \(hex(va)) restarted \(restarts) times without progress",
                        details: ["bound: \(faultRestartBound) restarts per fault"]))
                }
            }
        }
    }

    /// uvm_wait for a fault: wakes the page daemon and waits for it (here: reclaims on this
    /// thread). False when every page is wired and nothing can be reclaimed: the fault fails
    /// rather than sleeping forever (docs/wiring.md, *Limits fail cleanly*, FreeBSD's 2004
    /// wiring fixes) and NetBSD's trap kills the process. Historic `wired-exhaustion=wait`
    /// sleeps until some page is freed. Another thread may have freed pages while this one
    /// reclaimed: the fault retries then too.
    private func waitForMemory(sparing source: VMPage?) async throws -> Bool {
        guard try await pageDaemon(target: 1, sparing: source) == 0 && mem.freeCount == 0 else { return true }
        if let inTransit = mem.pages.first(where: { $0.isBusy && $0.wireCount == 0 && $0.busyOwner !== sched.current }) {
            // Another thread is paging it out (or in): memory is not gone yet, so wait for that
            // I/O and try again, as uvm_wait waits for the page daemon.
            try await inTransit.waitUnbusy(sched)
        } else {
            guard policy.wiredExhaustion == .wait else { return false }
            try await mem.waitForFreePage(sched)
        }
        return true
    }

    /// One attempt, from the lookup ("ReFault") to a mapped page or a reason to look again.
    private func faultOnce(_ map: VMMap, va: UInt64, access: VMProt, wiring: FaultWiring,
                           grant: WiredGrant?) async throws -> FaultStep {
        switch try await faultCheck(map, va: va, access: access, wiring: wiring, grant: grant) {
        case .stop(let step):
            return step
        case .proceed(let f):
            if let amap = f.amap, let anon = try await faultUpperLookup(f, amap) {
                return try await faultUpper(f, amap, anon)
            }
            return try await faultLower(f)
        }
    }

    // MARK: Check: the entry, its protection, and amap_copy

    /// uvm_fault_check: read-locks the map and finds the entry; no entry, or a protection that
    /// forbids the access, is SIGSEGV. An entry that must first get an amap of its own gets it
    /// under the map write lock (uvmfault_amapcopy), and the fault looks again.
    private func faultCheck(_ map: VMMap, va: UInt64, access: VMProt, wiring: FaultWiring,
                            grant: WiredGrant?) async throws -> FaultCheck {
        try await map.lock.enter(.reader)
        guard let entry = map.lookup(va),
              (wiring == .max ? entry.maxProtection : entry.protection).isSuperset(of: access) else {
            try await map.lock.exit()
            return .stop(.done(.sigsegv))
        }
        if entry.copyOnWrite && entry.isDevice {
            // udv_fault refuses a copy-on-write device entry (EIO; a child's MAP_INHERIT_COPY of
            // a device mapping): device memory is not copied, and an anon made under a device
            // entry would hold wirings that the device entry's unwiring never looks for.
            try await map.lock.exit()
            return .stop(.done(.sigbus))
        }
        if faultCopiesAmap(entry, access) {
            try await map.lock.exit()
            try await map.lockWrite()
            if let e = map.lookup(va), faultCopiesAmap(e, access) {
                // A wiring copies the whole entry it wires (uvm_map_pageable's amap_copy over
                // the range); an ordinary fault only the chunk around it.
                do {
                    try await amapCopy(e, chunkingAround: wiring == .none ? va : nil, in: map)
                } catch PagerError.noMemory {
                    try await map.lock.exit()
                    return .stop(.done(.sigkill))
                }
            }
            try await map.lock.exit()
            return .stop(.again)
        }
        return .proceed(FaultContext(
            map: map, va: va, access: access, wiring: wiring, grant: grant, entry: entry,
            amap: entry.amap, slot: entry.amapSlot(for: va, pageShift), vpn: va >> UInt64(pageShift)))
    }

    /// Whether a fault with `access` on `e` first gives it an amap of its own (uvm_fault_check's
    /// amap_copy case): before writing a copy-on-write entry, and for any access to anonymous
    /// memory. Never a device entry: its memory is never copied, so it has no anons to hold.
    func faultCopiesAmap(_ e: MapEntry, _ access: VMProt) -> Bool {
        guard !e.isDevice else { return false }
        return (e.needsCopy && (access.contains(.write) || e.object == nil)) || (e.amap == nil && e.object == nil)
    }

    // MARK: Case 1: upper layer (an anon in the amap)

    /// uvm_fault_upper_lookup: locks the amap and finds the anon at the fault's slot, if any.
    private func faultUpperLookup(_ f: FaultContext, _ amap: Amap) async throws -> Anon? {
        try await amap.lock.enter()
        return amap.anons[f.slot]
    }

    /// uvm_fault_upper: the anon's page, brought in from swap if need be (uvmfault_anonget),
    /// then a loan broken, a shared anon copied, or the page mapped as it is.
    private func faultUpper(_ f: FaultContext, _ amap: Amap, _ anon: Anon) async throws -> FaultStep {
        sched.assertHeld(f.map.lock)
        sched.assertHeld(amap.lock)
        guard let pg = anon.page else { return try await swapIn(anon, f, amap) }
        if pg.isBusy {
            try await unlockAll(f)
            try await pg.waitUnbusy(sched)
            return .restart
        }
        if pg.loanCount > 0 && anon.refs == 1 && breaksLoans(f) {
            return try await faultUpperLoan(f, amap, anon, pg)
        }
        if anon.refs > 1 && f.isWrite { return try await faultUpperPromote(f, amap, anon, pg) }
        return try await faultUpperDirect(f, anon, pg)
    }

    /// uvm_fault_upper_loan: the anon's page is on loan; it gets a page of its own.
    private func faultUpperLoan(_ f: FaultContext, _ amap: Amap, _ anon: Anon, _ pg: VMPage) async throws -> FaultStep {
        guard let copy = try breakLoan(anon: anon, in: amap, slot: f.slot) else {
            try await unlockAll(f)
            return .noMemory(sparing: pg)
        }
        return try await faultUpperEnter(f, copy, f.upperProtection)
    }

    /// uvm_fault_upper_promote (case 1B): copy-on-write of an anon shared with another amap;
    /// this amap gets its own copy.
    private func faultUpperPromote(_ f: FaultContext, _ amap: Amap, _ anon: Anon, _ pg: VMPage) async throws -> FaultStep {
        guard let payer = wiredPagePayer(f, amap, original: pg) else {
            try await unlockAll(f)
            return .done(.wiredLimit)
        }
        guard let copy = newAnon(copying: pg, for: amap), let page = copy.page else {
            try await unlockAll(f)
            return .noMemory(sparing: pg)
        }
        pay(payer, va: f.va)
        try setAnon(amap, f.slot, copy)
        try unrefAnon(anon)
        mem.stats.cowFaults += 1
        return try await faultUpperEnter(f, page, f.upperProtection)
    }

    /// uvm_fault_upper_direct (case 1A): the anon's own page; read-only while other amaps
    /// share the anon.
    private func faultUpperDirect(_ f: FaultContext, _ anon: Anon, _ pg: VMPage) async throws -> FaultStep {
        var prot = f.upperProtection
        if anon.refs > 1 { prot.remove(.write) }
        return try await faultUpperEnter(f, pg, prot)
    }

    /// uvm_fault_upper_enter: maps the page and unlocks everything.
    private func faultUpperEnter(_ f: FaultContext, _ page: VMPage, _ prot: VMProt) async throws -> FaultStep {
        enter(f, page, prot)
        if f.isWrite { page.dirty = true }
        try await unlockAll(f)
        return .done(.ok)
    }

    /// uvmfault_anonget's swap-in: the anon gets a busy page (wired for the wirings that see
    /// it, a wiring fault's own grant giving back the unit of `va` at once), the read happens
    /// with no lock held, and the fault looks again.
    private func swapIn(_ anon: Anon, _ f: FaultContext, _ amap: Amap) async throws -> FaultStep {
        guard let slot = anon.swapSlot else {
            throw sched.abort(KernelFailure(.invariant, "\(anon.ownerDescription) has neither a page nor a swap slot"))
        }
        guard let pg = mem.alloc(owner: anon) else {
            try await unlockAll(f)
            return .noMemory(sparing: nil)
        }
        try pg.setBusy(sched)
        anon.page = pg
        anon.swapSlot = nil
        if wiresFollowPages {
            for _ in 0..<anon.wiredRefs { mem.wire(pg) }
            if anon.wiredRefs > 0 { f.grant?.settle(at: f.va) }
        }
        try await unlockAll(f)
        let data = try await swap.read(slot, sched)
        try await anon.lock.enter()
        pg.contents = data
        pg.dirty = true
        swap.free(slot)
        mem.stats.pageIns += 1
        if anon.page === pg { mem.activate(pg) }
        try unbusy(pg)
        try await anon.lock.exit()
        return .again
    }

    // MARK: Case 2: lower layer (the object's page, or zero-fill)

    /// uvm_fault_lower: locks the object and asks its pager for the page (uvm_fault_lower_lookup,
    /// pgo_get with PGO_LOCKED); a page that needs I/O is read with no lock held and the fault
    /// looks again.
    private func faultLower(_ f: FaultContext) async throws -> FaultStep {
        sched.assertHeld(f.map.lock)
        guard let obj = f.entry.object else { return try await faultZeroFill(f) }
        try await obj.lock.enter()
        let idx = f.entry.objectPage(f.va, pageShift)
        switch obj.lookup(idx) {
        case .busy(let pg):
            try await unlockAll(f, obj)
            try await pg.waitUnbusy(sched)
            return .restart
        case .needIO:
            return try await faultLowerIO(f, obj, idx)
        case .error(let e):
            try await unlockAll(f, obj)
            return step(after: e)
        case .resident(let pg):
            if f.entry.copyOnWrite && f.isWrite { return try await faultLowerPromote(f, obj, idx, pg) }
            return try await faultLowerDirect(f, obj, pg)
        }
    }

    /// uvm_fault_lower_io: pgo_get without locks. The pager may first take a lock of its own
    /// with the fault's locks still held (historic `vnode-fault=lock-early`).
    private func faultLowerIO(_ f: FaultContext, _ obj: UVMObject, _ idx: UInt64) async throws -> FaultStep {
        let lockedEarly = try await obj.lockBeforePageIn()
        try await unlockAll(f, obj)
        let result = try await obj.pageIn(idx)
        try await lockedEarly?.exit()
        switch result {
        case .done: return .again
        case .restart: return .restart
        case .error(let e): return step(after: e)
        }
    }

    /// uvm_fault_lower_direct (case 2A): the object's page itself, read-only in a private
    /// mapping; a write through a shared mapping, or any wiring, first breaks a loan
    /// (uvm_fault_lower_direct_loan).
    private func faultLowerDirect(_ f: FaultContext, _ obj: UVMObject, _ pg: VMPage) async throws -> FaultStep {
        var page = pg
        if pg.loanCount > 0 && !f.entry.copyOnWrite && breaksLoans(f) {
            guard let copy = try breakLoan(objectPage: pg, in: obj) else {
                try await unlockAll(f, obj)
                return .noMemory(sparing: pg)
            }
            page = copy
        }
        enter(f, page, f.lowerProtection)
        if f.isWrite { page.dirty = true }
        mem.activate(page)
        try await unlockAll(f, obj)
        return .done(.ok)
    }

    /// uvm_fault_lower_promote (case 2B): a private mapping's write goes to a new anon holding
    /// a copy of the object's page.
    private func faultLowerPromote(_ f: FaultContext, _ obj: UVMObject, _ idx: UInt64, _ pg: VMPage) async throws -> FaultStep {
        guard let payer = f.amap.map({ wiredPagePayer(f, $0, original: pg) }) ?? .nothingToPay else {
            try await unlockAll(f, obj)
            return .done(.wiredLimit)
        }
        guard let amap = f.amap, let anon = newAnon(copying: pg, for: amap), let page = anon.page else {
            try await unlockAll(f, obj)
            return .noMemory(sparing: pg)
        }
        pay(payer, va: f.va)
        try setAnon(amap, f.slot, anon, shadowed: (obj, idx))
        mem.stats.cowFaults += 1
        enter(f, page, f.entry.protection)
        try await unlockAll(f, obj)
        return .done(.ok)
    }

    /// Zero-fill (uvmfault_promote with no source): anonymous memory's first touch gets a new
    /// zeroed anon.
    private func faultZeroFill(_ f: FaultContext) async throws -> FaultStep {
        guard let payer = f.amap.map({ wiredPagePayer(f, $0, original: nil) }) ?? .nothingToPay else {
            try await unlockAll(f)
            return .done(.wiredLimit)
        }
        guard let amap = f.amap, let anon = newAnon(copying: nil, for: amap), let page = anon.page else {
            try await unlockAll(f)
            return .noMemory(sparing: nil)
        }
        pay(payer, va: f.va)
        try setAnon(amap, f.slot, anon)
        mem.stats.zeroFills += 1
        enter(f, page, f.entry.protection)
        try await unlockAll(f)
        return .done(.ok)
    }

    // MARK: Shared by the cases

    /// What pays for the page a promotion or zero-fill adds to a wired slot of `amap`
    /// (`payerForNewWiredPage`); nil ends a wiring fault that finds no room under wiredmax. A
    /// plain fault cannot fail for wiredmax: it goes on, and the audit reports any excess.
    private func wiredPagePayer(_ f: FaultContext, _ amap: Amap, original: VMPage?) -> NewWiredPagePayer? {
        payerForNewWiredPage(f.map, va: f.va, original: original, moving: amap.wiredRefs[f.slot], grant: f.grant)
            ?? (f.wiring == .none ? .room : nil)
    }

    /// A write, or any wiring (docs/wiring.md, *Wiring breaks loans*), gets a page of its own
    /// instead of a loaned one.
    private func breaksLoans(_ f: FaultContext) -> Bool {
        f.isWrite || (f.wiring != .none && wiringBreaksLoans)
    }

    /// pmap_enter with the protection the entry allows now (a wiring fault at maximum
    /// protection may find it lower, or none).
    private func enter(_ f: FaultContext, _ page: VMPage, _ prot: VMProt) {
        guard !prot.isEmpty else { return }
        // A loaned page is never writable: the borrower relies on it not changing.
        f.map.pmap.enter(vpn: f.vpn, page: page, prot: page.loanCount > 0 ? prot.subtracting(.write) : prot)
    }

    /// uvmfault_unlockall: object, amap, map, innermost first.
    private func unlockAll(_ f: FaultContext, _ obj: UVMObject? = nil) async throws {
        if let obj { try await obj.lock.exit() }
        if let amap = f.amap { try await amap.lock.exit() }
        try await f.map.lock.exit()
    }

    /// What a pager's failure means for the fault: no memory waits for the page daemon; past
    /// the end of file and a failed page-in are SIGBUS (as FreeBSD and Linux; NetBSD's trap
    /// sends SIGSEGV for an I/O error).
    private func step(after e: PagerError) -> FaultStep {
        switch e {
        case .noMemory: return .noMemory(sparing: nil)
        case .pastEOF, .io: return .done(.sigbus)
        }
    }

    // MARK: The MMU

    /// The page backing `va` for an access, faulting as the hardware would. Returns the page
    /// (mapped in the pmap with enough protection) or the signal the access raises.
    public func translate(_ map: VMMap, va: UInt64, access: VMProt) async throws -> Result<VMPage, FaultError> {
        var faults = 0
        while true {
            if let pte = map.pmap.extract(vpn: va >> UInt64(pageShift)), pte.prot.isSuperset(of: access) {
                if access.contains(.write) { pte.page.dirty = true }
                sched.madeProgress()
                return .success(pte.page)
            }
            let r = try await fault(map, va: va, access: access)
            if r != .ok { return .failure(FaultError(result: r)) }
            faults += 1
            if faults > faultRestartBound {
                throw sched.abort(KernelFailure(.livelock, "access at \(hex(va)) faulted \(faults) times; the mapping never stays"))
            }
        }
    }
}

/// A failed user access: the signal it raises.
public struct FaultError: Error, Equatable {
    public let result: FaultResult
}

public func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
