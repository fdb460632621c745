// vm_anon: one page of anonymous memory, shared copy-on-write by reference count.
//
// Locking: an anon is protected by the lock of the amap that holds it (NetBSD's an_lock is the
// amap's lock). An anon with more than one reference is copy-on-write: its page is never mapped
// writable.

import UVMMachine

public final class Anon: PageOwner {
    /// Amap slots referring to this anon (an_ref).
    public package(set) var refs = 1
    /// The resident page; nil only while swapped out (later) or being torn down.
    public package(set) var page: VMPage?
    /// A serial number for messages.
    public let serial: Int

    package init(serial: Int) { self.serial = serial }

    public var ownerDescription: String { "anon \(serial)" }
}

extension UVM {
    /// uvm_analloc with a new zeroed page; nil when memory is exhausted.
    package func newAnon(copying source: VMPage?) -> Anon? {
        anonSerial += 1
        let anon = Anon(serial: anonSerial)
        guard let pg = mem.alloc(owner: anon) else { return nil }
        if let source { pg.copyContents(from: source) }
        anon.page = pg
        mem.activate(pg)
        return anon
    }

    /// Drops a reference to an anon; the last one frees its page (uvm_anfree).
    package func unrefAnon(_ anon: Anon) throws {
        precondition(anon.refs > 0, "\(anon.ownerDescription): reference count underflow")
        anon.refs -= 1
        guard anon.refs == 0, let pg = anon.page else { return }
        anon.page = nil
        Pmap.pageProtect(pg, .none)
        pg.owner = nil
        try disposeOfDetachedPage(pg)
    }
}
