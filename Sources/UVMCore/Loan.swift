// uvm_loan: pages lent read-only to the kernel (a socket send), and loan breaking.
//
// A loaned page is mapped read-only everywhere. A write through a mapping — or any wiring fault
// (docs/wiring.md, *Wiring breaks loans*, the 2003 tech-kern vslock thread problem 3) — breaks the
// loan: the owner gets a copy in the page's place and the old page stays with the borrower, owned
// by nobody, freed at the last unloan. NetBSD refuses to lend a wired page; the borrower then gets
// a copy instead.
//
// Locking: `loan` holds only the map read lock while it finds and lends each page: it changes no
// owner's pages, only loan counts and protections, with no switch point between finding a page
// and lending it (NetBSD's uvm_loananon/uvm_loanuobj also take the owner's lock, which here would
// add nothing). `unloan` holds no lock: it drops loan counts and frees pages nobody owns, in one
// step. Breaking happens inside the fault with the owner's lock held (no switch point while the
// page changes hands).

import UVMMachine
import UVMSched

/// One `loan`: the pages the kernel borrowed, and what each held when lent.
public final class Loan {
    /// Each page with its generation and its contents when lent (a copy-on-write reference to
    /// the page's bytes, free until the page is written). The borrower sends these bytes: a
    /// page that changes while on loan sends something its owner never gave it.
    public package(set) var pages: [(page: VMPage, generation: UInt32, lent: PageContents)] = []
    public package(set) var dropped = false
    /// Where the loan starts in the lender's address space.
    public let start: UInt64
    init(start: UInt64) { self.start = start }
}

extension UVM {
    /// Whether a wiring fault breaks a loan whatever its access (docs/wiring.md, *Wiring breaks
    /// loans*). Historic `wire-loan=keep`: only a write does, so a read-only wiring keeps the page
    /// on loan.
    var wiringBreaksLoans: Bool { policy.wireLoan == .breakLoan }

    /// uvm_loan: lends the pages of [lo, hi) read-only; the range must be readable.
    public func loan(_ map: VMMap, _ lo: UInt64, _ hi: UInt64) async throws -> Result<Loan, FaultError> {
        let loan = Loan(start: lo)
        var va = lo
        while va < hi {
            let r = try await fault(map, va: va, access: [.read])
            if r != .ok {
                try unloan(loan)
                return .failure(FaultError(result: r))
            }
            try await map.lock.enter(.reader)
            if let e = map.lookup(va), e.isDevice {
                // Device memory has no pages to lend (the device pager has no pgo_get).
                try await map.lock.exit()
                try unloan(loan)
                return .failure(FaultError(result: .sigsegv))
            }
            if let e = map.lookup(va), let pg = page(backing: e, va: va), pg.isBusy {
                // Being paged in (or out): its contents are not yet what the owner holds. Wait
                // with the map unlocked and fault again, as uvm_loananon (uvmfault_anonget) and
                // uvm_loanuobj (pgo_get) wait for PG_BUSY.
                try await map.lock.exit()
                try await pg.waitUnbusy(sched)
                continue
            }
            if let e = map.lookup(va), let pg = page(backing: e, va: va) {
                if pg.wireCount > 0 {
                    // uvm_loananon/uvm_loanuobj refuse wired pages: lend a copy instead.
                    guard let copy = mem.alloc(owner: nil) else {
                        try await map.lock.exit()
                        try unloan(loan)
                        return .failure(FaultError(result: .sigkill))
                    }
                    copy.copyContents(from: pg)
                    mem.setReleased(copy, true)
                    copy.queue = .none
                    copy.loanCount = 1
                    loan.pages.append((copy, copy.generation, copy.contents))
                } else {
                    pg.loanCount += 1
                    mem.note(pg, "lent to the kernel (loan count \(pg.loanCount))")
                    Pmap.pageProtect(pg, .read)
                    loan.pages.append((pg, pg.generation, pg.contents))
                }
                mem.stats.loans += 1
                va += UInt64(pageSize)
            }
            try await map.lock.exit()
        }
        return .success(loan)
    }

    /// uvm_unloan: the borrower is done (the socket sent the pages); pages nobody owns any more
    /// are freed. What it sent must be what was lent: a loaned page is read-only to everyone, and
    /// whoever writes it breaks the loan first (uvm_loanbreak), leaving the borrower the old page.
    public func unloan(_ loan: Loan) throws {
        precondition(!loan.dropped)
        for (pg, gen, _) in loan.pages {
            if let failure = pg.freedSince(gen, taken: "lent", found: "a loan to the kernel still holds") {
                throw sched.abort(failure)
            }
        }
        for (i, (pg, _, lent)) in loan.pages.enumerated() {
            if let at = pg.firstDifference(from: lent) {
                let va = loan.start + UInt64(i * pageSize + at)
                throw sched.abort(KernelFailure(
                    .dataLoss, "the loan of \(hex(loan.start)) sent \(hex(UInt64(pg.read(at)))) at \(hex(va)), where \(hex(UInt64(lent.read(at)))) was lent: \(pg) changed while on loan",
                    details: pg.history.suffix(10).map { "history: " + $0 }))
            }
        }
        for (pg, _, _) in loan.pages {
            pg.loanCount -= 1
            mem.note(pg, "loan dropped (loan count \(pg.loanCount))")
            if policy.wireLoan == .keep && pg.owner == nil && pg.loanCount == 0 {
                // Historic uvm_unloanpage: a page nobody owns goes back to the free list at its
                // last unloan, whatever still wires it (uvm_pagefree zeroes the wire count).
                try mem.freeIgnoringWirings(pg, sched)
            } else {
                try releaseHeldPage(pg)
            }
        }
        loan.dropped = true
    }

    /// uvm_loanbreak for an object page: a copy takes the page's place in its object (with its
    /// range wires); the old page stays with its borrowers (and any vslock holds), owned by
    /// nobody. Called with the object lock held; no switch point.
    func breakLoan(objectPage pg: VMPage, in obj: UVMObject) throws -> VMPage? {
        sched.assertHeld(obj.lock)
        let idx = pageIndex(pg.offset)
        guard let copy = mem.alloc(owner: nil) else { return nil }
        copy.copyContents(from: pg)
        copy.dirty = pg.dirty
        try obj.removePage(pg)
        try disposeOfDetachedPage(pg)
        obj.insertPage(copy, at: idx)
        mem.activate(copy)
        mem.stats.loanBreaks += 1
        sched.sometimes(copy.wireCount > 0, "a wiring broke a loan")
        return copy
    }

    /// uvm_loanbreak_anon: the anon (held by one amap slot) gets a copy; the old page stays with
    /// its borrowers. Called with the amap lock held; no switch point.
    func breakLoan(anon: Anon, in amap: Amap, slot: Int) throws -> VMPage? {
        sched.assertHeld(amap.lock)
        guard let old = anon.page, let copy = mem.alloc(owner: anon) else { return nil }
        copy.copyContents(from: old)
        let w = wiresFollowPages ? anon.wiredRefs : 0
        Pmap.pageProtect(old, .none)
        for _ in 0..<w { try mem.unwire(old, sched) }
        old.owner = nil
        anon.page = copy
        for _ in 0..<w { mem.wire(copy) }
        mem.activate(copy)
        try disposeOfDetachedPage(old)
        mem.stats.loanBreaks += 1
        sched.sometimes(copy.wireCount > 0, "a wiring broke a loan")
        return copy
    }
}
