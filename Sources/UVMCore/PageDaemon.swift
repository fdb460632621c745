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
                sched.sometimes(pg.wireCount > 0 && pg.owner != nil, "the page daemon skipped a wired page")
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

    private func reclaim(_ pg: VMPage) async throws -> Bool {
        switch pg.owner {
        case let anon as Anon: return try await reclaim(pg, of: anon)
        case let obj as VnodeObject: return try await reclaim(pg, of: obj)
        case let obj as AnonObject: return try await reclaim(pg, of: obj)
        default: return false
        }
    }

    /// An anon's page goes to swap.
    private func reclaim(_ pg: VMPage, of anon: Anon) async throws -> Bool {
        guard try await anon.lock.tryEnter() else { return false }
        guard anon.page === pg, isReclaimable(pg), let slot = swap.alloc() else {
            try await anon.lock.exit()
            return false
        }
        Pmap.pageProtect(pg, .none)
        try pg.setBusy(sched)
        pg.dirty = false
        try await anon.lock.exit()
        try await swap.write(slot, pg.data, sched)
        try await anon.lock.enter()
        try unbusy(pg)
        // Written to meanwhile (the copy on swap is stale), mapped again, wired: keep it.
        guard anon.page === pg, isReclaimable(pg), pg.pvList.isEmpty, !pg.dirty else {
            swap.free(slot)
            try await anon.lock.exit()
            return false
        }
        anon.page = nil
        anon.swapSlot = slot
        pg.owner = nil
        try mem.free(pg, sched)
        mem.stats.pageOuts += 1
        try await anon.lock.exit()
        return true
    }

    /// A file page is written back if dirty (trying the vnode lock), then freed.
    private func reclaim(_ pg: VMPage, of obj: VnodeObject) async throws -> Bool {
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
        guard pg.owner === obj, isReclaimable(pg), !pg.dirty, pg.pvList.isEmpty else {
            try await obj.lock.exit()
            return false
        }
        try obj.removePage(pg)
        try mem.free(pg, sched)
        try await obj.lock.exit()
        return true
    }

    /// An aobj page (shared memory) goes to swap.
    private func reclaim(_ pg: VMPage, of obj: AnonObject) async throws -> Bool {
        guard try await obj.lock.tryEnter() else { return false }
        guard pg.owner === obj, isReclaimable(pg), let slot = swap.alloc() else {
            try await obj.lock.exit()
            return false
        }
        Pmap.pageProtect(pg, .none)
        try pg.setBusy(sched)
        pg.dirty = false
        try await obj.lock.exit()
        try await swap.write(slot, pg.data, sched)
        try await obj.lock.enter()
        try unbusy(pg)
        // Written to meanwhile (the copy on swap is stale), mapped again, wired: keep it.
        guard pg.owner === obj, isReclaimable(pg), pg.pvList.isEmpty, !pg.dirty else {
            swap.free(slot)
            try await obj.lock.exit()
            return false
        }
        let idx = pageIndex(pg.offset)
        try obj.removePage(pg)
        obj.swapSlots[idx] = slot
        try mem.free(pg, sched)
        mem.stats.pageOuts += 1
        try await obj.lock.exit()
        return true
    }
}
