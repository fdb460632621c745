// vm_anon: one page of anonymous memory, shared copy-on-write by reference count.
//
// Locking: an anon is protected by the lock of the amap that holds it (NetBSD's an_lock is the
// amap's lock). An anon with more than one reference is copy-on-write: its page is never mapped
// writable.

import UVMMachine
import UVMSched

public final class Anon: PageOwner {
    /// Amap slots referring to this anon (an_ref).
    public package(set) var refs = 1
    /// The resident page; nil while swapped out.
    public package(set) var page: VMPage?
    /// Where the page is on swap while it is not resident.
    public package(set) var swapSlot: Int?
    /// Wired entries that see this anon, over every amap slot holding it: its page holds one
    /// wire for each, whether it is resident now or swapped in later.
    public package(set) var wiredRefs: Int32 = 0
    /// The lock of the amaps holding it (an_lock: amaps made by amap_copy share their lock).
    /// Held strongly, as NetBSD's anons hold a reference on their mutex object
    /// (uvm_anon.c, mutex_obj_hold): a page-out or swap-in that dropped the lock relocks it
    /// after the last amap may have gone.
    public let lock: KMutex
    /// A serial number for messages.
    public let serial: Int

    package init(serial: Int, lock: KMutex) {
        self.serial = serial
        self.lock = lock
    }

    public var ownerDescription: String { "anon \(serial)" }
}

extension Anon: SwapBacked {
    func pagedOut(_ pg: VMPage, to slot: Int) throws {
        page = nil
        swapSlot = slot
        pg.owner = nil
    }
}

extension UVM {
    /// uvm_analloc with a new zeroed page, for `amap`; nil when memory is exhausted.
    package func newAnon(copying source: VMPage?, for amap: Amap) -> Anon? {
        anonSerial += 1
        let anon = Anon(serial: anonSerial, lock: amap.lock)
        guard let pg = mem.alloc(owner: anon) else { return nil }
        if let source { pg.copyContents(from: source) }
        anon.page = pg
        mem.activate(pg)
        return anon
    }

    /// Drops a reference to an anon; the last one frees its page (uvm_anfree).
    package func unrefAnon(_ anon: Anon) throws {
        guard anon.refs > 0 else {
            throw sched.abort(KernelFailure(.panic, "\(anon.ownerDescription): reference count underflow"))
        }
        anon.refs -= 1
        guard anon.refs == 0 else { return }
        if anon.wiredRefs != 0 {
            throw sched.abort(KernelFailure(.panic, "uvm_anfree: \(anon.ownerDescription) freed while \(anon.wiredRefs) wiring(s) cover it"))
        }
        if let slot = anon.swapSlot {
            swap.free(slot)
            anon.swapSlot = nil
        }
        guard let pg = anon.page else { return }
        anon.page = nil
        Pmap.pageProtect(pg, .none)
        pg.owner = nil
        try disposeOfDetachedPage(pg)
    }
}
