// uvm_pdaemon: reclaims pages — clean pages are freed, dirty file pages are written back first,
// anonymous pages (anons and aobj pages) go to swap. Wired, busy and loaned pages are never
// touched (docs/wiring.md, *The audit*: wired pages are never chosen by the page daemon).
//
// Locking: the daemon holds no map lock. It only *tries* an owner's lock (uvmpd_trylockowner),
// since it finds the page first and the owner second, against the usual order; a page whose
// owner is busy is skipped. During the write the page is busy and no lock is held, and
// everything is checked again afterwards: the page may have been wired, mapped or dirtied.

import UVMMachine
import UVMSched

extension UVM {
    /// One reclaim pass: frees up to `target` pages (as many as it can when nil), inactive pages
    /// first, then active ones, never `sparing`. Returns the number freed.
    @discardableResult
    public func pageDaemon(target: Int?, sparing: VMPage? = nil) async throws -> Int {
        var freed = 0
        for queue in [PageQueue.inactive, .active] {
            for pg in mem.pages where pg.queue == queue && pg !== sparing {
                sched.sometimes(pg.isBusy && pg.wireCount == 0, "the page daemon skipped a busy page")
                guard isReclaimable(pg) else { continue }
                if let target, freed >= target { return freed }
                if try await reclaim(pg) { freed += 1 }
            }
        }
        mem.stats.pagesReclaimed += freed
        return freed
    }

    private func isReclaimable(_ pg: VMPage) -> Bool {
        !pg.isFree && !pg.fictitious && pg.wireCount == 0 && !pg.isBusy && pg.loanCount == 0 && pg.owner != nil
    }

    /// uvmpd's choice by owner: swap-backed memory (anons, aobjs) goes to swap; an object's
    /// page is cleaned by its pager and freed. Pagers are reached through their operations,
    /// never by type.
    private func reclaim(_ pg: VMPage) async throws -> Bool {
        if let owner = pg.owner as? any SwapBacked { return try await swapOut(pg, of: owner) }
        if let obj = pg.owner as? UVMObject { return try await cleanAndFree(pg, of: obj) }
        return false
    }

    /// A swap-backed page goes to swap (uvmpd_scan's swap-out and uvm_pageout_done).
    private func swapOut(_ pg: VMPage, of owner: any SwapBacked) async throws -> Bool {
        guard try await owner.lock.tryEnter() else { return false }
        guard pg.owner === owner, isReclaimable(pg), let slot = swap.alloc() else {
            try await owner.lock.exit()
            return false
        }
        Pmap.pageProtect(pg, .none)
        try pg.setBusy(sched)
        pg.dirty = false
        try await owner.lock.exit()
        try await swap.write(slot, pg.contents, sched)
        try await owner.lock.enter()
        try unbusy(pg)
        // Written to meanwhile (the copy on swap is stale), mapped again, wired, or let go of by
        // its owner (then freed by the unbusy): keep it, and give the slot back.
        guard pg.owner === owner, isReclaimable(pg), !pg.isMapped, !pg.dirty else {
            sched.sometimes(pg.dirty, "the page daemon kept a page written during its page-out")
            swap.free(slot)
            try await owner.lock.exit()
            return false
        }
        sched.assertHeld(owner.lock)
        try owner.pagedOut(pg, to: slot)
        try mem.free(pg, sched)
        mem.stats.pageOuts += 1
        try await owner.lock.exit()
        return true
    }

    /// An object's page is cleaned by its pager if dirty (the vnode pager only tries the vnode
    /// lock), then freed.
    private func cleanAndFree(_ pg: VMPage, of obj: UVMObject) async throws -> Bool {
        guard try await obj.lock.tryEnter() else { return false }
        guard pg.owner === obj, isReclaimable(pg) else {
            try await obj.lock.exit()
            return false
        }
        Pmap.pageProtect(pg, .none)
        if pg.dirty {
            try pg.setBusy(sched)
            try await obj.lock.exit()
            let wrote = try await obj.writeBack(pg)
            try await obj.lock.enter()
            try unbusy(pg)
            guard wrote else {
                try await obj.lock.exit()
                return false
            }
        }
        guard pg.owner === obj, isReclaimable(pg), !pg.dirty, !pg.isMapped else {
            try await obj.lock.exit()
            return false
        }
        try obj.removePage(pg)
        try mem.free(pg, sched)
        try await obj.lock.exit()
        return true
    }
}

/// An owner whose pages go to swap when the page daemon takes them (anonymous memory: anons and
/// aobjs), rather than back to a file.
protocol SwapBacked: PageOwner {
    /// The lock that protects the owner's pages (an anon's is its amaps' lock).
    var lock: KMutex { get }
    /// Lets go of `pg`, whose contents are now in swap `slot`. Called with `lock` held.
    func pagedOut(_ pg: VMPage, to slot: Int) throws
}
