// uvm_aobj: an anonymous UVM object (SysV shared memory segments): zero-filled on first touch,
// pages kept by offset like a file's, but backed by swap instead of a file.
//
// Locking: as every object, the object lock protects its pages.

import UVMMachine

public final class AnonObject: UVMObject {
    public let size: UInt64

    public init(_ uvm: UVM, name: String, size: UInt64) {
        self.size = size
        super.init(uvm, name: name)
    }

    public override func contains(_ idx: UInt64) -> Bool { uvm.bytes(pages: idx) < size }

    /// Resident pages are returned; missing ones are zero-filled at once (uao_get, no I/O).
    public override func lookup(_ idx: UInt64) -> PagerLookup {
        if let pg = pages[idx] { return pg.isBusy ? .busy(pg) : .resident(pg) }
        guard contains(idx) else { return .error(.pastEOF) }
        guard let pg = allocPage(at: idx) else { return .error(.noMemory) }
        uvm.mem.stats.zeroFills += 1
        return .resident(pg)
    }
}
