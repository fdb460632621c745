// The device pager (udv): maps a character device's memory. Its pages are fake (fictitious, like
// FreeBSD's): they belong to no object and to no free list, and their wire count never changes,
// so nothing may find them by looking up "the page at this physical address" (seed 002, PR/29915).
//
// Locking: the object lock protects the table of fake pages.

import UVMMachine

public final class DeviceObject: UVMObject {
    public let device: CharDevice
    /// Fake pages by page index, created on first fault and kept for the life of the object.
    private var fakePages: [UInt64: VMPage] = [:]

    public init(_ uvm: UVM, device: CharDevice) {
        self.device = device
        super.init(uvm, name: "device \(device.name)")
    }

    public override func lookup(_ idx: UInt64) -> PagerLookup {
        if let pg = fakePages[idx] { return .resident(pg) }
        uvm.fakePageSerial += 1
        let pg = VMPage(fictitiousSerial: uvm.fakePageSerial)
        pg.data = [UInt8](repeating: device.pattern, count: uvm.pageSize)
        fakePages[idx] = pg
        return .resident(pg)
    }

    package override func terminate() async throws {
        for pg in fakePages.values { Pmap.pageProtect(pg, .none) }
        fakePages.removeAll()
    }
}
