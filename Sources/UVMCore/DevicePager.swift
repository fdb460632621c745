// The device pager (udv): maps a character device's memory. Its pages are fake (fictitious, like
// FreeBSD's): they belong to no object and to no free list, and their wire count never changes, so
// nothing may find them by looking up "the page at this physical address" (FreeBSD's 2004 wiring
// fixes, PR/29915).
//
// Locking: the object lock protects the table of fake pages.

import UVMMachine

public final class DeviceObject: UVMObject {
    public let device: CharDevice
    /// Fake pages by page index, created on first fault and kept for the life of the object.
    private var fakePages: [UInt64: VMPage] = [:]

    public override var pagerName: String { "device" }

    /// The device keeps its object (refs 0); mappings take references.
    public init(_ uvm: UVM, device: CharDevice) {
        self.device = device
        super.init(uvm, name: "device \(device.name)", refs: 0)
    }

    public override var hasFictitiousPages: Bool { true }

    public override func fictitiousPage(_ idx: UInt64) -> VMPage? { fakePages[idx] }

    public override func lookup(_ idx: UInt64) -> PagerLookup {
        if let pg = fakePages[idx] { return .resident(pg) }
        uvm.fakePageSerial += 1
        let pg = VMPage(fictitiousSerial: uvm.fakePageSerial)
        pg.fill(0, uvm.pageSize, device.pattern, pageSize: uvm.pageSize)
        fakePages[idx] = pg
        return .resident(pg)
    }

    /// The last mapping went away: the device's memory stays with the device.
    package override func terminate() async throws {}
}
